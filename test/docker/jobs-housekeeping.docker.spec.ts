import { Client } from 'pg';
import { JobReconcilerService } from 'src/jobs/job-reconciler.service';
import type { TestApp } from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { jobContainers, removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

/** Concurrency caps, kept containers and retention: the reaper's work, on the real engine. */
describe('job housekeeping', () => {
  let t: TestApp;
  let ws: SeededWorkspace;
  let dev: string;
  let db: Client;

  beforeAll(async () => {
    t = await createTestApp();
    ws = await seedWorkspace(t.app, 'housekeeping');
    dev = ws.tokens.developer.token;
    db = new Client({ connectionString: t.databaseUrl });
    await db.connect();
  });
  afterAll(async () => {
    await db.end();
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
  });

  const submit = async (body: Record<string, unknown>): Promise<any> => {
    const res = await api(t.app, 'POST', '/v1/jobs', { token: dev, body });
    expect(res.status).toBe(201);
    return res.body;
  };
  const waitFor = async (id: string): Promise<any> =>
    (await api(t.app, 'GET', `/v1/jobs/${id}/wait?timeout_seconds=60`, { token: dev })).body;

  it('holds jobs over the workspace concurrency cap in the queue until a slot frees', async () => {
    const patch = await api(t.app, 'PATCH', `/v1/workspaces/${ws.id}`, { token: TEST_ADMIN_TOKEN, body: { settings: { max_concurrent_jobs: 1 } } });
    expect(patch.status).toBe(200);
    const first = await submit({ image: 'orcaops/busybox', command: 'sleep 2' });
    const second = await submit({ image: 'orcaops/busybox', command: 'true' });
    const whileFirstRuns = await api(t.app, 'GET', `/v1/jobs/${second.id}/wait?timeout_seconds=1`, { token: dev });
    expect(whileFirstRuns.body.status).toBe('queued');
    const firstDone = await waitFor(first.id);
    const secondDone = await waitFor(second.id);
    expect([firstDone.status, secondDone.status]).toEqual(['succeeded', 'succeeded']);
    expect(new Date(secondDone.started_at).getTime()).toBeGreaterThanOrEqual(new Date(firstDone.finished_at).getTime() - 50);
    await api(t.app, 'PATCH', `/v1/workspaces/${ws.id}`, { token: TEST_ADMIN_TOKEN, body: { settings: { max_concurrent_jobs: 4 } } });
  });

  it('claims a job in the transaction that admits it when a slot is free, and the running cap holds across concurrent submits', async () => {
    await api(t.app, 'PATCH', `/v1/workspaces/${ws.id}`, { token: TEST_ADMIN_TOKEN, body: { settings: { max_concurrent_jobs: 2 } } });
    const submitted = await Promise.all(Array.from({ length: 6 }, () => submit({ image: 'orcaops/busybox', command: 'sleep 0.5', tags: ['cap-race'] })));
    const statuses = submitted.map((j) => j.status).sort();
    // Started at once (no queue round trip) up to the cap; the rest wait in the queue.
    expect(statuses).toEqual(['queued', 'queued', 'queued', 'queued', 'running', 'running']);
    const done = await Promise.all(submitted.map((j) => waitFor(j.id)));
    expect(done.map((j) => j.status)).toEqual(Array(6).fill('succeeded'));
    // Never more than 2 running at once (50 ms of slack: start and end are stamped by the server's clock around the lock).
    const spans = done.map((j) => [new Date(j.started_at).getTime(), new Date(j.finished_at).getTime()] as const);
    for (const [start] of spans) expect(spans.filter(([s2, e2]) => s2 <= start && start < e2 - 50).length).toBeLessThanOrEqual(2);
    await api(t.app, 'PATCH', `/v1/workspaces/${ws.id}`, { token: TEST_ADMIN_TOKEN, body: { settings: { max_concurrent_jobs: 4 } } });
  });

  it('runs as many jobs at once as the server has slots, and a freed slot starts the next waiting job at once', async () => {
    // The test server runs 4 jobs at once (ORCAOPS_MAX_CONCURRENT_JOBS default); the workspace allows 8.
    await api(t.app, 'PATCH', `/v1/workspaces/${ws.id}`, { token: TEST_ADMIN_TOKEN, body: { settings: { max_concurrent_jobs: 8 } } });
    const first = await Promise.all([submit({ image: 'orcaops/busybox', command: 'sleep 2' }), submit({ image: 'orcaops/busybox', command: 'sleep 2' })]);
    const second = await Promise.all([submit({ image: 'orcaops/busybox', command: 'sleep 2' }), submit({ image: 'orcaops/busybox', command: 'sleep 3' })]);
    // Two running jobs hold two slots, not four: the next two start at once too.
    expect([...first, ...second].map((j) => j.status)).toEqual(['running', 'running', 'running', 'running']);
    const fifth = await submit({ image: 'orcaops/busybox', command: 'true' });
    expect(fifth.status).toBe('queued');
    const done = await Promise.all([...first, ...second, fifth].map((j) => waitFor(j.id)));
    expect(done.map((j) => j.status)).toEqual(Array(5).fill('succeeded'));
    // Started by the first slot to free, not by the queue's backstop poll.
    const firstFreed = Math.min(...done.slice(0, 4).map((j) => new Date(j.finished_at).getTime()));
    expect(new Date(done[4].started_at).getTime() - firstFreed).toBeLessThan(1_000);
    await api(t.app, 'PATCH', `/v1/workspaces/${ws.id}`, { token: TEST_ADMIN_TOKEN, body: { settings: { max_concurrent_jobs: 4 } } });
  });

  it('lists jobs newest first with filters and cursor pagination', async () => {
    const ids: string[] = [];
    for (const tag of ['lst-a', 'lst-b', 'lst-a']) ids.push((await submit({ image: 'orcaops/busybox', command: 'true', tags: [tag, 'lst'] })).id);
    for (const id of ids) await waitFor(id);
    const tagged = await api(t.app, 'GET', '/v1/jobs?tag=lst-a', { token: dev });
    expect(tagged.body.items.map((j: any) => j.id)).toEqual([ids[2], ids[0]]);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await api(t.app, 'GET', `/v1/jobs?tag=lst&limit=1${cursor ? `&cursor=${cursor}` : ''}`, { token: dev });
      seen.push(...page.body.items.map((j: any) => j.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    const byImage = await api(t.app, 'GET', '/v1/jobs?image=orcaops/busy*&status=succeeded&limit=200', { token: dev });
    expect(byImage.body.items.map((j: any) => j.id)).toEqual(expect.arrayContaining(ids));
    const none = await api(t.app, 'GET', `/v1/jobs?tag=lst&since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`, { token: dev });
    expect(none.body.items).toEqual([]);
    const garbled = await api(t.app, 'GET', '/v1/jobs?cursor=bm9wZQ', { token: dev });
    expect(garbled.status).toBe(400);
  });

  it('keeps a failed job’s container under remove_on_completion until its TTL, then the reaper removes it', async () => {
    const job = await submit({ image: 'orcaops/busybox', steps: [{ command: 'echo x > f' }, { command: 'exit 2' }] });
    expect((await waitFor(job.id)).status).toBe('failed');
    expect(await jobContainers(t.databaseUrl, job.id)).toHaveLength(1);
    await t.app.get(JobReconcilerService).reconcile(false);
    expect(await jobContainers(t.databaseUrl, job.id)).toHaveLength(1);
    await db.query(`UPDATE jobs SET keep_until = now() - interval '1 second' WHERE id = $1`, [job.id]);
    await t.app.get(JobReconcilerService).reconcile(false);
    expect(await jobContainers(t.databaseUrl, job.id)).toEqual([]);
  });

  it('finishes the removal of a job whose runner died after committing its end; waiters hold until then', async () => {
    // The state a crash between the terminal commit and the container's removal leaves behind.
    const job = await submit({ image: 'orcaops/busybox', command: 'true', cleanup_policy: 'keep_on_completion' });
    expect((await waitFor(job.id)).status).toBe('succeeded');
    expect(await jobContainers(t.databaseUrl, job.id)).toHaveLength(1);
    // The server's own periodic pass would finish the removal whenever its timer fires; this test runs the pass itself.
    const reconciler = t.app.get(JobReconcilerService);
    const timerView = reconciler as unknown as { tick: () => Promise<void>; running?: Promise<void> };
    const periodicPass = jest.spyOn(timerView, 'tick').mockResolvedValue(undefined);
    await timerView.running;
    await db.query(`UPDATE jobs SET container_state = 'removing', runner_id = 'a-runner-that-died' WHERE id = $1`, [job.id]);
    // Terminal but not settled: a wait runs to its timeout (callers that see the end see the container gone).
    const heldFrom = Date.now();
    const held = await api(t.app, 'GET', `/v1/jobs/${job.id}/wait?timeout_seconds=1`, { token: dev });
    expect(held.body.status).toBe('succeeded');
    expect(Date.now() - heldFrom).toBeGreaterThanOrEqual(900);
    periodicPass.mockRestore();
    const waiting = api(t.app, 'GET', `/v1/jobs/${job.id}/wait?timeout_seconds=60`, { token: dev });
    await reconciler.reconcile(false);
    expect((await waiting).body.status).toBe('succeeded');
    expect(await jobContainers(t.databaseUrl, job.id)).toEqual([]);
    expect((await db.query('SELECT container_state FROM jobs WHERE id = $1', [job.id])).rows).toEqual([{ container_state: 'removed' }]);
  });

  it('deletes finished jobs older than the workspace retention, with their output', async () => {
    const job = await submit({ image: 'orcaops/busybox', command: 'echo old' });
    await waitFor(job.id);
    await api(t.app, 'PATCH', `/v1/workspaces/${ws.id}`, { token: ws.tokens.admin.token, body: { settings: { job_retention_days: 1 } } });
    await db.query(`UPDATE jobs SET finished_at = now() - interval '2 days' WHERE id = $1`, [job.id]);
    const fresh = await submit({ image: 'orcaops/busybox', command: 'echo new' });
    await waitFor(fresh.id);
    await t.app.get(JobReconcilerService).reconcile(false, { retention: true });
    expect((await api(t.app, 'GET', `/v1/jobs/${job.id}`, { token: dev })).status).toBe(404);
    expect((await api(t.app, 'GET', `/v1/jobs/${fresh.id}`, { token: dev })).status).toBe(200);
    const chunks = await db.query('SELECT count(*)::int AS n FROM job_log_chunks WHERE job_id = $1', [job.id]);
    expect(chunks.rows[0].n).toBe(0);
    // A delete like any other: audited, as the system.
    const events = await db.query("SELECT actor_type, details FROM audit_events WHERE action = 'job.delete' AND resource_id = $1", [job.id]);
    expect(events.rows).toEqual([{ actor_type: 'system', details: { reason: 'retention' } }]);
  });
});
