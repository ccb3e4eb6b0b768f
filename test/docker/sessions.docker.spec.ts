import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SessionReaperService } from 'src/sessions/session-reaper.service';
import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { runCli } from '../support/cli';
import { installationContainers, removeInstallationContainers } from '../support/docker';
import { expectError } from '../support/errors';
import { api } from '../support/http';
import { sql } from '../support/sql';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

const SESSION_HEADER = 'x-orcaops-session';

/** Agent sessions through REST and the CLI: links, spend, tenancy, cleanup, idle expiry, audit. */
describe('agent sessions on the real engine', () => {
  let t: TestApp;
  let a: SeededWorkspace;
  let b: SeededWorkspace;
  let dev: string;
  let dir: string;
  let cliEnv: Record<string, string>;

  beforeAll(async () => {
    t = await createTestApp({ ORCAOPS_SANDBOX_REAPER_MS: '60000' });
    await t.app.listen(0, '127.0.0.1');
    const url = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    a = await seedWorkspace(t.app, 'sessions-a');
    b = await seedWorkspace(t.app, 'sessions-b');
    dev = a.tokens.developer.token;
    dir = mkdtempSync(join(tmpdir(), 'orcaops-sessions-'));
    cliEnv = { ORCAOPS_URL: url, ORCAOPS_TOKEN: dev, ORCAOPS_HOME: dir };
  });
  afterAll(async () => {
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function openSession(body: Record<string, unknown> = {}): Promise<any> {
    const res = await api(t.app, 'POST', '/v1/sessions', { token: dev, body: { agent_type: 'claude-code', name: 'test run', ...body } });
    expect(res.status).toBe(201);
    return res.body;
  }

  async function submit(body: Record<string, unknown>, headers?: Record<string, string>): Promise<any> {
    const res = await api(t.app, 'POST', '/v1/jobs', { token: dev, body: { image: 'orcaops/busybox', ...body }, headers });
    expect(res.status).toBe(201);
    return res.body;
  }

  async function createSandbox(body: Record<string, unknown>, headers?: Record<string, string>): Promise<any> {
    const res = await api(t.app, 'POST', '/v1/sandboxes', { token: dev, body: { image: 'orcaops/busybox', ...body }, headers });
    expect(res.status).toBe(201);
    return res.body;
  }

  async function waitDone(id: string): Promise<any> {
    const res = await api(t.app, 'GET', `/v1/jobs/${id}/wait?timeout_seconds=60`, { token: dev });
    return res.body;
  }

  /** Polls until the job runs (bounded): the runner picks it up asynchronously. */
  async function waitRunning(id: string): Promise<void> {
    const until = Date.now() + 20_000;
    for (;;) {
      const res = await api(t.app, 'GET', `/v1/jobs/${id}`, { token: dev });
      if (res.body.status === 'running' || Date.now() > until) return expect(res.body.status).toBe('running');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function sandboxContainers(sandboxId: string): Promise<unknown[]> {
    return (await installationContainers(t.databaseUrl)).filter((c) => c.Labels['orcaops.sandbox_id'] === sandboxId);
  }

  /** GET as raw text (api() would parse application/x-ndjson as one JSON document). */
  async function exportText(token: string, query: string): Promise<{ status: number; type: string; text: string }> {
    const res = await t.app.inject({ method: 'GET', url: `/v1/audit/export?${query}`, headers: { authorization: `Bearer ${token}` } });
    return { status: res.statusCode, type: String(res.headers['content-type']), text: res.body };
  }

  async function auditRows(sessionId: string): Promise<Array<{ action: string; session_id: string; actor_type: string; resource_id: string }>> {
    return sql(t.databaseUrl, 'SELECT action, session_id, actor_type, resource_id FROM audit_events WHERE session_id = $1 ORDER BY occurred_at', [sessionId]);
  }

  it('links a job (body) and a sandbox (header) to the session; the view lists them with their spend', async () => {
    const session = await openSession({ metadata: { run: 'r-1' } });
    expect(session).toMatchObject({ status: 'open', agent_type: 'claude-code', idle_timeout_seconds: 1800, cleanup_on_idle: true, metadata: { run: 'r-1' } });

    const job = await submit({ session_id: session.id, command: 'head -c 1000 /dev/zero > a.bin', artifacts: ['a.bin'] });
    expect(job.session_id).toBe(session.id);
    expect((await waitDone(job.id)).status).toBe('succeeded');
    const sandbox = await createSandbox({ name: 'work' }, { [SESSION_HEADER]: session.id });
    expect(sandbox).toMatchObject({ status: 'ready', session_id: session.id });
    const unlinked = await submit({ command: 'true' });
    expect(unlinked.session_id).toBeNull();

    const view = await api(t.app, 'GET', `/v1/sessions/${session.id}`, { token: a.tokens.viewer.token });
    expect(view.status).toBe(200);
    expect(view.body.jobs).toEqual([expect.objectContaining({ id: job.id, status: 'succeeded' })]);
    expect(view.body.sandboxes).toEqual([expect.objectContaining({ id: sandbox.id, status: 'ready', name: 'work' })]);
    expect(view.body.spend).toMatchObject({ job_count: 1, artifact_bytes: 1000, sandbox_count: 1 });
    expect(view.body.spend.cpu_seconds).toBeGreaterThanOrEqual(0);
    expect(view.body.spend.job_seconds).toBeGreaterThan(0);
    expect(view.body.spend.sandbox_seconds).toBeGreaterThanOrEqual(0);

    // The job and sandbox lists filter by session too (the view shows the newest 100 of each).
    const jobs = await api(t.app, 'GET', `/v1/jobs?session_id=${session.id}`, { token: dev });
    expect(jobs.body.items.map((j: { id: string }) => j.id)).toEqual([job.id]);
    const sandboxes = await api(t.app, 'GET', `/v1/sandboxes?session_id=${session.id}`, { token: dev });
    expect(sandboxes.body.items.map((s: { id: string }) => s.id)).toEqual([sandbox.id]);

    const listed = await api(t.app, 'GET', '/v1/sessions?status=open&agent_type=claude-code', { token: dev });
    expect(listed.body.items.map((s: { id: string }) => s.id)).toContain(session.id);

    // Audit rows carry the session: from the body (job.create), the header (sandbox.create), the open.
    const rows = await auditRows(session.id);
    expect(rows.map((r) => r.action)).toEqual(expect.arrayContaining(['session.open', 'job.create', 'sandbox.create']));
    const filtered = await api(t.app, 'GET', `/v1/audit?session_id=${session.id}`, { token: a.tokens.admin.token });
    expect(filtered.body.items.map((e: { action: string }) => e.action).sort()).toEqual(rows.map((r) => r.action).sort());
  });

  it('answers 404 for another workspace’s session, on create (body or header) and on view and end', async () => {
    const session = await openSession();
    const other = b.tokens.developer.token;
    expectError(await api(t.app, 'POST', '/v1/jobs', { token: other, body: { image: 'orcaops/busybox', command: 'true', session_id: session.id } }), 404, 'not_found');
    expectError(await api(t.app, 'POST', '/v1/sandboxes', { token: other, body: { image: 'orcaops/busybox' }, headers: { [SESSION_HEADER]: session.id } }), 404, 'not_found');
    expectError(await api(t.app, 'GET', `/v1/sessions/${session.id}`, { token: other }), 404, 'not_found');
    expectError(await api(t.app, 'POST', `/v1/sessions/${session.id}/end`, { token: other, body: {} }), 404, 'not_found');
    const listed = await api(t.app, 'GET', '/v1/sessions', { token: other });
    expect(listed.body.items.map((s: { id: string }) => s.id)).not.toContain(session.id);
    // Keyset pages of one walk every session of the workspace exactly once, newest first.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await api(t.app, 'GET', `/v1/sessions?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token: dev });
      seen.push(...page.body.items.map((s: { id: string }) => s.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    const all = await api(t.app, 'GET', '/v1/sessions?limit=200', { token: dev });
    expect(seen).toEqual(all.body.items.map((s: { id: string }) => s.id));
    expect(seen[0]).toBe(session.id);
    // Nothing was created in either workspace, and the session was not touched by the other tenant.
    const [count] = await sql<{ n: string }>(t.databaseUrl, 'SELECT COUNT(*) AS n FROM jobs WHERE session_id = $1', [session.id]);
    expect(count?.n).toBe('0');
    expect(await sql(t.databaseUrl, "SELECT 1 FROM sandboxes WHERE workspace_id = $1", [b.id])).toHaveLength(0);
  });

  it('ending with cleanup removes its sandbox containers and cancels its jobs; new work in it is refused', async () => {
    const session = await openSession();
    const sandbox = await createSandbox({ session_id: session.id });
    const job = await submit({ session_id: session.id, command: 'sleep 60' });
    await waitRunning(job.id);
    expect(await sandboxContainers(sandbox.id)).toHaveLength(1);

    const ended = await api(t.app, 'POST', `/v1/sessions/${session.id}/end`, { token: dev, body: { cleanup: true } });
    expect(ended.status).toBe(200);
    expect(ended.body).toMatchObject({ status: 'ended', end_reason: 'ended', cleanup: { sandboxes_stopped: 1, jobs_cancelled: 1 } });
    expect(ended.body.sandboxes).toEqual([expect.objectContaining({ id: sandbox.id, status: 'expired', exit_reason: 'session_ended' })]);
    expect(await sandboxContainers(sandbox.id)).toHaveLength(0);
    expect(await waitDone(job.id)).toMatchObject({ status: 'cancelled' });

    expectError(await api(t.app, 'POST', '/v1/jobs', { token: dev, body: { image: 'orcaops/busybox', command: 'true', session_id: session.id } }), 409, 'conflict');
    expectError(await api(t.app, 'POST', '/v1/sandboxes', { token: dev, body: { image: 'orcaops/busybox' }, headers: { [SESSION_HEADER]: session.id } }), 409, 'conflict');

    const rows = await auditRows(session.id);
    expect(rows.map((r) => r.action)).toEqual(expect.arrayContaining(['session.end', 'sandbox.delete', 'job.cancel']));
    expect(rows.filter((r) => r.action === 'job.cancel').map((r) => r.resource_id)).toEqual([job.id]);
    expect(rows.find((r) => r.action === 'sandbox.delete')?.resource_id).toBe(sandbox.id);
  });

  it('cleanup acts with the caller’s rights: a ci token may not stop sandboxes (403, audited, session stays open)', async () => {
    const session = await openSession();
    const sandbox = await createSandbox({ session_id: session.id });
    const ci = a.tokens.ci.token;
    expectError(await api(t.app, 'POST', `/v1/sessions/${session.id}/end`, { token: ci, body: { cleanup: true } }), 403, 'forbidden');
    expect((await api(t.app, 'GET', `/v1/sessions/${session.id}`, { token: ci })).body.status).toBe('open');
    expect(await sandboxContainers(sandbox.id)).toHaveLength(1);
    const denied = await sql(t.databaseUrl, "SELECT details FROM audit_events WHERE action = 'auth.forbidden' AND session_id = $1", [session.id]);
    expect(denied).toEqual([{ details: { required: 'sandbox:delete', cleanup: true } }]);
    // Without cleanup a ci token may end it; the sandbox lives on until its own TTL or a delete.
    expect((await api(t.app, 'POST', `/v1/sessions/${session.id}/end`, { token: ci, body: {} })).body).toMatchObject({ status: 'ended' });
    expect(await sandboxContainers(sandbox.id)).toHaveLength(1);
    expect((await api(t.app, 'DELETE', `/v1/sandboxes/${sandbox.id}`, { token: dev })).status).toBe(200);
  });

  it('expires an idle session and cleans up its sandbox; a touched or busy session stays open', async () => {
    const idle = await openSession({ idle_timeout_seconds: 60 });
    const sandbox = await createSandbox({ session_id: idle.id });
    const touched = await openSession({ idle_timeout_seconds: 60 });
    const busy = await openSession({ idle_timeout_seconds: 60 });
    const busyJob = await submit({ session_id: busy.id, command: 'sleep 60' });
    await waitRunning(busyJob.id);

    const reaper = t.app.get(SessionReaperService);
    expect(await reaper.tick()).toEqual([]);
    // Ten minutes pass for all three (the clock is the rows' last activity, moved back).
    await sql(t.databaseUrl, "UPDATE agent_sessions SET last_activity_at = now() - interval '10 minutes' WHERE id = ANY($1)", [[idle.id, touched.id, busy.id]]);
    // A request carrying the header touches the session: its idle clock starts again.
    const read = await api(t.app, 'GET', '/v1/jobs?limit=1', { token: dev, headers: { [SESSION_HEADER]: touched.id } });
    expect(read.status).toBe(200);

    expect(await reaper.tick()).toEqual([idle.id]);

    const view = await api(t.app, 'GET', `/v1/sessions/${idle.id}`, { token: dev });
    expect(view.body).toMatchObject({ status: 'ended', end_reason: 'idle' });
    expect(view.body.sandboxes).toEqual([expect.objectContaining({ id: sandbox.id, status: 'expired', exit_reason: 'session_ended' })]);
    expect(await sandboxContainers(sandbox.id)).toHaveLength(0);
    const rows = await auditRows(idle.id);
    expect(rows).toEqual(expect.arrayContaining([
      expect.objectContaining({ action: 'session.expire', actor_type: 'system' }),
      expect.objectContaining({ action: 'sandbox.expire', actor_type: 'system', resource_id: sandbox.id }),
    ]));
    for (const id of [touched.id, busy.id]) expect((await api(t.app, 'GET', `/v1/sessions/${id}`, { token: dev })).body.status).toBe('open');
    await api(t.app, 'POST', `/v1/jobs/${busyJob.id}/cancel`, { token: dev });
    // An unknown session in the header is a 404 before the handler runs.
    expectError(await api(t.app, 'GET', '/v1/jobs', { token: dev, headers: { [SESSION_HEADER]: '00000000-0000-4000-8000-000000000000' } }), 404, 'not_found');
  });

  it('exports the audit trail as JSON lines that match the list, with the same filters', async () => {
    const session = await openSession();
    await submit({ session_id: session.id, command: 'true' });
    await createSandbox({ session_id: session.id });
    const admin = a.tokens.admin.token;
    const list = await api(t.app, 'GET', `/v1/audit?session_id=${session.id}&limit=500`, { token: admin });
    const exported = await exportText(admin, `session_id=${session.id}`);
    expect(exported.status).toBe(200);
    expect(exported.type).toContain('application/x-ndjson');
    const text = exported.text;
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual(list.body.items);
    expect(lines.length).toBeGreaterThanOrEqual(3);

    // The whole workspace's trail streams across several keyset pages (page size 500) and matches the list.
    await sql(
      t.databaseUrl,
      `INSERT INTO audit_events (id, occurred_at, workspace_id, actor_type, actor_id, action, outcome, details)
       SELECT gen_random_uuid(), now() - (g * interval '1 millisecond'), $1, 'system', 'system', 'test.bulk', 'success', '{}'::jsonb
         FROM generate_series(1, 1200) g`,
      [a.id],
    );
    const all = await exportText(admin, 'action=test.*');
    const bulk = all.text.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(bulk).toHaveLength(1200);
    expect(new Set(bulk.map((e: { id: string }) => e.id)).size).toBe(1200);
    const firstPage = await api(t.app, 'GET', '/v1/audit?action=test.*&limit=500', { token: admin });
    expect(bulk.slice(0, 500)).toEqual(firstPage.body.items);
    // Another workspace sees none of it; a developer token lacks audit:read.
    expect((await exportText(b.tokens.admin.token, 'action=test.*')).text).toBe('');
    expectError(await api(t.app, 'GET', '/v1/audit/export', { token: dev }), 403, 'forbidden');
  });

  it('CLI: sessions open|get|list|end, run and sandbox create with --session or ORCAOPS_SESSION, audit list|export', async () => {
    const opened = await runCli(['--json', 'sessions', 'open', '--agent-type', 'ci', '--name', 'pipeline', '--meta', 'build=42'], cliEnv);
    expect(opened.exitCode).toBe(0);
    const session = JSON.parse(opened.stdout);
    expect(session).toMatchObject({ agent_type: 'ci', name: 'pipeline', metadata: { build: '42' }, status: 'open' });

    const run = await runCli(['--json', 'run', '--session', session.id, 'orcaops/busybox', '--', 'echo', 'hi'], cliEnv);
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'succeeded', session_id: session.id });
    const viaEnv = await runCli(['--json', 'run', '-d', 'orcaops/busybox', '--', 'sleep', '60'], { ...cliEnv, ORCAOPS_SESSION: session.id });
    const envJob = JSON.parse(viaEnv.stdout);
    expect(envJob.session_id).toBe(session.id);
    const sbx = await runCli(['--json', 'sandbox', 'create', 'orcaops/busybox', '--session', session.id], cliEnv);
    expect(sbx.exitCode).toBe(0);
    const sandbox = JSON.parse(sbx.stdout);

    const got = await runCli(['--json', 'sessions', 'get', session.id], cliEnv);
    expect(JSON.parse(got.stdout).spend).toMatchObject({ job_count: 2, sandbox_count: 1 });
    const human = await runCli(['sessions', 'get', session.id], cliEnv);
    expect(human.stdout).toContain('spend');
    expect(human.stdout).toContain(sandbox.id);
    const listed = await runCli(['sessions', 'list', '--agent-type', 'ci'], cliEnv);
    expect(listed.stdout).toContain(session.id);
    const jobsInSession = await runCli(['--json', 'jobs', 'list', '--session', session.id], cliEnv);
    expect(JSON.parse(jobsInSession.stdout).items.map((j: { id: string }) => j.id)).toContain(envJob.id);
    const sandboxesInSession = await runCli(['--json', 'sandbox', 'list', '--session', session.id], cliEnv);
    expect(JSON.parse(sandboxesInSession.stdout).items.map((s: { id: string }) => s.id)).toEqual([sandbox.id]);

    const ended = await runCli(['--json', 'sessions', 'end', session.id, '--cleanup'], cliEnv);
    expect(ended.exitCode).toBe(0);
    expect(JSON.parse(ended.stdout)).toMatchObject({ status: 'ended', cleanup: { sandboxes_stopped: 1, jobs_cancelled: 1 } });
    expect(await sandboxContainers(sandbox.id)).toHaveLength(0);
    const refused = await runCli(['--json', 'run', '-d', '--session', session.id, 'orcaops/busybox', '--', 'true'], cliEnv);
    expect(JSON.parse(refused.stdout).error.code).toBe('conflict');
    expect(refused.exitCode).not.toBe(0);

    const adminEnv = { ...cliEnv, ORCAOPS_TOKEN: a.tokens.admin.token };
    const auditList = await runCli(['--json', 'audit', 'list', '--session', session.id, '--limit', '500'], adminEnv);
    const items = JSON.parse(auditList.stdout).items as Array<{ action: string; session_id: string }>;
    expect(items.map((e) => e.action)).toEqual(expect.arrayContaining(['session.open', 'job.create', 'sandbox.create', 'session.end', 'job.cancel', 'sandbox.delete']));
    expect(items.every((e) => e.session_id === session.id)).toBe(true);
    const file = join(dir, 'audit.jsonl');
    const exported = await runCli(['--json', 'audit', 'export', '--session', session.id, '--output', file], adminEnv);
    expect(JSON.parse(exported.stdout)).toEqual({ output: file, events: items.length });
    expect(readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual(items);
    const toStdout = await runCli(['audit', 'export', '--session', session.id, '--action', 'session.*'], adminEnv);
    expect(toStdout.stdout.trimEnd().split('\n').map((l) => JSON.parse(l).action).sort()).toEqual(['session.end', 'session.open']);
    const denied = await runCli(['--json', 'audit', 'export'], cliEnv);
    expect(JSON.parse(denied.stdout).error.code).toBe('forbidden');
  });
});
