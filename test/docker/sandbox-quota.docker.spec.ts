import { SandboxReaperService } from 'src/sandboxes/sandbox-reaper.service';
import type { TestApp } from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { docker, removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import { sql } from '../support/sql';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

const DAY_MS = 86_400_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Next UTC midnight, as the API reports resets_at. */
function nextUtcMidnight(now = new Date()): string {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)).toISOString();
}

/**
 * The test moves a sandbox 61 s into the past within today's UTC day: keep clear of midnight (a rare
 * wait of at most ~100 s) so the day does not change under it.
 */
async function awayFromMidnight(): Promise<void> {
  const intoDay = Date.now() % DAY_MS;
  if (intoDay < 70_000) await sleep(70_000 - intoDay);
  else if (intoDay > DAY_MS - 30_000) await sleep(DAY_MS - intoDay + 70_000);
}

/** The daily sandbox-seconds quota on the real engine and a real Postgres; the reaper is driven by hand. */
describe('sandbox-seconds quota per workspace per UTC day', () => {
  let t: TestApp;
  let seq = 0;

  beforeAll(async () => {
    // A long reaper interval: the test drives the passes itself (the first runs at start-up).
    t = await createTestApp({ ORCAOPS_SANDBOX_REAPER_MS: '600000' });
  });
  afterAll(async () => {
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
  });

  const workspace = (): Promise<SeededWorkspace> => seedWorkspace(t.app, `quota-${++seq}`);
  const patch = (token: string, id: string, settings: Record<string, unknown>) => api(t.app, 'PATCH', `/v1/workspaces/${id}`, { token, body: { settings } });
  const createBody = { image: 'orcaops/busybox', resources: { memory_mb: 128 } };

  async function create(token: string): Promise<any> {
    const res = await api(t.app, 'POST', '/v1/sandboxes', { token, body: createBody });
    expect(res.status).toBe(201);
    return res.body;
  }

  /** sandbox_seconds_per_day as GET /v1/workspaces/:id/usage reports it. */
  async function secondsToday(id: string): Promise<number> {
    const usage = await api(t.app, 'GET', `/v1/workspaces/${id}/usage`, { token: TEST_ADMIN_TOKEN });
    expect(usage.status).toBe(200);
    return usage.body.items.find((i: any) => i.quota === 'sandbox_seconds_per_day').current;
  }

  async function row(id: string): Promise<{ status: string; exit_reason: string | null; container_id: string | null }> {
    const [r] = await sql<{ status: string; exit_reason: string | null; container_id: string | null }>(
      t.databaseUrl,
      'SELECT status, exit_reason, container_id FROM sandboxes WHERE id = $1',
      [id],
    );
    return r!;
  }

  it('only an organisation admin may set the limit, within 60..10,000,000', async () => {
    const ws = await workspace();
    const byWsAdmin = await patch(ws.tokens.admin.token, ws.id, { max_sandbox_seconds_per_day: 3600 });
    expect(byWsAdmin.status).toBe(403);
    const denied = await sql(t.databaseUrl, "SELECT details FROM audit_events WHERE action = 'auth.forbidden' AND resource_id = $1", [ws.id]);
    expect(denied).toEqual([{ details: { required: 'org:admin', field: 'settings' } }]);
    for (const bad of [59, 10_000_001, 1.5, '3600']) {
      expect((await patch(TEST_ADMIN_TOKEN, ws.id, { max_sandbox_seconds_per_day: bad })).status).toBe(400);
    }
    const set = await patch(TEST_ADMIN_TOKEN, ws.id, { max_sandbox_seconds_per_day: 60 });
    expect(set.status).toBe(200);
    // The legacy key is stored as the workspace's sandbox_seconds_per_day quota, not in settings.
    expect(set.body.settings).not.toHaveProperty('max_sandbox_seconds_per_day');
    const limits = await api(t.app, 'GET', `/v1/workspaces/${ws.id}/quotas`, { token: ws.tokens.viewer.token });
    expect(limits.body.items).toContainEqual(expect.objectContaining({ quota: 'sandbox_seconds_per_day', limit: 60, source: 'workspace' }));
    const stillDenied = await patch(ws.tokens.admin.token, ws.id, { max_sandbox_seconds_per_day: null });
    expect(stillDenied.status).toBe(403);
  });

  it('refuses creates with 429 once the day is used up, and the reaper expires running sandboxes with reason quota', async () => {
    await awayFromMidnight();
    const ws = await workspace();
    const other = await workspace();
    const dev = ws.tokens.developer.token;
    expect((await patch(TEST_ADMIN_TOKEN, ws.id, { max_sandbox_seconds_per_day: 60 })).status).toBe(200);
    expect((await patch(TEST_ADMIN_TOKEN, other.id, { max_sandbox_seconds_per_day: 60 })).status).toBe(200);

    const sbx = await create(dev);
    const bystander = await create(other.tokens.developer.token);
    expect(await secondsToday(ws.id)).toBeLessThan(60);
    await sql(t.databaseUrl, "UPDATE sandboxes SET ready_at = now() - interval '61 seconds' WHERE id = $1", [sbx.id]);
    const used = await secondsToday(ws.id);
    expect(used).toBeGreaterThanOrEqual(61);
    expect(used).toBeLessThan(70);

    const refused = await api(t.app, 'POST', '/v1/sandboxes', { token: dev, body: createBody });
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({
      code: 'quota_exceeded',
      details: { quota: 'sandbox_seconds_per_day', limit: 60, current: expect.any(Number), resets_at: nextUtcMidnight() },
    });
    expect(refused.body.error.details.current).toBeGreaterThanOrEqual(61);
    expect(await sql(t.databaseUrl, 'SELECT count(*)::int AS n FROM sandboxes WHERE workspace_id = $1', [ws.id])).toEqual([{ n: 1 }]);

    // Still running until the reaper's next pass.
    const before = await row(sbx.id);
    expect(before.status).toBe('ready');
    await t.app.get(SandboxReaperService).tick();
    const after = await row(sbx.id);
    expect(after).toMatchObject({ status: 'expired', exit_reason: 'quota' });
    await expect(docker.getContainer(before.container_id!).inspect()).rejects.toBeDefined();
    const got = await api(t.app, 'GET', `/v1/sandboxes/${sbx.id}`, { token: dev });
    expect(got.body).toMatchObject({ status: 'expired', exit_reason: 'quota' });
    const audit = await sql(t.databaseUrl, "SELECT actor_type, details FROM audit_events WHERE resource_id = $1 AND action = 'sandbox.expire'", [sbx.id]);
    expect(audit).toEqual([{ actor_type: 'system', details: { reason: 'quota' } }]);
    // Another workspace under its own limit is untouched.
    expect((await row(bystander.id)).status).toBe('ready');

    // An ended sandbox's seconds still count for the rest of the day; raising (or unsetting) the limit lets creates through.
    expect((await api(t.app, 'POST', '/v1/sandboxes', { token: dev, body: createBody })).status).toBe(429);
    expect((await patch(TEST_ADMIN_TOKEN, ws.id, { max_sandbox_seconds_per_day: 3600 })).status).toBe(200);
    await create(dev);
    expect((await patch(TEST_ADMIN_TOKEN, ws.id, { max_sandbox_seconds_per_day: 60 })).status).toBe(200);
    expect((await api(t.app, 'POST', '/v1/sandboxes', { token: dev, body: createBody })).status).toBe(429);
    expect((await patch(TEST_ADMIN_TOKEN, ws.id, { max_sandbox_seconds_per_day: null })).status).toBe(200);
    await create(dev);
  }, 240_000);

  it('counts only the part of a sandbox lifetime that falls within today (UTC)', async () => {
    await awayFromMidnight();
    const ws = await workspace();
    const sbx = await create(ws.tokens.developer.token);
    await api(t.app, 'DELETE', `/v1/sandboxes/${sbx.id}`, { token: ws.tokens.developer.token });
    // Ran from two days ago until 30 s into today: 30 s today.
    await sql(
      t.databaseUrl,
      `UPDATE sandboxes SET ready_at = date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '2 days',
                            stopped_at = date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '30 seconds'
        WHERE id = $1`,
      [sbx.id],
    );
    expect(await secondsToday(ws.id)).toBe(30);
    // Ended yesterday: nothing today.
    await sql(t.databaseUrl, "UPDATE sandboxes SET stopped_at = ready_at + interval '1 day' WHERE id = $1", [sbx.id]);
    expect(await secondsToday(ws.id)).toBe(0);
  }, 240_000);
});
