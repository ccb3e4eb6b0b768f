import { envValueMasker } from 'src/jobs/log-masker';

describe('envValueMasker', () => {
  const job = (env: Record<string, string>) => ({ workspaceId: 'w', spec: { env } });

  it('masks every occurrence of a secret-named env value, and only those', () => {
    const log = Buffer.from('token=tok-123456 again tok-123456; user=alice debug=verbose1\n');
    const out = envValueMasker.mask(job({ API_TOKEN: 'tok-123456', DB_PASSWORD: 'not-in-log', USER: 'alice', DEBUG: 'verbose1' }), log);
    expect(out.toString()).toBe('token=*** again ***; user=alice debug=verbose1\n');
  });

  it('leaves short values and logs without secrets untouched (same buffer)', () => {
    const log = Buffer.from('key=abc\n');
    expect(envValueMasker.mask(job({ API_KEY: 'abc' }), log)).toBe(log);
    expect(envValueMasker.mask({ workspaceId: 'w', spec: {} }, log)).toBe(log);
  });
});
