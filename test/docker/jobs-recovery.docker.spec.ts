import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { encodingsOf } from 'src/common/masking/secret-masker';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { JobReconcilerService } from 'src/jobs/job-reconciler.service';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { createTestDatabase } from '../support/database';
import { docker, jobContainers, removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import { startServerProcess } from '../support/server-process';
import { sql } from '../support/sql';
import { EngineProxy } from '../support/socket-proxy';
import { seedWorkspace } from '../support/tenants';
import { freePort } from '../support/ports';


async function http(url: string, method: string, token: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function waitForText(url: string, token: string, needle: string): Promise<void> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } });
  const reader = response.body!.getReader();
  let text = '';
  while (!text.includes(needle)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before "${needle}"`);
    text += Buffer.from(value).toString('utf8');
  }
  await reader.cancel();
}

describe('crash safety', () => {
  it('marks a job whose steps run as execs interrupted after the server is SIGKILLed, and removes its container on restart', async () => {
    const db = await createTestDatabase();
    const home = mkdtempSync(join(tmpdir(), 'orcaops-crash-'));
    const env = { DATABASE_URL: db.url, ORCAOPS_HOME: home, ORCAOPS_ADMIN_TOKEN: TEST_ADMIN_TOKEN, ORCAOPS_ENV: 'test', ORCAOPS_LOG_LEVEL: 'log' };
    let server = await startServerProcess(env, await freePort());
    try {
      const ws = await http(`${server.url}/v1/workspaces`, 'POST', TEST_ADMIN_TOKEN, { name: 'crash' });
      const token = await http(`${server.url}/v1/workspaces/${ws.body.id}/tokens`, 'POST', TEST_ADMIN_TOKEN, { name: 'dev', role: 'developer' });
      const dev = token.body.token as string;
      // Two steps run as execs in a keep-alive container: their processes cannot be re-attached (a job whose
      // one step is the container's main process can, below).
      const job = await http(`${server.url}/v1/jobs`, 'POST', dev, { image: 'orcaops/busybox', steps: [{ command: 'echo started; sleep 300' }, { command: 'true' }] });
      expect(job.status).toBe(201);
      await waitForText(`${server.url}/v1/jobs/${job.body.id}/logs`, dev, 'started');
      await server.kill('SIGKILL');
      expect(await jobContainers(db.url, job.body.id)).toHaveLength(1);

      server = await startServerProcess(env, await freePort());
      const after = await http(`${server.url}/v1/jobs/${job.body.id}`, 'GET', dev);
      expect(after.body).toMatchObject({ status: 'failed', reason: 'interrupted' });
      expect(await jobContainers(db.url, job.body.id)).toEqual([]);
      const events = await sql(db.url, "SELECT actor_type, outcome FROM audit_events WHERE action = 'job.interrupt' AND resource_id = $1", [job.body.id]);
      expect(events).toEqual([{ actor_type: 'system', outcome: 'failure' }]);
    } finally {
      await server.kill('SIGTERM');
      await removeInstallationContainers(db.url);
      await db.drop();
      rmSync(home, { recursive: true, force: true });
    }
  });
});

/** Waits until the container's own output (the engine's log, whatever any server saw) contains `needle`. */
async function waitForContainerText(containerId: string, needle: string): Promise<void> {
  const stream = (await docker.getContainer(containerId).logs({ follow: true, stdout: true, stderr: true })) as NodeJS.ReadableStream & { destroy(): void };
  let text = '';
  try {
    for await (const chunk of stream) {
      text += Buffer.from(chunk as Buffer).toString('utf8');
      if (text.includes(needle)) return;
    }
    throw new Error(`container output ended before "${needle}": ${text}`);
  } finally {
    stream.destroy();
  }
}

/** Creates a file in the job's container (its /tmp tmpfs): the job script below waits for these. */
async function touch(containerId: string, file: string): Promise<void> {
  const exec = await docker.getContainer(containerId).exec({ Cmd: ['touch', `/tmp/${file}`], User: '65534:65534' });
  const stream = await exec.start({});
  stream.resume();
  await once(stream, 'end');
}

// Issue 13 part 6: a long job whose one step is its container's main process is re-attached by the next
// server, not interrupted, and its log is complete: output written while no server ran is read back from
// the engine, output already stored is not repeated.
describe.each(['SIGTERM', 'SIGKILL'] as const)('a long job across a server restart (%s)', (signal) => {
  it('keeps running, is re-attached and finishes succeeded with its full log', async () => {
    const db = await createTestDatabase();
    const home = mkdtempSync(join(tmpdir(), 'orcaops-reattach-'));
    const env = { DATABASE_URL: db.url, ORCAOPS_HOME: home, ORCAOPS_ADMIN_TOKEN: TEST_ADMIN_TOKEN, ORCAOPS_ENV: 'test', ORCAOPS_LOG_LEVEL: 'log' };
    let server = await startServerProcess(env, await freePort());
    try {
      expect((await http(`${server.url}/v1/policies/organisation`, 'PUT', TEST_ADMIN_TOKEN, { resources: { max_timeout_seconds: 7200 } })).status).toBe(200);
      const ws = await http(`${server.url}/v1/workspaces`, 'POST', TEST_ADMIN_TOKEN, { name: 'reattach' });
      const token = await http(`${server.url}/v1/workspaces/${ws.body.id}/tokens`, 'POST', TEST_ADMIN_TOKEN, { name: 'dev', role: 'developer' });
      const dev = token.body.token as string;
      const script = 'echo before; until [ -e /tmp/go1 ]; do sleep 0.1; done; echo during >&2; until [ -e /tmp/go2 ]; do sleep 0.1; done; echo after';
      const job = await http(`${server.url}/v1/jobs`, 'POST', dev, { image: 'orcaops/busybox', command: script, timeout_seconds: 7200 });
      expect(job.status).toBe(201);
      await waitForText(`${server.url}/v1/jobs/${job.body.id}/logs`, dev, 'before');
      const [container] = await jobContainers(db.url, job.body.id);
      await server.kill(signal);

      // No server runs: the job's process goes on and writes to its container's log.
      expect((await docker.getContainer(container!.Id).inspect()).State.Running).toBe(true);
      await touch(container!.Id, 'go1');
      await waitForContainerText(container!.Id, 'during');

      server = await startServerProcess(env, await freePort());
      const running = await http(`${server.url}/v1/jobs/${job.body.id}`, 'GET', dev);
      expect(running.body).toMatchObject({ status: 'running' });
      await touch(container!.Id, 'go2');
      const done = await http(`${server.url}/v1/jobs/${job.body.id}/wait?timeout_seconds=120`, 'GET', dev);
      expect(done.body).toMatchObject({ status: 'succeeded', reason: 'completed', exit_code: 0, timeout_seconds: 7200 });
      const logs = await http(`${server.url}/v1/jobs/${job.body.id}/logs?after=0&limit=1000`, 'GET', dev);
      const output = (logs.body.items as Array<{ stream: string; data: string }>).filter((c) => c.stream !== 'system');
      expect(output.filter((c) => c.stream === 'stdout').map((c) => c.data).join('')).toBe('before\nafter\n');
      expect(output.filter((c) => c.stream === 'stderr').map((c) => c.data).join('')).toBe('during\n');
      const seqs = (logs.body.items as Array<{ seq: number }>).map((c) => c.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      // The same container all along (never re-run), removed at the end like any finished job's.
      expect(await jobContainers(db.url, job.body.id)).toEqual([]);
      const events = await sql(db.url, "SELECT action, actor_type FROM audit_events WHERE action IN ('job.reattach', 'job.interrupt') AND resource_id = $1", [job.body.id]);
      expect(events).toEqual([{ action: 'job.reattach', actor_type: 'system' }]);
    } finally {
      await server.kill('SIGTERM');
      await removeInstallationContainers(db.url);
      await db.drop();
      rmSync(home, { recursive: true, force: true });
    }
    // Two server starts on a machine shared with other test runs.
  }, 300_000);
});

// Issue 13 part 5: a re-attached job's output stays masked. The engine replays the container's log from
// its start; the stored part is masked (shorter than the raw bytes), so the new server must skip it by
// its masked length and mask the rest with the job's secrets, re-opened.
describe('a job with a secret across a server restart', () => {
  it('re-attaches with its secrets masked: no value, part of one or encoding in the log or the summary', async () => {
    const db = await createTestDatabase();
    const home = mkdtempSync(join(tmpdir(), 'orcaops-reattach-secret-'));
    const env = { DATABASE_URL: db.url, ORCAOPS_HOME: home, ORCAOPS_ADMIN_TOKEN: TEST_ADMIN_TOKEN, ORCAOPS_ENV: 'test', ORCAOPS_LOG_LEVEL: 'log' };
    const value = `tok/${randomUUID()}+"q" &x=1`;
    let server = await startServerProcess(env, await freePort());
    try {
      const ws = await http(`${server.url}/v1/workspaces`, 'POST', TEST_ADMIN_TOKEN, { name: 'reattach-secret' });
      const admin = await http(`${server.url}/v1/workspaces/${ws.body.id}/tokens`, 'POST', TEST_ADMIN_TOKEN, { name: 'admin', role: 'admin' });
      expect((await http(`${server.url}/v1/secrets/DEPLOY_TOKEN`, 'PUT', admin.body.token, { value })).status).toBe(200);
      const script =
        'echo "before=$TOKEN"; until [ -e /tmp/go1 ]; do sleep 0.1; done; echo "during=$TOKEN" >&2; until [ -e /tmp/go2 ]; do sleep 0.1; done; echo "after=$TOKEN"; exit 3';
      const job = await http(`${server.url}/v1/jobs`, 'POST', admin.body.token, { image: 'orcaops/busybox', command: script, secrets: { TOKEN: 'DEPLOY_TOKEN' } });
      expect(job.status).toBe(201);
      await waitForText(`${server.url}/v1/jobs/${job.body.id}/logs`, admin.body.token, 'before=***');
      const [container] = await jobContainers(db.url, job.body.id);
      await server.kill('SIGKILL');
      await touch(container!.Id, 'go1');
      await waitForContainerText(container!.Id, 'during=');

      server = await startServerProcess(env, await freePort());
      await touch(container!.Id, 'go2');
      const done = await http(`${server.url}/v1/jobs/${job.body.id}/wait?timeout_seconds=120`, 'GET', admin.body.token);
      expect(done.body).toMatchObject({ status: 'failed', exit_code: 3 });
      const logs = await http(`${server.url}/v1/jobs/${job.body.id}/logs?after=0&limit=1000`, 'GET', admin.body.token);
      const output = (logs.body.items as Array<{ stream: string; data: string }>).filter((c) => c.stream !== 'system');
      expect(output.filter((c) => c.stream === 'stdout').map((c) => c.data).join('')).toBe('before=***\nafter=***\n');
      expect(output.filter((c) => c.stream === 'stderr').map((c) => c.data).join('')).toBe('during=***\n');
      const summary = await http(`${server.url}/v1/jobs/${job.body.id}/summary`, 'GET', admin.body.token);
      expect(summary.status).toBe(200);
      const chunks = await sql<{ data: string }>(db.url, "SELECT convert_from(data, 'UTF8') AS data FROM job_log_chunks");
      const summaries = await sql<{ row: string }>(db.url, 'SELECT row_to_json(s)::text AS row FROM job_summaries s');
      const haystacks = [JSON.stringify(logs.body), JSON.stringify(summary.body), ...chunks.map((c) => c.data), ...summaries.map((r) => r.row)];
      // Any 8 characters of the value: a cut in the middle of a masked value would leave its tail.
      for (const form of [...encodingsOf(value), value.slice(-8), value.slice(4, 12)]) expect(haystacks.filter((h) => h.includes(form))).toEqual([]);
    } finally {
      await server.kill('SIGTERM');
      await removeInstallationContainers(db.url);
      await db.drop();
      rmSync(home, { recursive: true, force: true });
    }
  }, 300_000);
});

describe('Docker engine outage', () => {
  it('answers 503 engine_unavailable while the engine is down, fails running jobs, and recovers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orcaops-proxy-'));
    const proxy = new EngineProxy(join(dir, 'docker.sock'));
    await proxy.up();
    const t = await createTestApp({ ORCAOPS_DOCKER_SOCKET: proxy.path });
    try {
      const ws = await seedWorkspace(t.app, 'outage');
      const dev = ws.tokens.developer.token;
      const running = await api(t.app, 'POST', '/v1/jobs', { token: dev, body: { image: 'orcaops/busybox', command: 'echo up; sleep 60' } });
      expect(running.status).toBe(201);
      await t.app.listen(0, '127.0.0.1');
      const url = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
      await waitForText(`${url}/v1/jobs/${running.body.id}/logs`, dev, 'up');

      await proxy.down();
      const failed = await api(t.app, 'GET', `/v1/jobs/${running.body.id}/wait?timeout_seconds=30`, { token: dev });
      expect(failed.body).toMatchObject({ status: 'failed', reason: 'engine_unavailable' });
      const refused = await api(t.app, 'POST', '/v1/jobs', { token: dev, body: { image: 'orcaops/busybox', command: 'true' } });
      expect(refused.status).toBe(503);
      expect(refused.body.error.code).toBe('engine_unavailable');
      expect(refused.headers['retry-after']).toBeDefined();
      expect((await api(t.app, 'GET', '/ready')).status).toBe(503);
      expect((await api(t.app, 'GET', '/v1/jobs', { token: dev })).status).toBe(200);

      await proxy.up();
      let accepted = await api(t.app, 'POST', '/v1/jobs', { token: dev, body: { image: 'orcaops/busybox', command: 'echo back' } });
      for (let i = 0; accepted.status === 503 && i < 30; i++) {
        await new Promise((r) => setTimeout(r, 200)); // the engine check caches its answer for 2 s
        accepted = await api(t.app, 'POST', '/v1/jobs', { token: dev, body: { image: 'orcaops/busybox', command: 'echo back' } });
      }
      expect(accepted.status).toBe(201);
      const done = await api(t.app, 'GET', `/v1/jobs/${accepted.body.id}/wait?timeout_seconds=60`, { token: dev });
      expect(done.body.status).toBe('succeeded');
      await t.app.get(JobReconcilerService).reconcile(false);
      expect(await jobContainers(t.databaseUrl, running.body.id)).toEqual([]);
    } finally {
      await proxy.up().catch(() => undefined);
      await removeInstallationContainers(t.databaseUrl);
      await t.close();
      await proxy.down();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
