import { DataSource } from 'typeorm';
import type { WorkflowRunResponseDto } from 'src/workflows/dto/workflow.dto';
import { WorkflowsService } from 'src/workflows/workflows.service';
import type { FastWorkspace } from './support/fast-app';
import { errorCodeOf, FastApp } from './support/fast-app';

/** A step's exec carries its script inside a generated program: match on a marker in the script. */
const stepWith = (marker: string) => (command: string[]): boolean => command.join(' ').includes(marker);

type Instance = WorkflowRunResponseDto['jobs'][number]['instances'][number];

function instancesOf(run: WorkflowRunResponseDto): Record<string, Instance> {
  return Object.fromEntries(run.jobs.flatMap((j) => j.instances.map((i) => [i.display_name, i])));
}

/** Workflow runs through WorkflowsService and the runner (decide → persist → act) with the fake engine. */
describe('workflows (fast tier)', () => {
  let t: FastApp;
  let workflows: WorkflowsService;
  let ws: FastWorkspace;

  beforeAll(async () => {
    t = await FastApp.start();
    workflows = t.get(WorkflowsService);
    ws = await t.workspace('workflows');
  });
  afterAll(() => t?.close());

  // The step driver reads each step's $GITHUB_OUTPUT/ENV/PATH/summary with one program that prints a
  // random marker after each file and then their states (step-commands.ts): answered here as a step
  // that left no files.
  beforeAll(() => {
    t.fake.respondToExecs(
      (command) => /s="\$s missing"/.test(command.join(' ')),
      (command) => {
        const marker = /printf '\\n%s\\n' '([^']+)'/.exec(command.join(' '))?.[1] ?? '';
        return { output: [['stdout', `\n${marker}\n`.repeat(4) + 'missing missing missing missing\n']], exitCode: 0 };
      },
    );
  });

  const submit = async (yaml: string): Promise<WorkflowRunResponseDto> => {
    const run = await workflows.submit(ws.as.developer, { yaml });
    if ('dry_run' in run) throw new Error('expected a run, got a plan');
    return run;
  };
  const settled = (id: string) => workflows.wait(ws.as.viewer, id, { timeoutMs: 60_000 });

  it('runs a DAG in needs order; a failing job skips its dependants, an always() job still runs', async () => {
    t.fake.scriptExec(stepWith('BROKEN-STEP'), { output: [['stderr', 'broke\n']], exitCode: 3 });
    const run = await submit(`
name: diamond
jobs:
  build:
    image: orcaops/busybox
    steps:
      - run: echo build
  ok:
    needs: build
    image: orcaops/busybox
    steps:
      - run: echo ok
  broken:
    needs: build
    image: orcaops/busybox
    steps:
      - run: echo BROKEN-STEP; exit 3
      - if: always()
        run: echo cleanup
  deploy:
    needs: [ok, broken]
    image: orcaops/busybox
    steps:
      - run: echo deploy
  report:
    needs: [ok, broken]
    if: always()
    image: orcaops/busybox
    steps:
      - run: echo report
`);
    // The run record's fingerprint (workflow-fingerprint.ts), on the response and the row.
    expect(run.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    const done = await settled(run.id);
    expect(done).toMatchObject({ status: 'completed', conclusion: 'failure', terminal: true, fingerprint: run.fingerprint });
    const byName = instancesOf(done);
    expect(byName.build).toMatchObject({ status: 'succeeded', conclusion: 'success' });
    expect(byName.ok).toMatchObject({ status: 'succeeded' });
    expect(byName.broken).toMatchObject({ status: 'failed', conclusion: 'failure' });
    expect(byName.broken!.steps.map((s) => s.conclusion)).toEqual(['failure', 'success']);
    expect(byName.report).toMatchObject({ status: 'succeeded' });
    expect(done.jobs.find((j) => j.id === 'deploy')).toMatchObject({ phase: 'skipped', result: 'skipped', instances: [] });

    // Persisted before acted on: each instance row names the OrcaOps job that ran it, and a job that
    // needs another was created only after that one's job had finished.
    const rows: Array<{ workflow_job: string; status: string; job_status: string; created: Date; finished: Date }> = await t.get(DataSource).query(
      `SELECT i.workflow_job, i.status, j.status AS job_status, j.created_at AS created, j.finished_at AS finished
         FROM workflow_instances i JOIN jobs j ON j.id = i.job_id AND j.workspace_id = i.workspace_id
        WHERE i.run_id = $1`,
      [run.id],
    );
    const job = Object.fromEntries(rows.map((r) => [r.workflow_job, r]));
    expect(Object.keys(job).sort()).toEqual(['broken', 'build', 'ok', 'report']);
    expect(job.broken).toMatchObject({ status: 'failed', job_status: 'failed' });
    for (const after of ['ok', 'broken']) expect(job[after]!.created.getTime()).toBeGreaterThanOrEqual(job.build!.finished.getTime());
    for (const after of ['ok', 'broken']) expect(job.report!.created.getTime()).toBeGreaterThanOrEqual(job[after]!.finished.getTime());
  });

  it('cancels a run: the running job is stopped, the jobs after it never start', async () => {
    t.fake.scriptExec(stepWith('HANG-HERE'), { hang: true });
    const run = await submit(`
name: long
jobs:
  slow:
    image: orcaops/busybox
    steps:
      - run: echo HANG-HERE
  after:
    needs: slow
    image: orcaops/busybox
    steps:
      - run: echo never
`);
    // Follow the run's versions until its first job runs (the runner acts after submit returns).
    let current = await workflows.get(ws.as.viewer, run.id);
    while (instancesOf(current).slow?.status !== 'running') {
      const next = await workflows.wait(ws.as.viewer, run.id, { timeoutMs: 30_000, after: current.version });
      if (next.timed_out) throw new Error(`slow never ran: ${JSON.stringify(instancesOf(next))}`);
      current = next;
    }
    await workflows.cancel(ws.as.developer, run.id);
    const done = await settled(run.id);
    expect(done).toMatchObject({ status: 'completed', conclusion: 'cancelled' });
    expect(instancesOf(done).slow).toMatchObject({ status: 'cancelled' });
    expect(done.jobs.find((j) => j.id === 'after')?.instances).toEqual([]);
    const running = [...t.fake.containers.values()].filter((c) => c.state.labels['orcaops.workflow_run'] === run.id && c.state.status === 'running');
    expect(running).toEqual([]);
    expect(await errorCodeOf(workflows.cancel(ws.as.developer, run.id))).toBe('conflict');
  });

  it('refuses an invalid file, a viewer and another workspace with their codes', async () => {
    const other = await t.workspace('workflows-other');
    expect(await errorCodeOf(workflows.submit(ws.as.developer, { yaml: 'name: x\njobs:\n  a:\n    needs: missing\n    steps:\n      - run: true\n' }))).toBe('validation_failed');
    expect(await errorCodeOf(workflows.submit(ws.as.viewer, { yaml: 'jobs:\n  a:\n    image: orcaops/busybox\n    steps:\n      - run: true\n' }))).toBe('forbidden');
    const [latest] = (await workflows.list(ws.as.viewer, {})).items;
    expect(latest).toBeDefined();
    expect(await errorCodeOf(workflows.get(other.as.admin, latest!.id))).toBe('not_found');
  });
});
