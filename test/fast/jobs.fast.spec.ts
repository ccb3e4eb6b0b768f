import { DataSource } from 'typeorm';
import type { JobResponseDto } from 'src/jobs/dto/job-response.dto';
import { JobEvents } from 'src/jobs/job-events';
import { JobReconcilerService } from 'src/jobs/job-reconciler.service';
import { JobsService } from 'src/jobs/jobs.service';
import { PoliciesService } from 'src/policies/policies.service';
import { QuotasService } from 'src/quotas/quotas.service';
import type { FastWorkspace } from './support/fast-app';
import { errorCodeOf, FastApp } from './support/fast-app';

const sh = (command: string): string[] => ['/bin/sh', '-c', command];

/** Jobs through JobsService and the reconciler on a real Postgres with the fake engine and queue. */
describe('jobs (fast tier)', () => {
  let t: FastApp;
  let jobs: JobsService;
  let seq = 0;

  beforeAll(async () => {
    t = await FastApp.start();
    jobs = t.get(JobsService);
  });
  afterAll(() => t?.close());

  const workspace = (): Promise<FastWorkspace> => t.workspace(`jobs-${++seq}`);
  const jobContainers = (jobId: string): string[] =>
    [...t.fake.containers.values()].filter((c) => c.state.labels['orcaops.job_id'] === jobId).map((c) => c.id);
  /** Re-reads the job at each of its change signals (the runner's progress when it starts it) until it runs. */
  const untilRunning = async (ws: FastWorkspace, id: string): Promise<JobResponseDto> => {
    const changes = t.get(JobEvents).watch(id);
    try {
      const until = Date.now() + 15_000;
      let job = await jobs.get(ws.as.viewer, id);
      while (job.status !== 'running' && Date.now() < until) {
        await changes.next(1_000);
        job = await jobs.get(ws.as.viewer, id);
      }
      return job;
    } finally {
      changes.close();
    }
  };
  const audited = async (action: string, resourceId: string): Promise<number> => {
    const rows: Array<{ n: string }> = await t.get(DataSource).query('SELECT count(*) AS n FROM audit_events WHERE action = $1 AND resource_id = $2', [action, resourceId]);
    return Number(rows[0]?.n);
  };

  it('runs a job to success: output stored, exit code kept, container removed, creation audited', async () => {
    const ws = await workspace();
    t.fake.scriptMain(sh('echo hello'), { output: [['stdout', 'hello\n']], exitCode: 0 });
    const { job, replayed } = await jobs.submit(ws.as.developer, { image: 'orcaops/busybox', command: 'echo hello' });
    expect(replayed).toBe(false);
    expect(['queued', 'running']).toContain(job.status);
    const done = await jobs.wait(ws.as.developer, job.id, 30_000);
    expect(done).toMatchObject({ status: 'succeeded', reason: 'completed', exit_code: 0 });
    const logs = await jobs.readLogs(ws.as.viewer, job.id, {});
    expect(logs.items.map((c) => c.data).join('')).toBe('hello\n');
    expect(logs.complete).toBe(true);
    expect(jobContainers(job.id)).toEqual([]);
    expect(await audited('job.create', job.id)).toBe(1);
  });

  it('fails a job whose step exits non-zero, and stops at the first failing step', async () => {
    const ws = await workspace();
    t.fake.scriptMain(sh('exit 3'), { exitCode: 3 });
    const single = (await jobs.submit(ws.as.developer, { image: 'orcaops/busybox', command: 'exit 3' })).job;
    expect(await jobs.wait(ws.as.developer, single.id, 30_000)).toMatchObject({ status: 'failed', reason: 'step_failed', exit_code: 3 });

    t.fake.scriptExec(sh('second'), { output: [['stderr', 'boom\n']], exitCode: 2 });
    const multi = (await jobs.submit(ws.as.developer, { image: 'orcaops/busybox', steps: [{ command: 'first' }, { command: 'second' }, { command: 'third' }] })).job;
    const done = await jobs.wait(ws.as.developer, multi.id, 30_000);
    expect(done).toMatchObject({ status: 'failed', reason: 'step_failed' });
    expect(done.steps.map((s) => [s.status, s.exit_code])).toEqual([['succeeded', 0], ['failed', 2], ['skipped', null]]);
    // remove_on_completion (the default) keeps a failed job's container, stopped, for inspection.
    const kept = jobContainers(multi.id).map((id) => t.fake.containers.get(id)?.state.status);
    expect(kept).toEqual(['exited']);
  });

  it('ends a job whose image is missing as failed: image_not_found (images are never pulled)', async () => {
    const ws = await workspace();
    const { job } = await jobs.submit(ws.as.developer, { image: 'orcaops/not-built', command: 'true' });
    expect(await jobs.wait(ws.as.developer, job.id, 30_000)).toMatchObject({ status: 'failed', reason: 'image_not_found' });
  });

  it('cancels a running job (its container is killed and removed) and refuses to cancel it twice', async () => {
    const ws = await workspace();
    const { job } = await jobs.submit(ws.as.developer, { image: 'orcaops/busybox', command: 'sleep 600' });
    expect(job.status).toBe('running');
    await jobs.cancel(ws.as.developer, job.id);
    const done = await jobs.wait(ws.as.developer, job.id, 30_000);
    expect(done).toMatchObject({ status: 'cancelled', reason: 'cancelled' });
    expect(jobContainers(job.id)).toEqual([]);
    expect(await errorCodeOf(jobs.cancel(ws.as.developer, job.id))).toBe('conflict');
    expect(await audited('job.cancel', job.id)).toBe(1);
  });

  it('keeps a job over the running-jobs cap queued, cancels it without a container, then starts the next', async () => {
    const ws = await workspace();
    await t.get(QuotasService).setLimits(t.org, ws.id, { limits: { running_jobs: 1 } });
    const first = (await jobs.submit(ws.as.developer, { image: 'orcaops/busybox', command: 'sleep 600' })).job;
    const second = (await jobs.submit(ws.as.developer, { image: 'orcaops/busybox', command: 'sleep 601' })).job;
    const third = (await jobs.submit(ws.as.developer, { image: 'orcaops/busybox', command: 'sleep 602' })).job;
    expect([first.status, second.status, third.status]).toEqual(['running', 'queued', 'queued']);
    const cancelled = await jobs.cancel(ws.as.developer, second.id);
    expect(cancelled).toMatchObject({ status: 'cancelled', message: 'cancelled before it started' });
    expect(jobContainers(second.id)).toEqual([]);
    // The first job ending frees the workspace's slot: the oldest deferred job (third) starts.
    await jobs.cancel(ws.as.developer, first.id);
    await jobs.wait(ws.as.developer, first.id, 30_000);
    const next = await untilRunning(ws, third.id);
    expect(next.started_at).not.toBeNull();
    await jobs.cancel(ws.as.developer, third.id);
    expect((await jobs.wait(ws.as.developer, third.id, 30_000)).status).toBe('cancelled');
  });

  it('refuses over quota with quota_exceeded and against policy with policy_denied, storing no job', async () => {
    const ws = await workspace();
    await t.get(QuotasService).setLimits(t.org, ws.id, { limits: { concurrent_jobs: 1 } });
    const held = (await jobs.submit(ws.as.developer, { image: 'orcaops/busybox', command: 'sleep 600' })).job;
    const over = await refusal(jobs.submit(ws.as.developer, { image: 'orcaops/busybox', command: 'true' }));
    expect(over).toMatchObject({ code: 'quota_exceeded', details: expect.objectContaining({ quota: 'concurrent_jobs', limit: 1 }) });
    await jobs.cancel(ws.as.developer, held.id);
    await jobs.wait(ws.as.developer, held.id, 30_000);

    await t.get(PoliciesService).setWorkspace(t.org, ws.id, { images: { deny: ['orcaops/python'] } });
    const denied = await refusal(jobs.submit(ws.as.developer, { image: 'orcaops/python', command: 'python3 -V' }));
    expect(denied.code).toBe('policy_denied');
    const listed = await jobs.list(ws.as.viewer, { limit: 50 });
    expect(listed.items.map((j) => j.id)).toEqual([held.id]);
  });

  it('checks permissions and tenancy in the service: roles, workspace tokens, other workspaces', async () => {
    const ws = await workspace();
    const other = await workspace();
    t.fake.scriptMain(sh('true'), { exitCode: 0 });
    const { job } = await jobs.submit(ws.as.ci, { image: 'orcaops/busybox', command: 'true' });
    expect(await errorCodeOf(jobs.submit(ws.as.viewer, { image: 'orcaops/busybox', command: 'true' }))).toBe('forbidden');
    expect(await errorCodeOf(jobs.submit(t.org, { image: 'orcaops/busybox', command: 'true' }))).toBe('workspace_token_required');
    expect(await errorCodeOf(jobs.get(other.as.admin, job.id))).toBe('not_found');
    expect(await errorCodeOf(jobs.cancel(other.as.admin, job.id))).toBe('not_found');
    expect((await jobs.wait(ws.as.viewer, job.id, 30_000)).status).toBe('succeeded');
  });

  it('replays a submit with the same idempotency key and refuses the key for a different request', async () => {
    const ws = await workspace();
    t.fake.scriptMain(sh('echo once'), { exitCode: 0 });
    const first = await jobs.submit(ws.as.developer, { image: 'orcaops/busybox', command: 'echo once' }, 'key-1');
    const again = await jobs.submit(ws.as.developer, { image: 'orcaops/busybox', command: 'echo once' }, 'key-1');
    expect(again).toMatchObject({ replayed: true, job: { id: first.job.id } });
    expect(await errorCodeOf(jobs.submit(ws.as.developer, { image: 'orcaops/busybox', command: 'echo twice' }, 'key-1'))).toBe('conflict');
    expect((await jobs.wait(ws.as.developer, first.job.id, 30_000)).status).toBe('succeeded');
  });

  /** The state a crashed server leaves: the row running under its (dead) runner id, the container still there. */
  async function leftRunningByDeadRunner(jobId: string, workspaceId: string): Promise<string> {
    const db = t.get(DataSource);
    await db.query(
      `UPDATE jobs SET status = 'running', reason = NULL, finished_at = NULL, exit_code = NULL, container_state = 'none', runner_id = 'gone:1:dead' WHERE id = $1`,
      [jobId],
    );
    const install: Array<{ id: string }> = await db.query('SELECT id FROM installation');
    const orphan = await t.fake.createContainer({
      name: `orcaops-job-${jobId}`,
      image: 'orcaops/busybox',
      command: ['sleep', 'infinity'],
      env: {},
      labels: { 'orcaops.kind': 'job', 'orcaops.job_id': jobId, 'orcaops.workspace_id': workspaceId, 'orcaops.install': install[0]!.id },
      resources: { cpus: 1, memoryBytes: 64 * 1024 * 1024, pidsLimit: 32, tmpBytes: 1024 * 1024, workspaceBytes: 4 * 1024 * 1024, nofile: 256 },
      network: 'none',
    });
    await t.fake.startContainer(orphan);
    return orphan;
  }

  it('reconciles a job left running by a dead runner: failed/interrupted, container removed, never re-run', async () => {
    const ws = await workspace();
    // Steps run as execs (two of them): their processes cannot be re-attached.
    const { job } = await jobs.submit(ws.as.developer, { image: 'orcaops/busybox', steps: [{ command: 'echo done' }, { command: 'true' }] });
    await jobs.wait(ws.as.developer, job.id, 30_000);
    const orphan = await leftRunningByDeadRunner(job.id, ws.id);
    // A job of this (live) runner is left alone by the same pass.
    const live = (await jobs.submit(ws.as.developer, { image: 'orcaops/busybox', command: 'sleep 600' })).job;

    await t.get(JobReconcilerService).reconcile(false);

    expect(await jobs.get(ws.as.viewer, job.id)).toMatchObject({ status: 'failed', reason: 'interrupted' });
    expect(t.fake.containers.has(orphan)).toBe(false);
    expect(jobContainers(job.id)).toEqual([]);
    expect(await audited('job.interrupt', job.id)).toBe(1);
    expect((await jobs.get(ws.as.viewer, live.id)).status).toBe('running');
    await jobs.cancel(ws.as.developer, live.id);
    await jobs.wait(ws.as.developer, live.id, 30_000);
  });

  it('re-attaches a one-step job left running by a dead runner: it keeps running here, ends with its exit code, container removed', async () => {
    const ws = await workspace();
    t.fake.scriptMain(sh('echo done'), { exitCode: 0 });
    const { job } = await jobs.submit(ws.as.developer, { image: 'orcaops/busybox', command: 'echo done' });
    await jobs.wait(ws.as.developer, job.id, 30_000);
    const orphan = await leftRunningByDeadRunner(job.id, ws.id);

    await t.get(JobReconcilerService).reconcile(false);

    expect(await jobs.get(ws.as.viewer, job.id)).toMatchObject({ status: 'running' });
    expect(await audited('job.reattach', job.id)).toBe(1);
    expect(await audited('job.interrupt', job.id)).toBe(0);
    expect(t.fake.containers.has(orphan)).toBe(true);
    t.fake.exitContainer(orphan, 0);
    expect(await jobs.wait(ws.as.developer, job.id, 30_000)).toMatchObject({ status: 'succeeded', exit_code: 0 });
    expect(t.fake.containers.has(orphan)).toBe(false);
  });
});

/** The OrcaOpsError a promise rejects with, as {code, details}. */
async function refusal(promise: Promise<unknown>): Promise<{ code: string; details?: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    const { code, details } = error as { code?: string; details?: Record<string, unknown> };
    if (code) return { code, details };
    throw error;
  }
  throw new Error('expected a refusal');
}
