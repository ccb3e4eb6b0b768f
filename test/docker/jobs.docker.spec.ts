import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { docker, jobContainers, removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

/** Jobs end to end on the real Docker engine and a real Postgres, through the REST API. */
describe('jobs on the real engine', () => {
  let t: TestApp;
  let a: SeededWorkspace;
  let b: SeededWorkspace;
  let dev: string;
  let baseUrl: string;

  beforeAll(async () => {
    t = await createTestApp({ ORCAOPS_JOB_OUTPUT_CAP_BYTES: String(1024 * 1024) });
    await t.app.listen(0, '127.0.0.1');
    baseUrl = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    a = await seedWorkspace(t.app, 'jobs-a');
    b = await seedWorkspace(t.app, 'jobs-b');
    dev = a.tokens.developer.token;
  });
  afterAll(async () => {
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
  });

  async function submit(body: Record<string, unknown>, token = dev): Promise<any> {
    const res = await api(t.app, 'POST', '/v1/jobs', { token, body });
    expect(res.status).toBe(201);
    return res.body;
  }

  async function waitFor(id: string, token = dev): Promise<any> {
    const res = await api(t.app, 'GET', `/v1/jobs/${id}/wait?timeout_seconds=120`, { token });
    expect(res.status).toBe(200);
    return res.body;
  }

  async function output(id: string): Promise<string> {
    const res = await api(t.app, 'GET', `/v1/jobs/${id}/logs?format=text&limit=5000`, { token: dev });
    return res.body as string;
  }

  it('runs steps in order, streams output to the record and collects artifacts by glob', async () => {
    const job = await submit({
      image: 'orcaops/busybox',
      steps: [
        { name: 'write', command: 'mkdir -p out && echo one > out/a.txt && echo two > out/b.txt && echo skip > c.log' },
        { name: 'report', command: 'echo to-stdout; echo to-stderr >&2; cat out/a.txt' },
      ],
      artifacts: ['out/*.txt', 'missing-*.bin'],
      tags: ['demo'],
    });
    const done = await waitFor(job.id);
    expect(done).toMatchObject({ status: 'succeeded', reason: 'completed', exit_code: 0 });
    expect(done.steps.map((s: any) => s.status)).toEqual(['succeeded', 'succeeded']);
    const text = await output(job.id);
    expect(text).toContain('to-stdout');
    expect(text).toContain('to-stderr');
    expect(text).toContain('no match: missing-*.bin');
    const arts = await api(t.app, 'GET', `/v1/jobs/${job.id}/artifacts`, { token: dev });
    expect(arts.body.items.map((x: any) => x.name)).toEqual(['out/a.txt', 'out/b.txt']);
    const file = await api(t.app, 'GET', `/v1/jobs/${job.id}/artifacts/${encodeURIComponent('out/a.txt')}`, { token: dev });
    expect(file.status).toBe(200);
    expect(file.body).toBe('one\n');
    expect(await jobContainers(t.databaseUrl, job.id)).toEqual([]);
  });

  it('stops at the first failing step and reports its exit code', async () => {
    const job = await submit({ image: 'orcaops/busybox', steps: [{ command: 'exit 3' }, { command: 'echo never' }] });
    const done = await waitFor(job.id);
    expect(done).toMatchObject({ status: 'failed', reason: 'step_failed', exit_code: 3 });
    expect(done.steps.map((s: any) => s.status)).toEqual(['failed', 'skipped']);
    expect(await output(job.id)).not.toContain('never');
  });

  it('kills a step at its timeout, process tree included, and removes the container', async () => {
    const started = Date.now();
    const job = await submit({
      image: 'orcaops/busybox',
      steps: [{ command: 'sleep 300 & sleep 300; wait', timeout_seconds: 2 }],
      cleanup_policy: 'always_remove',
    });
    const done = await waitFor(job.id);
    expect(done).toMatchObject({ status: 'timed_out', reason: 'timeout' });
    expect(Date.now() - started).toBeLessThan(2000 + 2000 + 1500);
    expect(await jobContainers(t.databaseUrl, job.id)).toEqual([]);
  });

  it('cancels a running job: the container is gone within 2 seconds', async () => {
    const job = await submit({ image: 'orcaops/busybox', command: 'echo started; sleep 300' });
    await waitForOutput(job.id, 'started');
    const asked = Date.now();
    const res = await api(t.app, 'POST', `/v1/jobs/${job.id}/cancel`, { token: dev });
    expect(res.status).toBe(200);
    const done = await waitFor(job.id);
    expect(done).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    expect(Date.now() - asked).toBeLessThan(2000);
    expect(await jobContainers(t.databaseUrl, job.id)).toEqual([]);
    const again = await api(t.app, 'POST', `/v1/jobs/${job.id}/cancel`, { token: dev });
    expect(again.status).toBe(409);
  });

  it('streams output over SSE while the job runs, resumable by Last-Event-ID', async () => {
    const url = baseUrl;
    const job = await submit({ image: 'orcaops/busybox', command: 'echo first; sleep 1; echo second' });
    const response = await fetch(`${url}/v1/jobs/${job.id}/logs`, {
      headers: { authorization: `Bearer ${dev}`, accept: 'text/event-stream' },
    });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    let text = '';
    let sawFirstWhileRunning = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
      if (!sawFirstWhileRunning && text.includes('first')) {
        const now = await api(t.app, 'GET', `/v1/jobs/${job.id}`, { token: dev });
        sawFirstWhileRunning = now.body.status === 'running';
      }
    }
    expect(sawFirstWhileRunning).toBe(true);
    expect(text).toContain('second');
    expect(text).toMatch(/event: end\ndata: \{"status":"succeeded"/);
    const firstId = Number(/id: (\d+)\nevent: output/.exec(text)![1]);
    const resumed = await fetch(`${url}/v1/jobs/${job.id}/logs`, {
      headers: { authorization: `Bearer ${dev}`, accept: 'text/event-stream', 'last-event-id': String(firstId) },
    });
    const rest = await resumed.text();
    expect(rest).not.toContain('"first');
    expect(rest).toContain('second');
  });

  it('contains a fork bomb with the pids limit; the job ends and the host is fine', async () => {
    const job = await submit({
      image: 'orcaops/busybox',
      command: 'i=0; while [ $i -lt 400 ]; do sleep 30 & i=$((i+1)); done; echo spawned',
      resources: { pids: 32 },
      timeout_seconds: 20,
    });
    const done = await waitFor(job.id);
    expect(['failed', 'succeeded', 'timed_out']).toContain(done.status);
    expect(await output(job.id)).toMatch(/can't fork|Resource temporarily unavailable|fork/i);
    const info = await docker.info();
    expect(info.ContainersRunning).toBeGreaterThanOrEqual(0);
  });

  it('reports a memory bomb as oom_killed', async () => {
    const job = await submit({
      image: 'orcaops/python',
      command: 'python3 -c "x = bytearray(512 * 1024 * 1024); print(len(x))"',
      resources: { memory_mb: 64 },
      timeout_seconds: 60,
    });
    const done = await waitFor(job.id);
    expect(done).toMatchObject({ status: 'failed', reason: 'oom_killed' });
  });

  it('caps endless output and flags it truncated', async () => {
    const job = await submit({ image: 'orcaops/busybox', command: 'yes orcaops-output-line', timeout_seconds: 4 });
    const done = await waitFor(job.id);
    expect(done.status).toBe('timed_out');
    expect(done.usage.output_truncated).toBe(true);
    expect(done.usage.output_bytes).toBeGreaterThan(1024 * 1024);
    const tail = await api(t.app, 'GET', `/v1/jobs/${job.id}/logs?tail=1`, { token: dev });
    expect(tail.body.truncated).toBe(true);
  });

  it('fails cleanly when /tmp is full (ENOSPC), and the root filesystem is read-only', async () => {
    const job = await submit({
      image: 'orcaops/busybox',
      steps: [{ command: 'touch /etc/x || echo root-is-readonly', continue_on_error: true }, { command: 'dd if=/dev/zero of=/tmp/fill bs=1M count=200' }],
    });
    const done = await waitFor(job.id);
    expect(done).toMatchObject({ status: 'failed', reason: 'step_failed' });
    const text = await output(job.id);
    expect(text).toContain('root-is-readonly');
    expect(text).toMatch(/No space left on device/);
  });

  it('refuses artifacts that are symlinks to host files or escape with ..', async () => {
    const job = await submit({
      image: 'orcaops/busybox',
      command: 'ln -s /etc/passwd leak && ln -s ../../../etc/shadow rel && echo ok > fine.txt',
      artifacts: ['leak', 'rel', 'fine.txt'],
    });
    const done = await waitFor(job.id);
    expect({ status: done.status, output: done.status === 'succeeded' ? '' : await output(job.id) }).toEqual({ status: 'succeeded', output: '' });
    const arts = await api(t.app, 'GET', `/v1/jobs/${job.id}/artifacts`, { token: dev });
    expect(arts.body.items.map((x: any) => x.name)).toEqual(['fine.txt']);
    expect(await output(job.id)).toMatch(/artifact refused: leak/);
    for (const pattern of ['../../etc/passwd', '/etc/passwd', 'out/../../x']) {
      const escaping = await api(t.app, 'POST', '/v1/jobs', { token: dev, body: { image: 'orcaops/busybox', command: 'true', artifacts: [pattern] } });
      expect(escaping.status).toBe(400);
      expect(escaping.body.error.details.fields[0].field).toBe('artifacts.0');
    }
  });

  it('has no network when network is none', async () => {
    const job = await submit({ image: 'orcaops/busybox', command: 'wget -T 2 -q -O- http://1.1.1.1/ || nc -w 2 127.0.0.1 8000 </dev/null' });
    const done = await waitFor(job.id);
    expect(done.status).toBe('failed');
  });

  it('refuses network egress where the workspace does not allow it', async () => {
    const res = await api(t.app, 'POST', '/v1/jobs', { token: dev, body: { image: 'orcaops/busybox', command: 'true', network: 'egress' } });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('policy_denied');
  });

  it('fails a job whose image does not exist with image_not_found', async () => {
    const job = await submit({ image: 'orcaops/does-not-exist:nope', command: 'true' });
    const done = await waitFor(job.id);
    expect(done).toMatchObject({ status: 'failed', reason: 'image_not_found' });
  });

  it('runs the container with the hardening profile', async () => {
    const job = await submit({ image: 'orcaops/busybox', command: 'echo ready; sleep 30', cleanup_policy: 'always_remove' });
    await waitForOutput(job.id, 'ready');
    const [container] = await jobContainers(t.databaseUrl, job.id);
    const inspect = await docker.getContainer(container!.Id).inspect();
    const host = inspect.HostConfig;
    expect(host.CapDrop).toEqual(['ALL']);
    expect(host.CapAdd ?? []).toEqual([]);
    expect(host.Privileged).toBe(false);
    expect(host.ReadonlyRootfs).toBe(true);
    expect(host.NetworkMode).toBe('none');
    expect(host.SecurityOpt).toContain('no-new-privileges:true');
    expect(host.PidsLimit).toBe(128);
    expect(host.Memory).toBe(512 * 1024 * 1024);
    expect(host.MemorySwap).toBe(512 * 1024 * 1024);
    expect(host.Init).toBe(true);
    expect(host.Binds ?? []).toEqual([]);
    expect(inspect.Config.User).toBe('65534:65534');
    await api(t.app, 'POST', `/v1/jobs/${job.id}/cancel`, { token: dev });
    await waitFor(job.id);
  });

  it('hides one tenant’s jobs from another: 404 exactly like a missing job', async () => {
    const job = await submit({ image: 'orcaops/busybox', command: 'true' });
    await waitFor(job.id);
    const other = b.tokens.developer.token;
    const missing = '00000000-0000-4000-8000-000000000000';
    for (const path of ['', '/logs', '/summary', '/artifacts', '/wait?timeout_seconds=1']) {
      const foreign = await api(t.app, 'GET', `/v1/jobs/${job.id}${path}`, { token: other });
      const absent = await api(t.app, 'GET', `/v1/jobs/${missing}${path}`, { token: other });
      expect(foreign.status).toBe(404);
      expect(absent.status).toBe(404);
      expect(foreign.body.error.code).toBe(absent.body.error.code);
    }
    expect((await api(t.app, 'POST', `/v1/jobs/${job.id}/cancel`, { token: other })).status).toBe(404);
    expect((await api(t.app, 'DELETE', `/v1/jobs/${job.id}`, { token: other })).status).toBe(404);
    const list = await api(t.app, 'GET', '/v1/jobs', { token: other });
    expect(list.body.items.map((j: any) => j.id)).not.toContain(job.id);
  });

  it('returns the same job for a retried submit with the same idempotency key', async () => {
    const body = { image: 'orcaops/busybox', command: 'echo once' };
    const first = await api(t.app, 'POST', '/v1/jobs', { token: dev, body, headers: { 'idempotency-key': 'retry-1' } });
    const second = await api(t.app, 'POST', '/v1/jobs', { token: dev, body, headers: { 'idempotency-key': 'retry-1' } });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    const different = await api(t.app, 'POST', '/v1/jobs', { token: dev, body: { ...body, command: 'echo twice' }, headers: { 'idempotency-key': 'retry-1' } });
    expect(different.status).toBe(409);
    await waitFor(first.body.id);
  });

  it('lets a viewer read but not run, and deletes finished jobs only', async () => {
    const viewer = a.tokens.viewer.token;
    expect((await api(t.app, 'POST', '/v1/jobs', { token: viewer, body: { image: 'orcaops/busybox', command: 'true' } })).status).toBe(403);
    const job = await submit({ image: 'orcaops/busybox', command: 'echo bye', artifacts: [] });
    await waitFor(job.id);
    expect((await api(t.app, 'GET', `/v1/jobs/${job.id}`, { token: viewer })).status).toBe(200);
    expect((await api(t.app, 'DELETE', `/v1/jobs/${job.id}`, { token: dev })).status).toBe(204);
    expect((await api(t.app, 'GET', `/v1/jobs/${job.id}`, { token: dev })).status).toBe(404);
  });

  async function waitForOutput(id: string, needle: string): Promise<void> {
    const response = await fetch(`${baseUrl}/v1/jobs/${id}/logs?follow=true`, { headers: { authorization: `Bearer ${dev}` } });
    const reader = response.body!.getReader();
    let text = '';
    while (!text.includes(needle)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended before "${needle}": ${text}`);
      text += Buffer.from(value).toString('utf8');
    }
    await reader.cancel();
  }
});
