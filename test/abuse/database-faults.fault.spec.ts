import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_ADMIN_TOKEN } from '../support/app';
import { createTestDatabase } from '../support/database';
import { jobContainers, removeInstallationContainers } from '../support/docker';
import { freePort } from '../support/ports';
import { serverRequest } from '../support/server-http';
import { startServerProcess, type ServerProcess } from '../support/server-process';
import { TcpProxy } from '../support/tcp-proxy';


const http = serverRequest;

async function until<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// The server reaches its database through a TCP proxy the test controls: cut() is an outage (or a
// managed-Postgres failover: every connection reset, new ones refused), restore() its end.
describe('fault suite: the database goes away and comes back', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let proxy: TcpProxy;
  let server: ServerProcess;
  let home: string;
  let dev: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    const target = new URL(db.url);
    proxy = new TcpProxy(target.hostname, Number(target.port));
    await proxy.start();
    const proxied = new URL(db.url);
    proxied.port = String(proxy.port);
    home = mkdtempSync(join(tmpdir(), 'orcaops-dbfault-'));
    server = await startServerProcess(
      {
        DATABASE_URL: proxied.toString(),
        ORCAOPS_HOME: home,
        ORCAOPS_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
        ORCAOPS_ENV: 'test',
        ORCAOPS_LOG_LEVEL: 'log',
        // One slot: a slot lost in the outage would leave the next job queued forever.
        ORCAOPS_MAX_CONCURRENT_JOBS: '1',
      },
      await freePort(),
    );
    const ws = await http(`${server.url}/v1/workspaces`, 'POST', TEST_ADMIN_TOKEN, { name: 'dbfault' });
    const token = await http(`${server.url}/v1/workspaces/${ws.body.id}/tokens`, 'POST', TEST_ADMIN_TOKEN, { name: 'dev', role: 'developer' });
    dev = token.body.token as string;
  });

  afterAll(async () => {
    proxy?.restore();
    await server?.kill('SIGTERM');
    await proxy?.stop();
    if (db) {
      await removeInstallationContainers(db.url);
      await db.drop();
    }
    if (home) rmSync(home, { recursive: true, force: true });
  });

  async function exited(jobId: string): Promise<boolean> {
    const containers = await jobContainers(db.url, jobId);
    return containers.length === 1 && containers[0]!.State === 'exited';
  }

  it('stays up (live, not ready), and a job that ends during the outage gets its terminal state, its output and its slot back', async () => {
    const job = await http(`${server.url}/v1/jobs`, 'POST', dev, { image: 'orcaops/busybox', command: 'echo before; sleep 2; echo during; exit 3', cleanup_policy: 'always_remove' });
    expect(job.status).toBe(201);
    await until(async () => (await jobContainers(db.url, job.body.id)).length === 1, 'the job container');

    proxy.cut();
    await until(() => exited(job.body.id), 'the job to end during the outage');
    const health = await http(`${server.url}/health`, 'GET', undefined);
    expect(health.status).toBe(200);
    const ready = await http(`${server.url}/ready`, 'GET', undefined);
    expect(ready.status).toBe(503);
    expect(ready.headers.get('retry-after')).toBe('5');
    const during = await http(`${server.url}/v1/jobs/${job.body.id}`, 'GET', dev);
    expect(during.status).toBe(503);
    expect(during.body.error.code).toBe('service_unavailable');
    expect(during.headers.get('retry-after')).toBe('5');
    expect(server.child.exitCode).toBeNull();

    proxy.restore();
    const done = await until(async () => {
      const r = await http(`${server.url}/v1/jobs/${job.body.id}/wait?timeout_seconds=5`, 'GET', dev).catch(() => undefined);
      return r?.status === 200 && r.body.status !== 'running' ? r : undefined;
    }, 'the job to settle after the outage');
    expect(done.body).toMatchObject({ status: 'failed', reason: 'step_failed', exit_code: 3 });
    const logs = await fetch(`${server.url}/v1/jobs/${job.body.id}/logs?format=text`, { headers: { authorization: `Bearer ${dev}` } }).then((r) => r.text());
    expect(logs).toContain('before');
    expect(logs).toContain('during');
    await until(async () => (await jobContainers(db.url, job.body.id)).length === 0, 'the container to be removed');

    // The one slot is free again: the next job runs.
    const next = await http(`${server.url}/v1/jobs`, 'POST', dev, { image: 'orcaops/busybox', command: 'echo next' });
    const finished = await http(`${server.url}/v1/jobs/${next.body.id}/wait?timeout_seconds=60`, 'GET', dev);
    expect(finished.body).toMatchObject({ status: 'succeeded' });
    expect((await http(`${server.url}/ready`, 'GET', undefined)).status).toBe(200);
  });

  it('cancels a job that kept running through the outage, once the database is back', async () => {
    const job = await http(`${server.url}/v1/jobs`, 'POST', dev, { image: 'orcaops/busybox', command: 'echo up; sleep 300' });
    expect(job.status).toBe(201);
    await until(async () => (await jobContainers(db.url, job.body.id))[0]?.State === 'running', 'the job container to run');
    proxy.cut();
    await until(async () => (await http(`${server.url}/ready`, 'GET', undefined)).status === 503, 'the server to report not ready');
    proxy.restore();
    await until(async () => (await http(`${server.url}/ready`, 'GET', undefined)).status === 200, 'the server to be ready again');
    const cancel = await http(`${server.url}/v1/jobs/${job.body.id}/cancel`, 'POST', dev);
    expect(cancel.status).toBeLessThan(300);
    const ended = await http(`${server.url}/v1/jobs/${job.body.id}/wait?timeout_seconds=60`, 'GET', dev);
    expect(ended.body).toMatchObject({ status: 'cancelled' });
    expect(await jobContainers(db.url, job.body.id)).toEqual([]);
  });

  it('finishes a workflow whose job ran through an outage (interrupted, then retried as infra): outputs flow, nothing leaks', async () => {
    const yaml = [
      'name: outage',
      'jobs:',
      '  first:',
      '    image: orcaops/busybox',
      // An outage interrupts the instance as a runner crash would; its infra retry runs it again.
      '    retry: {max: 1, when: [infra]}',
      '    outputs:',
      '      word: ${{ steps.w.outputs.word }}',
      '    steps:',
      '      - id: w',
      '        run: sleep 2; echo word=survived >> "$GITHUB_OUTPUT"',
      '  second:',
      '    needs: first',
      '    image: orcaops/busybox',
      '    steps:',
      '      - run: test "${{ needs.first.outputs.word }}" = survived',
    ].join('\n');
    const run = await http(`${server.url}/v1/workflows`, 'POST', dev, { yaml });
    expect(run.status).toBe(201);
    const labelled = async (): Promise<boolean> => {
      const { docker } = await import('../support/docker');
      return (await docker.listContainers({ filters: { label: [`orcaops.workflow_run=${run.body.id}`] } })).length > 0;
    };
    await until(labelled, "the first job's container");
    proxy.cut();
    // The outage outlasts the step (sleep 2): the step ends, and its bookkeeping waits for the database.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect((await http(`${server.url}/health`, 'GET', undefined)).status).toBe(200);
    proxy.restore();
    const finished = await until(async () => {
      const r = await http(`${server.url}/v1/workflows/${run.body.id}`, 'GET', dev).catch(() => undefined);
      return r?.status === 200 && r.body.status === 'completed' ? r : undefined;
    }, 'the run to complete after the outage', 90_000);
    // The whole record in the message when it fails: which instance, which attempt, why.
    const summary = finished.body.jobs.map((j: any) => ({ job: j.id, result: j.result, instances: j.instances.map((i: any) => ({ reason: i.reason, message: i.message, attempts: i.attempts })) }));
    if (finished.body.conclusion !== 'success') {
      // What the job printed and what the server logged: the record alone does not say why a step failed.
      const jobIds = finished.body.jobs.flatMap((j: any) => j.instances.flatMap((i: any) => i.attempts.map((a: any) => a.job_id)));
      const logs = await Promise.all(jobIds.map((id: string) => fetch(`${server.url}/v1/jobs/${id}/logs?format=text`, { headers: { authorization: `Bearer ${dev}` } }).then((r) => r.text())));
      throw new Error(`the run concluded ${finished.body.conclusion}: ${JSON.stringify(summary)}\njob logs:\n${logs.join('\n---\n')}\nserver log (tail):\n${server.output().slice(-4000)}`);
    }
    const first = finished.body.jobs[0].instances[0];
    expect(first.attempts.length).toBeLessThanOrEqual(2);
    const { workflowLeftovers } = await import('../support/workflows');
    await until(async () => {
      const left = await workflowLeftovers(run.body.id);
      return left.containers.length + left.networks.length + left.volumes.length === 0;
    }, 'no leftovers of the run');
  });
});
