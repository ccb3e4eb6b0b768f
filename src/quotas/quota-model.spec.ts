import { isQuota, LEGACY_SETTING_QUOTAS, periodBounds, QUOTA_DEFINITIONS, QUOTAS, utcDay } from 'src/quotas/quota-model';

describe('quota periods', () => {
  it('bounds a UTC day and resets at the next UTC midnight', () => {
    const b = periodBounds('day', new Date('2026-03-31T23:59:59.999Z'));
    expect(b).toEqual({ start: new Date('2026-03-31T00:00:00Z'), end: new Date('2026-04-01T00:00:00Z') });
    expect(periodBounds('day', new Date('2026-04-01T00:00:00Z')).start).toEqual(b.end);
  });

  it('bounds a UTC month across the year end and leap February', () => {
    expect(periodBounds('month', new Date('2026-12-15T10:00:00Z'))).toEqual({ start: new Date('2026-12-01T00:00:00Z'), end: new Date('2027-01-01T00:00:00Z') });
    expect(periodBounds('month', new Date('2028-02-29T12:00:00Z')).end).toEqual(new Date('2028-03-01T00:00:00Z'));
  });

  it('keys the daily ledger by UTC date whatever the local zone', () => {
    expect(utcDay(new Date('2026-05-01T23:30:00-02:00'))).toBe('2026-05-02');
  });
});

describe('quota definitions', () => {
  it('defines every quota once, with a sane range; legacy settings map onto real quotas', () => {
    for (const q of QUOTAS) {
      const d = QUOTA_DEFINITIONS[q];
      expect(d.min).toBeLessThanOrEqual(d.max);
      if (d.builtIn !== null) expect(d.builtIn).toBeGreaterThanOrEqual(d.min);
    }
    for (const q of Object.values(LEGACY_SETTING_QUOTAS)) expect(isQuota(q)).toBe(true);
    expect(isQuota('max_sandboxes')).toBe(false);
  });
});
