import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from 'src/database/data-source-options';
import { TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import type { InstanceState, JobState } from 'src/workflows/engine/model';
import { WorkflowInstanceEntity } from 'src/workflows/entities/workflow-instance.entity';
import { WorkflowRunEntity } from 'src/workflows/entities/workflow-run.entity';
import type { RunKey} from 'src/workflows/runner/workflow-instance-store';
import { WorkflowInstanceStore } from 'src/workflows/runner/workflow-instance-store';
import type { InstanceAttempt, StepContextState } from 'src/workflows/workflow-model';
import { createTestDatabase } from '../support/database';

/** The workflow run journal against a migrated database: every named operation, and that each stays in its workspace. */
describe('WorkflowInstanceStore (real Postgres)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let ds: DataSource;
  let store: WorkflowInstanceStore;
  const workspaceId = randomUUID();
  const otherWorkspace = randomUUID();

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = await new DataSource(buildDataSourceOptions(db.url)).initialize();
    store = new WorkflowInstanceStore(ds, new TenantScopedRepository(ds.getRepository(WorkflowRunEntity)), new TenantScopedRepository(ds.getRepository(WorkflowInstanceEntity)));
    for (const id of [workspaceId, otherWorkspace]) await ds.query(`INSERT INTO workspaces (id, name, settings) VALUES ($1, $2, '{}')`, [id, `ws-${id.slice(0, 8)}`]);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  async function newRun(ws = workspaceId, runnerId: string | null = 'runner-a'): Promise<RunKey> {
    const id = randomUUID();
    await ds.query(
      `INSERT INTO workflow_runs (id, workspace_id, name, file, source, spec, context, max_parallel, status, created_by, runner_id, started_at)
       VALUES ($1, $2, 'wf', 'wf.yml', 'on: push', '{"jobs":[]}'::jsonb, '{}'::jsonb, 2, 'running', 'tester', $3, now())`,
      [id, ws, runnerId],
    );
    return { runId: id, workspaceId: ws };
  }

  const instance = (key: string, index: number, extra: Partial<InstanceState> = {}): InstanceState => ({
    instance: { key, hash: key.slice(0, 8).padEnd(8, '0'), jobId: 'build', index, displayName: `build (${index})`, matrix: { n: index }, image: 'orcaops/busybox' },
    status: 'queued',
    outputs: {},
    attempt: 0,
    queuedAt: 1_700_000_000_000,
    ...extra,
  });
  const jobs: Record<string, JobState> = { build: { jobId: 'build', phase: 'expanded', instanceKeys: ['k1', 'k0'], failFast: true } };
  const attempt = (n: number, extra: Partial<InstanceAttempt> = {}): InstanceAttempt => ({ attempt: n, job_id: null, status: 'running', reason: null, message: null, started_at: '2026-01-01T00:00:00.000Z', finished_at: null, ...extra });
  const stepState = (extra: Partial<StepContextState> = {}): StepContextState => ({ steps: [], env: {}, path: [], summary: '', notes: [], contexts: {}, containerJob: false, ...extra });

  it('stores transitions in one commit and loads them back in matrix order', async () => {
    const run = await newRun();
    await store.saveTransitions(run, { insert: [instance('k1', 1), instance('k0', 0)], update: [], jobStates: { jobs, cancelled: null } });
    const { run: row, instances } = await store.load(run);
    expect(row.jobStates).toEqual(jobs);
    expect(row.cancelledBy).toBeNull();
    expect(instances.map((i) => i.instanceKey)).toEqual(['k0', 'k1']);
    expect(instances[0]).toMatchObject({ workspaceId, runId: run.runId, workflowJob: 'build', hash: 'k0000000', matrixIndex: 0, displayName: 'build (0)', matrix: { n: 0 }, image: 'orcaops/busybox', status: 'queued', outputs: {}, attempt: 0, attempts: [], stepState: null, jobId: null, stopSent: false });
    expect(instances[0]!.queuedAt).toEqual(new Date(1_700_000_000_000));

    const before = instances[1]!.updatedAt;
    const finished = instance('k1', 1, { status: 'succeeded', outcome: 'success', conclusion: 'success', outputs: { out: 'v' }, attempt: 1, startedAt: 1_700_000_001_000, finishedAt: 1_700_000_002_000, stopSent: true });
    await store.saveTransitions(run, { insert: [], update: [finished], jobStates: { jobs: { build: { ...jobs.build!, result: 'success' } }, cancelled: 'user' } });
    const again = await store.load(run);
    expect(again.run.cancelledBy).toBe('user');
    expect(again.run.jobStates.build!.result).toBe('success');
    expect(again.instances[1]).toMatchObject({ status: 'succeeded', outcome: 'success', conclusion: 'success', outputs: { out: 'v' }, attempt: 1, stopSent: true, reason: null, cancelRequested: null, retryAt: null });
    expect(again.instances[1]!.finishedAt).toEqual(new Date(1_700_000_002_000));
    expect(again.instances[1]!.updatedAt.getTime()).toBeGreaterThanOrEqual(before.getTime());
    // Without a run-level change the run row is not written.
    await store.saveTransitions(run, { insert: [], update: [instance('k0', 0, { status: 'running' })] });
    expect((await store.load(run)).run.cancelledBy).toBe('user');
  });

  it('a failing statement rolls back the whole commit', async () => {
    const run = await newRun();
    await store.saveTransitions(run, { insert: [instance('dup', 0)], update: [] });
    await expect(store.saveTransitions(run, { insert: [instance('fresh', 1), instance('dup', 0)], update: [] })).rejects.toThrow();
    expect((await store.load(run)).instances.map((i) => i.instanceKey)).toEqual(['dup']);
  });

  it('walks one attempt: start, step state, job, outputs, finish; a new attempt clears the last one', async () => {
    const run = await newRun();
    await store.saveTransitions(run, { insert: [instance('k0', 0)], update: [] });
    await store.startAttempt(run, 'k0', attempt(1));
    await store.initStepState(run, 'k0', stepState({ notes: ['n'] }));
    const jobId = randomUUID();
    await store.recordJob(run, 'k0', jobId, attempt(1, { job_id: jobId }));
    let row = (await store.load(run)).instances[0]!;
    expect(row.jobId).toBe(jobId);
    expect(row.attempts).toEqual([attempt(1, { job_id: jobId })]);
    expect(row.stepState).toEqual(stepState({ notes: ['n'] }));
    expect(await store.jobOutputs(run, 'k0')).toEqual({});

    const instanceRow = await store.instanceOfJob(workspaceId, jobId);
    expect(instanceRow.instanceKey).toBe('k0');
    expect((await store.runOf(workspaceId, instanceRow.runId)).id).toBe(run.runId);
    await store.saveStepState(workspaceId, instanceRow.id, stepState({ jobOutputs: { answer: '42' }, artifacts: {} }));
    expect(await store.jobOutputs(run, 'k0')).toEqual({ answer: '42' });

    const closed = attempt(1, { job_id: jobId, status: 'failed', reason: 'infra_error', message: 'boom', finished_at: '2026-01-01T00:01:00.000Z', services_cpu_seconds: 1.5 });
    await store.finishAttempt(run, 'k0', 'boom', closed);
    row = (await store.load(run)).instances[0]!;
    expect(row.message).toBe('boom');
    expect(row.attempts).toEqual([closed]);

    await store.startAttempt(run, 'k0', attempt(2));
    row = (await store.load(run)).instances[0]!;
    expect(row).toMatchObject({ message: null, jobId: null, stepState: null });
    expect(row.attempts).toEqual([closed, attempt(2)]);
    await store.finishAttempt(run, 'k0', null, attempt(2, { status: 'succeeded', finished_at: '2026-01-01T00:02:00.000Z' }));
    expect((await store.load(run)).instances[0]!.attempts).toEqual([closed, attempt(2, { status: 'succeeded', finished_at: '2026-01-01T00:02:00.000Z' })]);
  });

  it('closes an interrupted attempt by merging into its record, and leaves an instance without attempts alone', async () => {
    const run = await newRun();
    await store.saveTransitions(run, { insert: [instance('k0', 0), instance('k1', 1)], update: [] });
    await store.startAttempt(run, 'k0', attempt(1, { job_id: 'j' }));
    const patch = { status: 'failed', reason: 'interrupted', message: 'gone', finished_at: '2026-01-01T00:03:00.000Z' } as const;
    await store.closeInterruptedAttempt(run, 'k0', 'gone', patch);
    await store.closeInterruptedAttempt(run, 'k1', 'gone', patch);
    const [k0, k1] = (await store.load(run)).instances;
    expect(k0!.attempts).toEqual([{ ...attempt(1, { job_id: 'j' }), ...patch }]);
    expect(k0!.message).toBe('gone');
    expect(k1!.attempts).toEqual([]);
    expect(k1!.message).toBe('gone');
  });

  it('claims a run by compare-and-set on its runner, finishes it only from running, and reads the cancel flag', async () => {
    const orphan = await newRun(workspaceId, null);
    const held = await newRun(workspaceId, 'dead-runner');
    const running = await store.runningRuns();
    expect(running).toEqual(expect.arrayContaining([{ id: orphan.runId, workspaceId, runnerId: null }, { id: held.runId, workspaceId, runnerId: 'dead-runner' }]));
    expect(await store.claimRun(orphan, null, 'me')).toBe(true);
    expect(await store.claimRun(orphan, null, 'other')).toBe(false);
    expect(await store.claimRun(held, 'someone-else', 'me')).toBe(false);
    expect(await store.claimRun(held, 'dead-runner', 'me')).toBe(true);
    expect((await store.load(held)).run.runnerId).toBe('me');

    expect(await store.cancelRequested(held)).toBe(false);
    await store.saveTransitions(held, { insert: [], update: [], jobStates: { jobs: {}, cancelled: 'user' } });
    expect(await store.cancelRequested(held)).toBe(true);

    await store.finishRun(held, 'cancelled');
    const done = (await store.load(held)).run;
    expect(done).toMatchObject({ status: 'completed', conclusion: 'cancelled' });
    expect(done.finishedAt).toBeInstanceOf(Date);
    await store.finishRun(held, 'success');
    expect((await store.load(held)).run.conclusion).toBe('cancelled');
    expect(await store.claimRun(held, 'me', 'late')).toBe(false);
  });

  it('resets a finished run for a rerun in the caller\'s transaction: removes, re-queues, and runs it again', async () => {
    const run = await newRun();
    const done = (key: string, index: number, conclusion: 'success' | 'failure'): InstanceState => instance(key, index, { status: conclusion === 'success' ? 'succeeded' : 'failed', outcome: conclusion, conclusion, reason: conclusion === 'failure' ? 'infra_error' : undefined, finishedAt: 1_700_000_005_000, cancelRequested: conclusion === 'failure' ? 'fail_fast' : undefined });
    await store.saveTransitions(run, { insert: [done('ok', 0, 'success'), done('bad', 1, 'failure'), done('gone', 2, 'failure')], update: [], jobStates: { jobs, cancelled: 'user' } });
    await store.finishRun(run, 'failure');
    const rows = (await store.load(run)).instances;
    const id = (key: string): string => rows.find((r) => r.instanceKey === key)!.id;
    await store.finishAttempt(run, 'bad', 'it failed', attempt(1, { status: 'failed' }));
    const newJobs = { build: { jobId: 'build', phase: 'pending', instanceKeys: [], failFast: true } } satisfies Record<string, JobState>;

    // Rolled back with the caller's transaction.
    await expect(ds.transaction(async (manager) => {
      await store.resetForRerun(manager, run, { remove: [id('gone')], requeue: [id('bad')], jobStates: newJobs, runnerId: 'runner-b' });
      throw new Error('abort');
    })).rejects.toThrow('abort');
    expect((await store.load(run)).instances).toHaveLength(3);

    await ds.transaction((manager) => store.resetForRerun(manager, run, { remove: [id('gone')], requeue: [id('bad')], jobStates: newJobs, runnerId: 'runner-b' }));
    const after = await store.load(run);
    expect(after.run).toMatchObject({ status: 'running', conclusion: null, cancelledBy: null, finishedAt: null, runnerId: 'runner-b', jobStates: newJobs });
    expect(after.instances.map((i) => i.instanceKey)).toEqual(['ok', 'bad']);
    expect(after.instances[0]).toMatchObject({ status: 'succeeded', conclusion: 'success' });
    expect(after.instances[1]).toMatchObject({ status: 'queued', outcome: null, conclusion: null, reason: null, message: null, cancelRequested: null, finishedAt: null, attempts: [attempt(1, { status: 'failed' })] });

    // Another workspace's rerun changes nothing here.
    await ds.transaction((manager) => store.resetForRerun(manager, { runId: run.runId, workspaceId: otherWorkspace }, { remove: [id('ok')], requeue: [], jobStates: {}, runnerId: 'thief' }));
    expect((await store.load(run)).instances).toHaveLength(2);
    expect((await store.load(run)).run.runnerId).toBe('runner-b');
  });

  it('lists finished producer instances of the given jobs', async () => {
    const run = await newRun();
    const other = (key: string, index: number, status: InstanceState['status']): InstanceState => ({ ...instance(key, index, { status }), instance: { ...instance(key, index).instance, jobId: 'test' } });
    await store.saveTransitions(run, { insert: [instance('b1', 1, { status: 'succeeded' }), instance('b0', 0, { status: 'failed' }), instance('b2', 2, { status: 'running' }), other('t0', 0, 'skipped')], update: [] });
    const rows = await store.producers(run, ['build'], ['succeeded', 'failed', 'cancelled', 'skipped']);
    expect(rows.map((r) => [r.workflowJob, r.matrixIndex, r.status])).toEqual([
      ['build', 0, 'failed'],
      ['build', 1, 'succeeded'],
    ]);
    expect(await store.producers(run, ['build', 'test'], ['skipped'])).toEqual([expect.objectContaining({ workflowJob: 'test', status: 'skipped' })]);
  });

  it('never reads or changes another workspace\'s run or instances', async () => {
    const run = await newRun();
    await store.saveTransitions(run, { insert: [instance('k0', 0)], update: [] });
    const jobId = randomUUID();
    await store.startAttempt(run, 'k0', attempt(1));
    await store.recordJob(run, 'k0', jobId, attempt(1, { job_id: jobId }));
    const foreign: RunKey = { runId: run.runId, workspaceId: otherWorkspace };

    await expect(store.load(foreign)).rejects.toThrow(/not found/);
    await expect(store.runOf(otherWorkspace, run.runId)).rejects.toThrow(/not found/);
    await expect(store.instanceOfJob(otherWorkspace, jobId)).rejects.toThrow(/no workflow instance/);
    expect(await store.claimRun(foreign, 'runner-a', 'thief')).toBe(false);
    expect(await store.cancelRequested(foreign)).toBe(false);
    expect(await store.jobOutputs(foreign, 'k0')).toEqual({});
    expect(await store.producers(foreign, ['build'], ['queued'])).toEqual([]);

    await store.saveTransitions(foreign, { insert: [], update: [instance('k0', 0, { status: 'failed' })], jobStates: { jobs: {}, cancelled: 'user' } });
    await store.startAttempt(foreign, 'k0', attempt(9));
    await store.initStepState(foreign, 'k0', stepState({ notes: ['x'] }));
    await store.recordJob(foreign, 'k0', randomUUID(), attempt(9));
    await store.finishAttempt(foreign, 'k0', 'x', attempt(9));
    await store.closeInterruptedAttempt(foreign, 'k0', 'x', { status: 'failed', reason: 'interrupted', message: 'x', finished_at: 'x' });
    const instanceRow = await store.instanceOfJob(workspaceId, jobId);
    await store.saveStepState(otherWorkspace, instanceRow.id, stepState({ notes: ['x'] }));
    await store.finishRun(foreign, 'failure');

    const { run: row, instances } = await store.load(run);
    expect(row).toMatchObject({ status: 'running', runnerId: 'runner-a', cancelledBy: null, conclusion: null, jobStates: {} });
    expect(instances[0]).toMatchObject({ status: 'queued', jobId, message: null, stepState: null, attempts: [attempt(1, { job_id: jobId })] });
  });
});
