import { QuotaClock } from 'src/quotas/quota-clock';
import { QuotasService } from 'src/quotas/quotas.service';
import { CONTAINER_RUNTIME } from 'src/runtime/container-runtime.port';
import type { FakeRuntime } from 'src/runtime/fake/fake.runtime';
import { DataSource } from 'typeorm';
import type { TestApp, TestDatabase } from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { runCli } from '../support/cli';
import { createTestDatabase } from '../support/database';
import { api } from '../support/http';
import { sql } from '../support/sql';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

/** Fake engine: a job's container runs until it is cancelled, so admitted jobs hold their slot. */
async function startApp(database: TestDatabase): Promise<TestApp> {
  const t = await createTestApp({ ORCAOPS_RUNTIME: 'fake' }, { database });
  t.app.get<FakeRuntime>(CONTAINER_RUNTIME).addImage('orcaops/busybox');
  return t;
}

const job = { image: 'orcaops/busybox', command: 'sleep 600' };

/** Quotas through REST and the CLI on a real Postgres: admission, races, clock, restart, usage. */
describe('quotas', () => {
  let database: TestDatabase;
  let t: TestApp;
  let seq = 0;

  beforeAll(async () => {
    database = await createTestDatabase();
    t = await startApp(database);
  });
  afterAll(async () => {
    await t.close();
    await database.drop();
  });
  afterEach(() => jest.restoreAllMocks());

  const workspace = (): Promise<SeededWorkspace> => seedWorkspace(t.app, `quota-${++seq}`);
  const setQuotas = (id: string, body: Record<string, unknown>, token = TEST_ADMIN_TOKEN) => api(t.app, 'PUT', `/v1/workspaces/${id}/quotas`, { token, body });
  const submit = (token: string, body: Record<string, unknown> = job) => api(t.app, 'POST', '/v1/jobs', { token, body });
  const usage = async (id: string, token = TEST_ADMIN_TOKEN): Promise<Record<string, any>> => {
    const res = await api(t.app, 'GET', `/v1/workspaces/${id}/usage`, { token });
    expect(res.status).toBe(200);
    return Object.fromEntries(res.body.items.map((i: any) => [i.quota, i]));
  };
  const cancelAll = async (ws: SeededWorkspace): Promise<void> => {
    const ids = await sql<{ id: string }>(t.databaseUrl, "SELECT id FROM jobs WHERE workspace_id = $1 AND status IN ('queued', 'running')", [ws.id]);
    for (const { id } of ids) await api(t.app, 'POST', `/v1/jobs/${id}/cancel`, { token: ws.tokens.developer.token });
  };

  it('lets only organisation admins set limits; members read their own workspace, no one else', async () => {
    const ws = await workspace();
    const other = await workspace();
    expect((await setQuotas(ws.id, { limits: { concurrent_jobs: 3 } }, ws.tokens.admin.token)).status).toBe(403);
    expect((await setQuotas(ws.id, { limits: { concurrent_jobs: 0 } })).status).toBe(400);
    expect((await setQuotas(ws.id, { limits: { no_such_quota: 1 } })).status).toBe(400);
    expect((await setQuotas(ws.id, { limits: { jobs_per_day: 5 }, reset: ['jobs_per_day'] })).status).toBe(400);
    const set = await setQuotas(ws.id, { limits: { concurrent_jobs: 3, jobs_per_day: null } });
    expect(set.status).toBe(200);
    expect(set.body.items).toEqual(expect.arrayContaining([
      expect.objectContaining({ quota: 'concurrent_jobs', limit: 3, source: 'workspace' }),
      expect.objectContaining({ quota: 'jobs_per_day', limit: null, source: 'workspace' }),
      expect.objectContaining({ quota: 'concurrent_sandboxes', limit: 10, source: 'default' }),
    ]));
    const audit = await sql(t.databaseUrl, "SELECT details FROM audit_events WHERE action = 'quota.update' AND resource_id = $1", [ws.id]);
    expect(audit).toEqual([{ details: { limits: { concurrent_jobs: 3, jobs_per_day: null }, reset: [] } }]);

    expect((await api(t.app, 'GET', `/v1/workspaces/${ws.id}/quotas`, { token: ws.tokens.viewer.token })).status).toBe(200);
    expect((await api(t.app, 'GET', `/v1/workspaces/${ws.id}/usage`, { token: ws.tokens.viewer.token })).status).toBe(200);
    const foreign = await api(t.app, 'GET', `/v1/workspaces/${ws.id}/usage`, { token: other.tokens.admin.token });
    const missing = await api(t.app, 'GET', '/v1/workspaces/00000000-0000-4000-8000-000000000000/usage', { token: TEST_ADMIN_TOKEN });
    expect(foreign.status).toBe(404);
    expect(missing.status).toBe(404);
    expect((await api(t.app, 'GET', '/v1/quotas', { token: ws.tokens.admin.token })).status).toBe(403);

    // Organisation defaults apply where a workspace has no override; reset brings the default back.
    const defaults = await api(t.app, 'PUT', '/v1/quotas', { token: TEST_ADMIN_TOKEN, body: { limits: { artifact_storage_bytes: 1_000_000 } } });
    expect(defaults.body.items).toContainEqual(expect.objectContaining({ quota: 'artifact_storage_bytes', limit: 1_000_000, source: 'organisation' }));
    expect((await usage(other.id)).artifact_storage_bytes).toMatchObject({ limit: 1_000_000, source: 'organisation', current: 0 });
    await setQuotas(ws.id, { reset: ['jobs_per_day'] });
    expect((await usage(ws.id)).jobs_per_day).toMatchObject({ limit: null, source: 'default' });
    await api(t.app, 'PUT', '/v1/quotas', { token: TEST_ADMIN_TOKEN, body: { reset: ['artifact_storage_bytes'] } });
  });

  it('refuses the N+1th concurrent job with 429 (REST), audited, and admits again once one ends', async () => {
    const ws = await workspace();
    const dev = ws.tokens.developer.token;
    await setQuotas(ws.id, { limits: { concurrent_jobs: 2 } });
    const first = await submit(dev);
    expect(first.status).toBe(201);
    expect((await submit(dev)).status).toBe(201);
    const refused = await submit(dev);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ code: 'quota_exceeded', details: { quota: 'concurrent_jobs', limit: 2, current: 2 } });
    expect(refused.body.error.details).not.toHaveProperty('resets_at');
    expect(await sql(t.databaseUrl, 'SELECT count(*)::int AS n FROM jobs WHERE workspace_id = $1', [ws.id])).toEqual([{ n: 2 }]);
    const denied = await sql(t.databaseUrl, "SELECT outcome, details FROM audit_events WHERE action = 'job.create' AND outcome = 'denied' AND workspace_id = $1", [ws.id]);
    expect(denied).toEqual([{ outcome: 'denied', details: { code: 'quota_exceeded', quota: 'concurrent_jobs', limit: 2, current: 2 } }]);

    expect((await usage(ws.id, ws.tokens.viewer.token)).concurrent_jobs).toMatchObject({ limit: 2, current: 2, remaining: 0, resets_at: null });
    // A cancelled job holds its slot until its container is gone and it has ended.
    await api(t.app, 'POST', `/v1/jobs/${first.body.id}/cancel`, { token: dev });
    expect((await api(t.app, 'GET', `/v1/jobs/${first.body.id}/wait?timeout_seconds=30`, { token: dev })).body.status).toBe('cancelled');
    expect((await submit(dev)).status).toBe(201);
    await cancelAll(ws);
  });

  it('refuses the N+1th concurrent job through the CLI (exit 7, quota_exceeded), and shows usage and limits', async () => {
    const ws = await workspace();
    await t.app.listen(0, '127.0.0.1');
    const url = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    const env = { ORCAOPS_URL: url, ORCAOPS_TOKEN: ws.tokens.developer.token, ORCAOPS_HOME: t.home };
    const orgEnv = { ...env, ORCAOPS_TOKEN: TEST_ADMIN_TOKEN };

    const set = await runCli(['--json', 'quotas', 'set', 'concurrent_jobs=1', 'jobs_per_day=unlimited', '--workspace', ws.id], orgEnv);
    expect(set.exitCode).toBe(0);
    expect(JSON.parse(set.stdout).items).toContainEqual(expect.objectContaining({ quota: 'concurrent_jobs', limit: 1, source: 'workspace' }));
    const notAdmin = await runCli(['--json', 'quotas', 'set', 'concurrent_jobs=5', '--workspace', ws.id], env);
    expect(JSON.parse(notAdmin.stdout).error.code).toBe('forbidden');
    expect((await runCli(['quotas', 'set', 'bogus=1', '--workspace', ws.id], orgEnv)).exitCode).toBe(2);

    expect((await runCli(['--json', 'run', '--detach', 'orcaops/busybox', '--', 'sleep', '600'], env)).exitCode).toBe(0);
    const refused = await runCli(['--json', 'run', '--detach', 'orcaops/busybox', '--', 'sleep', '600'], env);
    expect(refused.exitCode).toBe(7);
    expect(JSON.parse(refused.stdout).error).toMatchObject({ code: 'quota_exceeded', details: { quota: 'concurrent_jobs', limit: 1, current: 1 } });

    const table = await runCli(['usage'], env);
    expect(table.exitCode).toBe(0);
    expect(table.stdout).toMatch(/QUOTA\s+USED\s+LIMIT\s+REMAINING\s+RESETS_AT/);
    expect(table.stdout).toMatch(/concurrent_jobs\s+1\s+1\s+0\s+-/);
    expect(table.stdout).toMatch(/jobs_per_day\s+1\s+unlimited\s+-\s+\d{4}-\d\d-\d\dT00:00:00\.000Z/);
    const json = JSON.parse((await runCli(['--json', 'usage', '--workspace', ws.id], orgEnv)).stdout);
    expect(json).toMatchObject({ workspace_id: ws.id });
    expect((await runCli(['usage'], orgEnv)).exitCode).toBe(2);
    const limits = await runCli(['quotas', 'get'], env);
    expect(limits.stdout).toMatch(/concurrent_jobs\s+1\s+-\s+workspace/);
    expect((await runCli(['quotas', 'get'], orgEnv)).stdout).toContain('organisation defaults');
    await cancelAll(ws);
  });

  it('never lets 20 concurrent submissions exceed the limit', async () => {
    const ws = await workspace();
    await setQuotas(ws.id, { limits: { concurrent_jobs: 5 } });
    const results = await Promise.all(Array.from({ length: 20 }, () => submit(ws.tokens.developer.token)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
    expect(await sql(t.databaseUrl, 'SELECT count(*)::int AS n FROM jobs WHERE workspace_id = $1', [ws.id])).toEqual([{ n: 5 }]);
    expect((await usage(ws.id)).jobs_per_day.current).toBe(5);
    await cancelAll(ws);
  });

  it('never lets concurrent sandbox creates exceed concurrent_sandboxes', async () => {
    const ws = await workspace();
    await setQuotas(ws.id, { limits: { concurrent_sandboxes: 3 } });
    const body = { image: 'orcaops/busybox' };
    const results = await Promise.all(Array.from({ length: 8 }, () => api(t.app, 'POST', '/v1/sandboxes', { token: ws.tokens.developer.token, body })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(3);
    const refused = results.filter((r) => r.status === 429);
    expect(refused).toHaveLength(5);
    expect(refused[0]!.body.error.details).toEqual({ quota: 'concurrent_sandboxes', limit: 3, current: 3 });
    expect((await usage(ws.id)).concurrent_sandboxes).toMatchObject({ current: 3, limit: 3, remaining: 0 });
    for (const r of results.filter((x) => x.status === 201)) await api(t.app, 'DELETE', `/v1/sandboxes/${r.body.id}`, { token: ws.tokens.developer.token });
  });

  it('refuses jobs that collect artifacts once the stored artifacts reach artifact_storage_bytes', async () => {
    const ws = await workspace();
    const dev = ws.tokens.developer.token;
    await setQuotas(ws.id, { limits: { artifact_storage_bytes: 1000 } });
    const first = await submit(dev);
    await sql(
      t.databaseUrl,
      `INSERT INTO job_artifacts (id, workspace_id, job_id, name, size_bytes, sha256, content_type, storage_key)
       VALUES (gen_random_uuid(), $1, $2, 'out.bin', 1500, repeat('0', 64), 'application/octet-stream', 'k')`,
      [ws.id, first.body.id],
    );
    expect((await usage(ws.id)).artifact_storage_bytes).toMatchObject({ current: 1500, limit: 1000, remaining: 0, resets_at: null });
    const refused = await submit(dev, { ...job, artifacts: ['out.bin'] });
    expect(refused.status).toBe(429);
    expect(refused.body.error.details).toEqual({ quota: 'artifact_storage_bytes', limit: 1000, current: 1500 });
    expect((await submit(dev)).status).toBe(201);
    await cancelAll(ws);
  });

  it('counts jobs per UTC day and resets at midnight (injected clock)', async () => {
    const ws = await workspace();
    const dev = ws.tokens.developer.token;
    await setQuotas(ws.id, { limits: { jobs_per_day: 2 } });
    const clock = jest.spyOn(t.app.get(QuotaClock), 'now').mockReturnValue(new Date('2031-01-31T23:59:30Z'));
    for (let i = 0; i < 2; i++) expect((await submit(dev)).status).toBe(201);
    await cancelAll(ws);
    const refused = await submit(dev);
    expect(refused.status).toBe(429);
    expect(refused.body.error.details).toEqual({ quota: 'jobs_per_day', limit: 2, current: 2, resets_at: '2031-02-01T00:00:00.000Z' });
    expect((await usage(ws.id)).jobs_per_day).toMatchObject({ current: 2, remaining: 0, resets_at: '2031-02-01T00:00:00.000Z' });

    clock.mockReturnValue(new Date('2031-02-01T00:00:00Z'));
    expect((await usage(ws.id)).jobs_per_day).toMatchObject({ current: 0, resets_at: '2031-02-02T00:00:00.000Z' });
    expect((await submit(dev)).status).toBe(201);
    expect((await usage(ws.id)).jobs_per_day.current).toBe(1);
    await cancelAll(ws);
    // Deleting a job does not give its slot of the day back (the ledger, not the job rows, counts).
    const [deletable] = await sql<{ id: string }>(t.databaseUrl, 'SELECT id FROM jobs WHERE workspace_id = $1 LIMIT 1', [ws.id]);
    expect((await api(t.app, 'DELETE', `/v1/jobs/${deletable!.id}`, { token: dev })).status).toBe(204);
    expect((await usage(ws.id)).jobs_per_day.current).toBe(1);
  });

  it('refuses jobs once the CPU-seconds of the day or month are used, with when they reset', async () => {
    const ws = await workspace();
    await setQuotas(ws.id, { limits: { cpu_seconds_per_day: 100, cpu_seconds_per_month: 150 } });
    jest.spyOn(t.app.get(QuotaClock), 'now').mockReturnValue(new Date('2031-03-10T12:00:00Z'));
    const record = (seconds: number) => t.app.get(DataSource).transaction((m) => t.app.get(QuotasService).recordJobCpu(m, ws.id, seconds));
    await record(99.5);
    expect((await submit(ws.tokens.developer.token)).status).toBe(201);
    await record(0.6);
    const refused = await submit(ws.tokens.developer.token);
    expect(refused.body.error.details).toEqual({ quota: 'cpu_seconds_per_day', limit: 100, current: 100, resets_at: '2031-03-11T00:00:00.000Z' });
    jest.spyOn(t.app.get(QuotaClock), 'now').mockReturnValue(new Date('2031-03-11T00:00:00Z'));
    await record(60);
    const monthly = await submit(ws.tokens.developer.token);
    expect(monthly.body.error.details).toEqual({ quota: 'cpu_seconds_per_month', limit: 150, current: 160, resets_at: '2031-04-01T00:00:00.000Z' });
    await cancelAll(ws);
  });

  it('counts the same after a server restart on the same database', async () => {
    const ws = await workspace();
    const dev = ws.tokens.developer.token;
    // One runs, two wait in the queue (running_jobs is a scheduling cap, not an admission limit).
    await setQuotas(ws.id, { limits: { concurrent_jobs: 4, running_jobs: 1 } });
    for (let i = 0; i < 3; i++) expect((await submit(dev)).status).toBe(201);
    const before = await usage(ws.id);
    expect(before.concurrent_jobs.current).toBe(3);
    expect(before.jobs_per_day.current).toBe(3);

    await t.close();
    t = await startApp(database);
    const unfinished = await sql<{ n: number }>(t.databaseUrl, "SELECT count(*)::int AS n FROM jobs WHERE workspace_id = $1 AND status IN ('queued', 'running')", [ws.id]);
    const after = await usage(ws.id);
    expect(after.concurrent_jobs.current).toBe(unfinished[0]!.n);
    expect(after.jobs_per_day.current).toBe(3);
    expect(after.concurrent_jobs).toMatchObject({ limit: 4, source: 'workspace' });
    // The limit holds across the restart: exactly the free slots are admitted.
    const free = 4 - unfinished[0]!.n;
    for (let i = 0; i < free; i++) expect((await submit(dev)).status).toBe(201);
    expect((await submit(dev)).status).toBe(429);
    await cancelAll(ws);
  });

  it('keeps the pre-quota workspace settings keys working: stored as quota overrides', async () => {
    const ws = await workspace();
    const patched = await api(t.app, 'PATCH', `/v1/workspaces/${ws.id}`, { token: TEST_ADMIN_TOKEN, body: { settings: { max_sandboxes: 2, max_concurrent_jobs: 3, description: 'x' } } });
    expect(patched.status).toBe(200);
    expect(patched.body.settings).toEqual({ description: 'x' });
    const u = await usage(ws.id);
    expect(u.concurrent_sandboxes).toMatchObject({ limit: 2, source: 'workspace' });
    expect(u.running_jobs).toMatchObject({ limit: 3, source: 'workspace' });
    expect(u.sandbox_seconds_per_day).toMatchObject({ limit: null, current: 0, resets_at: expect.stringMatching(/T00:00:00\.000Z$/) });
  });
});
