import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docker } from '../support/docker';
import { EngineProxy } from '../support/socket-proxy';
import { startAbuseServer, type AbuseServer } from './support/abuse-server';

// A hung dockerd (accepts connections, answers nothing), simulated for the server under test only by a
// proxy in front of the real engine. Every engine call has a deadline: the API answers 503 fast with
// Retry-After, a running job ends failed: engine_unavailable, and once the engine answers again new work
// runs and the hung job's container is removed (no leak). docs/security.md, "Container output bounds".
jest.setTimeout(300_000);

const CALL_TIMEOUT_MS = 3_000;

describe('fault: the engine hangs', () => {
  let s: AbuseServer;
  let dir: string;
  let proxy: EngineProxy;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orcaops-hang-'));
    proxy = new EngineProxy(join(dir, 'docker.sock'));
    await proxy.up();
    s = await startAbuseServer({ ORCAOPS_DOCKER_SOCKET: proxy.path, ORCAOPS_ENGINE_CALL_TIMEOUT_MS: String(CALL_TIMEOUT_MS) });
  });
  afterAll(async () => {
    proxy?.resume();
    await s?.close();
    await proxy?.down();
    rmSync(dir, { recursive: true, force: true });
  });

  const token = (): string => s.abuser.developer;

  const submit = async (): Promise<{ status: number; ms: number; retryAfter: string | null; body: any }> => {
    const started = Date.now();
    const r = await s.request('POST', '/v1/jobs', { token: token(), body: { image: 'orcaops/busybox', command: 'echo hi', timeout_seconds: 60 } });
    return { status: r.status, ms: Date.now() - started, retryAfter: r.headers.get('retry-after'), body: r.body };
  };

  const job = async (id: string): Promise<any> => (await s.request('GET', `/v1/jobs/${id}`, { token: token() })).body;

  it('answers 503 fast, ends the running job engine_unavailable, recovers when the engine resumes, leaks no container', async () => {
    // Two steps: the steps run as execs in a keep-alive container (the path with the most engine calls).
    const created = await s.request('POST', '/v1/jobs', { token: token(), body: { image: 'orcaops/busybox', steps: [{ command: 'sleep 600' }, { command: 'true' }], timeout_seconds: 900 } });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    for (let i = 0; ; i++) {
      const row = await job(id);
      if (row.steps?.[0]?.status === 'running') break;
      if (i > 120) throw new Error(`job did not start: ${JSON.stringify(row)}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }

    const sandbox = await s.request('POST', '/v1/sandboxes', { token: token(), body: { image: 'orcaops/busybox', ttl_seconds: 600 } });
    expect(sandbox.status).toBe(201);

    proxy.hang();
    const { result } = await s.watch(async () => {
      // New work is refused with 503 + Retry-After once the cached health check sees the hang (≤ ~4 s).
      let refused: Awaited<ReturnType<typeof submit>> | undefined;
      const slowest: number[] = [];
      for (let i = 0; i < 40 && !refused; i++) {
        const attempt = await submit();
        slowest.push(attempt.ms);
        if (attempt.status === 503) refused = attempt;
        else await new Promise((resolve) => setTimeout(resolve, 500));
      }
      // An interaction with an existing sandbox is refused as fast (it would be an engine call).
      const execStarted = Date.now();
      const exec = await s.request('POST', `/v1/sandboxes/${sandbox.body.id}/exec`, { token: token(), body: { command: 'echo hi' } });
      const execMs = Date.now() - execStarted;
      // The job ends by itself: its engine calls time out, the runner gives up on the engine.
      let ended: any;
      for (let i = 0; i < 180; i++) {
        ended = await job(id);
        if (ended.status !== 'running' && ended.status !== 'queued') break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      return { refused, slowest: Math.max(...slowest), ended, exec: { status: exec.status, code: exec.body?.error?.code, ms: execMs } };
    });
    expect(result.refused).toMatchObject({ status: 503, retryAfter: expect.any(String) });
    expect(result.refused!.body.error.code).toBe('engine_unavailable');
    // No request waits on the hung engine for longer than one ping / call deadline.
    expect(result.slowest).toBeLessThan(CALL_TIMEOUT_MS + 3_000);
    expect(result.exec).toMatchObject({ status: 503, code: 'engine_unavailable' });
    expect(result.exec.ms).toBeLessThan(CALL_TIMEOUT_MS);
    expect(result.ended).toMatchObject({ status: 'failed', reason: 'engine_unavailable' });

    proxy.resume();
    // Recovery: a new job is accepted and runs once the health check sees the engine again.
    let accepted: Awaited<ReturnType<typeof submit>> | undefined;
    for (let i = 0; i < 40 && !accepted; i++) {
      const attempt = await submit();
      if (attempt.status === 201) accepted = attempt;
      else await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(accepted).toBeDefined();
    const done = await s.request('GET', `/v1/jobs/${accepted!.body.id}/wait?timeout_seconds=120`, { token: token() });
    expect(done.body.status).toBe('succeeded');

    // The hung job's container is removed by the reaper once the engine answers.
    let left: unknown[] = [];
    for (let i = 0; i < 90; i++) {
      left = await docker.listContainers({ all: true, filters: { label: [`orcaops.job_id=${id}`] } });
      if (left.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    expect(left).toEqual([]);
    expect((await s.request('DELETE', `/v1/sandboxes/${sandbox.body.id}`, { token: token() })).status).toBeLessThan(300);
  });
});
