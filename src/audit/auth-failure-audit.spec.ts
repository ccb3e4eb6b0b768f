import type { AnonymousAuditRecord, AuditService } from 'src/audit/audit.service';
import { AUTH_FAILURE_KEYS_PER_WINDOW, AUTH_FAILURE_WINDOW_MS, AuthFailureAudit, type AuthFailure } from 'src/audit/auth-failure-audit';

function failure(overrides: Partial<AuthFailure> = {}): AuthFailure {
  return { clientIp: '10.0.0.1', requestId: 'req-1', route: 'GET /v1/me', code: 'unauthenticated', via: 'rest', ...overrides };
}

describe('AuthFailureAudit', () => {
  let rows: AnonymousAuditRecord[];
  let log: AuthFailureAudit;

  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
    rows = [];
    const audit = { recordAnonymous: jest.fn((record: AnonymousAuditRecord) => Promise.resolve(void rows.push(record))) };
    log = new AuthFailureAudit(audit as unknown as AuditService);
  });
  afterEach(async () => {
    await log.onApplicationShutdown();
    jest.useRealTimers();
  });

  it('should record the first failure of a key at once, with its request id, and only count the repeats', async () => {
    await log.record(failure({ requestId: 'first' }));
    for (let i = 0; i < 500; i++) await log.record(failure({ requestId: `r${i}` }));
    expect(rows).toEqual([
      { action: 'auth.failed', outcome: 'denied', requestId: 'first', clientIp: '10.0.0.1', via: 'rest', details: { code: 'unauthenticated', route: 'GET /v1/me' } },
    ]);
  });

  it('should keep addresses, routes and codes apart', async () => {
    await log.record(failure());
    await log.record(failure({ clientIp: '10.0.0.2' }));
    await log.record(failure({ route: 'POST /v1/jobs' }));
    await log.record(failure({ code: 'workspace_suspended' }));
    expect(rows).toHaveLength(4);
  });

  it('should write one summary per repeated key when the window ends, counting every failure in it', async () => {
    await log.record(failure({ requestId: 'first' }));
    await log.record(failure());
    await log.record(failure());
    await log.record(failure({ clientIp: '10.0.0.2' })); // once: no summary
    jest.advanceTimersByTime(AUTH_FAILURE_WINDOW_MS);
    await log.record(failure({ requestId: 'next-window' }));
    expect(rows.map((r) => r.details)).toEqual([
      { code: 'unauthenticated', route: 'GET /v1/me' },
      { code: 'unauthenticated', route: 'GET /v1/me' },
      {
        code: 'unauthenticated',
        route: 'GET /v1/me',
        count: 3,
        first_request_id: 'first',
        window_start: '2026-01-01T00:00:00.000Z',
        window_end: '2026-01-01T00:01:00.000Z',
      },
      { code: 'unauthenticated', route: 'GET /v1/me' },
    ]);
    expect(rows[3]?.requestId).toBe('next-window');
  });

  it('should bound the rows of a window whatever the number of addresses', async () => {
    for (let i = 0; i < AUTH_FAILURE_KEYS_PER_WINDOW + 1000; i++) {
      await log.record(failure({ clientIp: `10.1.${i >> 8}.${i & 255}` }));
      await log.record(failure({ clientIp: `10.1.${i >> 8}.${i & 255}` }));
    }
    await log.flush();
    expect(rows.length).toBe(2 * AUTH_FAILURE_KEYS_PER_WINDOW + 1);
    expect(rows[rows.length - 1]?.details).toMatchObject({ overflow: true, count: 2000 });
  });

  it('should write the pending summaries on shutdown', async () => {
    await log.record(failure());
    await log.record(failure());
    await log.onApplicationShutdown();
    expect(rows[1]?.details).toMatchObject({ count: 2 });
  });
});
