import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_ADMIN_TOKEN } from '../support/app';
import { createTestDatabase } from '../support/database';
import { installationContainers, removeInstallationContainers } from '../support/docker';
import { freePort } from '../support/ports';
import { serverRequest } from '../support/server-http';
import { startServerProcess, type ServerProcess } from '../support/server-process';
import { sql } from '../support/sql';

jest.setTimeout(240_000);

const http = serverRequest;

interface JobRow extends Record<string, unknown> {
  id: string;
  status: string;
  reason: string | null;
  container_state: string;
}

// The server SIGKILLs itself at a named point of the job path (ORCAOPS_TEST_CRASH_AT); the next server
// on the same database must leave no job stuck, no container behind and no record lost.
describe('fault suite: the server is SIGKILLed at each job state transition', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let home: string;
  let dev: string;
  const env = (): Record<string, string> => ({ DATABASE_URL: db.url, ORCAOPS_HOME: home, ORCAOPS_ADMIN_TOKEN: TEST_ADMIN_TOKEN, ORCAOPS_ENV: 'test', ORCAOPS_LOG_LEVEL: 'log' });

  beforeAll(async () => {
    db = await createTestDatabase();
    home = mkdtempSync(join(tmpdir(), 'orcaops-crash-points-'));
    const server = await startServerProcess(env(), await freePort());
    try {
      const ws = await http(`${server.url}/v1/workspaces`, 'POST', TEST_ADMIN_TOKEN, { name: 'crash-points' });
      dev = (await http(`${server.url}/v1/workspaces/${ws.body.id}/tokens`, 'POST', TEST_ADMIN_TOKEN, { name: 'dev', role: 'developer' })).body.token;
    } finally {
      await server.kill('SIGTERM');
    }
  });

  afterAll(async () => {
    if (db) {
      await removeInstallationContainers(db.url);
      await db.drop();
    }
    if (home) rmSync(home, { recursive: true, force: true });
  });

  /** Submits a job to a server set to crash at `point`, waits for the crash, and returns the job's row. */
  async function crashAt(point: string, job: Record<string, unknown>): Promise<JobRow> {
    const server = await startServerProcess({ ...env(), ORCAOPS_TEST_CRASH_AT: point }, await freePort());
    const exited = once(server.child, 'exit');
    const tag = `crash-${point}`;
    await http(`${server.url}/v1/jobs`, 'POST', dev, { ...job, tags: [tag] }).catch(() => undefined);
    await exited;
    expect(server.child.signalCode).toBe('SIGKILL');
    const rows = await sql<JobRow>(db.url, 'SELECT id, status, reason, container_state FROM jobs WHERE $1 = ANY(tags)', [tag]);
    expect(rows).toHaveLength(1);
    return rows[0]!;
  }

  async function restartAndSettle(jobId: string): Promise<{ job: any; server: ServerProcess }> {
    const server = await startServerProcess(env(), await freePort());
    const settled = await http(`${server.url}/v1/jobs/${jobId}/wait?timeout_seconds=60`, 'GET', dev);
    return { job: settled.body, server };
  }

  it.each([
    ['job_claimed', 'running', { status: 'failed', reason: 'interrupted' }],
    // The one step is the container's main process: the next server re-attaches to it (issue 13), so it ends as it would have.
    ['job_container_started', 'running', { status: 'succeeded', exit_code: 0 }],
    ['job_terminal_committed', 'succeeded', { status: 'succeeded' }],
  ])('crash at %s: the row says %s, and the next server settles it as %o with no container left', async (point, stateAtCrash, expected) => {
    const row = await crashAt(point, { image: 'orcaops/busybox', command: 'echo hi' });
    expect(row.status).toBe(stateAtCrash);
    const { job, server } = await restartAndSettle(row.id);
    try {
      expect(job).toMatchObject(expected);
      expect((await installationContainers(db.url)).filter((c) => c.Labels['orcaops.job_id'] === row.id)).toEqual([]);
      const [after] = await sql<JobRow>(db.url, 'SELECT id, status, reason, container_state FROM jobs WHERE id = $1', [row.id]);
      expect(['removed', 'none']).toContain(after!.container_state);
    } finally {
      await server.kill('SIGTERM');
    }
  });

  it('crash with a job queued behind a busy slot: the running one is interrupted, the queued one runs after the restart', async () => {
    const server = await startServerProcess({ ...env(), ORCAOPS_MAX_CONCURRENT_JOBS: '1' }, await freePort());
    // Two steps run as execs: not re-attachable, so interrupted (a one-step job would be re-attached).
    const busy = await http(`${server.url}/v1/jobs`, 'POST', dev, { image: 'orcaops/busybox', steps: [{ command: 'sleep 300' }, { command: 'true' }] });
    const queued = await http(`${server.url}/v1/jobs`, 'POST', dev, { image: 'orcaops/busybox', command: 'echo later' });
    expect(queued.body.status).toBe('queued');
    await server.kill('SIGKILL');
    const next = await startServerProcess(env(), await freePort());
    try {
      const later = await http(`${next.url}/v1/jobs/${queued.body.id}/wait?timeout_seconds=60`, 'GET', dev);
      expect(later.body).toMatchObject({ status: 'succeeded' });
      const first = await http(`${next.url}/v1/jobs/${busy.body.id}/wait?timeout_seconds=60`, 'GET', dev);
      expect(first.body).toMatchObject({ status: 'failed', reason: 'interrupted' });
      expect((await installationContainers(db.url)).filter((c) => [busy.body.id, queued.body.id].includes(c.Labels['orcaops.job_id']))).toEqual([]);
    } finally {
      await next.kill('SIGTERM');
    }
  });
});
