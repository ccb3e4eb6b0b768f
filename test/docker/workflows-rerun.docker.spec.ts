import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import { sql } from '../support/sql';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';
import { instancesOf, removeWorkflowLeftovers, submitWorkflow, waitForRun } from '../support/workflows';

jest.setTimeout(240_000);

/** m (n=2) fails; `after` depends on m and runs anyway; `ok` is independent. */
const RERUN_YAML = `name: rerun-failed
jobs:
  ok:
    image: orcaops/busybox
    steps:
      - run: echo fine
  m:
    image: orcaops/busybox
    strategy:
      fail-fast: false
      matrix:
        n: [1, 2]
    steps:
      - run: test "\${{ matrix.n }}" = 1
  after:
    needs: m
    if: always()
    image: orcaops/busybox
    steps:
      - run: echo after
`;

/** Rerun of a failed run through the API (its journal writes: WorkflowInstanceStore.resetForRerun). */
describe('workflow rerun of failed instances (real engine)', () => {
  let t: TestApp;
  let a: SeededWorkspace;
  let b: SeededWorkspace;

  beforeAll(async () => {
    t = await createTestApp();
    a = await seedWorkspace(t.app, 'wf-rerun-a');
    b = await seedWorkspace(t.app, 'wf-rerun-b');
  });
  afterAll(async () => {
    await removeWorkflowLeftovers(t.databaseUrl);
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
  });

  async function instanceRowIds(runId: string): Promise<{ m1: string; after: string }> {
    const rows = await sql<{ id: string; workflow_job: string; matrix_index: number }>(t.databaseUrl, `SELECT id, workflow_job, matrix_index FROM workflow_instances WHERE run_id = $1`, [runId]);
    const find = (job: string, index: number): string => rows.find((r) => r.workflow_job === job && r.matrix_index === index)!.id;
    return { m1: find('m', 0), after: find('after', 0) };
  }

  it('runs the failed instance and its dependants again, keeps what succeeded, and stays in its workspace', async () => {
    const dev = a.tokens.developer.token;
    const submitted = await submitWorkflow(t.app, dev, RERUN_YAML);
    const first = await waitForRun(t.app, dev, submitted.id);
    expect(first.conclusion).toBe('failure');
    const before = instancesOf(first);
    expect(before['m (1)']).toMatchObject({ conclusion: 'success', attempts: [expect.objectContaining({ status: 'succeeded' })] });
    expect(before['m (2)']).toMatchObject({ conclusion: 'failure' });
    expect(before.ok).toMatchObject({ conclusion: 'success' });
    expect(before.after).toMatchObject({ conclusion: 'success' });

    const rowsBefore = await instanceRowIds(submitted.id);
    // Another workspace's token cannot rerun it (404, like a missing run), and nothing changes.
    expect((await api(t.app, 'POST', `/v1/workflows/${submitted.id}/rerun`, { token: b.tokens.developer.token })).status).toBe(404);
    expect((await api(t.app, 'GET', `/v1/workflows/${submitted.id}`, { token: dev })).body.status).toBe('completed');

    const rerun = await api(t.app, 'POST', `/v1/workflows/${submitted.id}/rerun`, { token: dev });
    expect([200, 201]).toContain(rerun.status);
    expect(rerun.body.status).toBe('running');
    const second = await waitForRun(t.app, dev, submitted.id);
    expect(second.conclusion).toBe('failure');
    const after = instancesOf(second);
    // Succeeded instances are kept as they were (same job, one attempt).
    expect(after.ok.job_id).toBe(before.ok.job_id);
    expect(after['m (1)'].job_id).toBe(before['m (1)'].job_id);
    expect(after['m (1)'].attempts).toHaveLength(1);
    // The failed one ran again: a second attempt with a new job, and failed again.
    expect(after['m (2)'].attempts).toHaveLength(2);
    expect(after['m (2)'].job_id).not.toBe(before['m (2)'].job_id);
    expect(after['m (2)']).toMatchObject({ conclusion: 'failure' });
    // The dependant's instance row was removed and expanded again (a new row with one attempt).
    expect(after.after).toMatchObject({ conclusion: 'success', attempts: [expect.objectContaining({ status: 'succeeded' })] });
    expect(await instanceRowIds(submitted.id)).not.toEqual(rowsBefore);
    expect((await instanceRowIds(submitted.id)).m1).toBe(rowsBefore.m1);

    const audit = await sql<{ action: string; workspace_id: string }>(t.databaseUrl, `SELECT action, workspace_id FROM audit_events WHERE resource_id = $1 AND action = 'workflow.rerun'`, [submitted.id]);
    expect(audit).toEqual([{ action: 'workflow.rerun', workspace_id: a.id }]);
  });
});
