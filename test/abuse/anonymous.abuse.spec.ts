import { startAbuseServer, type AbuseServer } from './support/abuse-server';

// Anonymous clients: no token at all. They must get a clear 401 and cost the server (and the tenants
// on it) nothing that lasts.
describe('abuse: anonymous clients', () => {
  let s: AbuseServer;
  beforeAll(async () => {
    s = await startAbuseServer();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('a burst of unauthenticated API calls gets 401s and leaves /health and the bystander unaffected', async () => {
    const { result } = await s.watch(async () => {
      const statuses = await Promise.all(Array.from({ length: 200 }, () => s.request('GET', '/v1/jobs').then((r) => r.status)));
      return statuses;
    });
    // 401, or 429 once the per-address limit on failed authentications applies.
    expect(result.every((status) => status === 401 || status === 429)).toBe(true);
    expect(result).toContain(401);
  });
});
