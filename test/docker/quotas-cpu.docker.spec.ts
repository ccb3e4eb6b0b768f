import type { TestApp } from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

/** CPU-seconds quotas count what the runner measured on the real engine. */
describe('CPU-seconds quota on the real engine', () => {
  let t: TestApp;
  let ws: SeededWorkspace;

  beforeAll(async () => {
    t = await createTestApp();
    ws = await seedWorkspace(t.app, 'cpu-quota');
  });
  afterAll(async () => {
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
  });

  it('adds a finished job\'s measured CPU-seconds to the day and refuses the next job once the budget is used', async () => {
    const dev = ws.tokens.developer.token;
    // A busy loop for about three seconds: the runner samples the container's CPU every second.
    const burn = { image: 'orcaops/busybox', command: 'end=$(( $(date +%s) + 3 )); while [ $(date +%s) -lt $end ]; do :; done' };
    const submitted = await api(t.app, 'POST', '/v1/jobs', { token: dev, body: burn });
    expect(submitted.status).toBe(201);
    const done = await api(t.app, 'GET', `/v1/jobs/${submitted.body.id}/wait?timeout_seconds=60`, { token: dev });
    expect(done.body.status).toBe('succeeded');
    const measured = done.body.usage.cpu_seconds as number;
    expect(measured).toBeGreaterThan(1);

    const usage = await api(t.app, 'GET', `/v1/workspaces/${ws.id}/usage`, { token: dev });
    const items = Object.fromEntries(usage.body.items.map((i: any) => [i.quota, i]));
    expect(items.cpu_seconds_per_day.current).toBe(Math.floor(measured));
    expect(items.cpu_seconds_per_month.current).toBe(Math.floor(measured));

    await api(t.app, 'PUT', `/v1/workspaces/${ws.id}/quotas`, { token: TEST_ADMIN_TOKEN, body: { limits: { cpu_seconds_per_day: 1 } } });
    const refused = await api(t.app, 'POST', '/v1/jobs', { token: dev, body: { image: 'orcaops/busybox', command: 'true' } });
    expect(refused.status).toBe(429);
    expect(refused.body.error.details).toMatchObject({ quota: 'cpu_seconds_per_day', limit: 1, current: Math.floor(measured) });
  }, 120_000);
});
