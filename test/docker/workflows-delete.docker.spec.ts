/**
 * Deleting workflow runs on the real engine: DELETE /v1/workflows/:id (REST and CLI) takes the run, its
 * instances and its instance jobs with their output and stored artifacts; refused while it runs; a
 * viewer is refused and another tenant's run is a 404 like a missing one; retention deletes old runs
 * as the system.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TestApp } from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { runCli } from '../support/cli';
import { removeInstallationContainers } from '../support/docker';
import { expectError } from '../support/errors';
import { api } from '../support/http';
import { listen } from '../support/mcp';
import { sql } from '../support/sql';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';
import { instancesOf, removeWorkflowLeftovers, submitWorkflow, waitForRun } from '../support/workflows';
import { WorkflowRetentionService } from 'src/workflows/workflow-retention.service';

jest.setTimeout(180_000);

const WITH_ARTIFACT = `
jobs:
  build:
    image: orcaops/busybox
    steps:
      - run: mkdir -p out && echo built > out/app.txt
      - uses: actions/upload-artifact@v4
        with: {name: app, path: out/app.txt}
  check:
    needs: build
    image: orcaops/busybox
    steps:
      - run: echo checked
`;

const SLOW = `
jobs:
  slow:
    image: orcaops/busybox
    steps:
      - run: sleep 60
`;

describe('deleting workflow runs', () => {
  let t: TestApp;
  let a: SeededWorkspace;
  let b: SeededWorkspace;
  let dev: string;
  let baseUrl: string;

  beforeAll(async () => {
    t = await createTestApp();
    a = await seedWorkspace(t.app, 'wf-delete-a');
    b = await seedWorkspace(t.app, 'wf-delete-b');
    dev = a.tokens.developer.token;
    baseUrl = await listen(t);
  });

  afterAll(async () => {
    await removeWorkflowLeftovers(t.databaseUrl);
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
  });

  async function finishedRun(yaml = WITH_ARTIFACT): Promise<{ id: string; jobIds: string[] }> {
    const run = await waitForRun(t.app, dev, (await submitWorkflow(t.app, dev, yaml)).id);
    expect(run.conclusion).toBe('success');
    return { id: run.id, jobIds: Object.values(instancesOf(run)).map((i: any) => i.job_id as string) };
  }

  const artifactDir = (jobId: string): string => join(t.home, 'artifacts', a.id, jobId);

  async function jobRows(ids: string[]): Promise<number> {
    return (await sql<{ n: number }>(t.databaseUrl, 'SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1)', [ids]))[0]!.n;
  }

  it('deletes a finished run with its instances, its jobs and their artifacts; audited; refused while running', async () => {
    const { id, jobIds } = await finishedRun();
    expect(jobIds).toHaveLength(2);
    const build = jobIds[0]!;
    expect((await api(t.app, 'GET', `/v1/jobs/${build}/artifacts`, { token: dev })).body.items.length).toBeGreaterThan(0);
    expect(existsSync(artifactDir(build))).toBe(true);

    // Another tenant's run is a 404 identical to a missing one; a viewer may not delete.
    const missing = '00000000-0000-4000-8000-000000000000';
    const foreign = await api(t.app, 'DELETE', `/v1/workflows/${id}`, { token: b.tokens.developer.token });
    const absent = await api(t.app, 'DELETE', `/v1/workflows/${missing}`, { token: b.tokens.developer.token });
    expectError(foreign, 404, 'not_found');
    expect(foreign.body.error.message.replace(id, 'ID')).toBe(absent.body.error.message.replace(missing, 'ID'));
    expectError(await api(t.app, 'DELETE', `/v1/workflows/${id}`, { token: a.tokens.viewer.token }), 403, 'forbidden');

    const deleted = await api(t.app, 'DELETE', `/v1/workflows/${id}`, { token: dev });
    expect(deleted.status).toBe(204);
    expectError(await api(t.app, 'GET', `/v1/workflows/${id}`, { token: dev }), 404, 'not_found');
    for (const jobId of jobIds) expectError(await api(t.app, 'GET', `/v1/jobs/${jobId}`, { token: dev }), 404, 'not_found');
    expect(await jobRows(jobIds)).toBe(0);
    expect(existsSync(artifactDir(build))).toBe(false);
    const instances = await sql(t.databaseUrl, 'SELECT 1 FROM workflow_instances WHERE run_id = $1', [id]);
    expect(instances).toEqual([]);
    const audit = await sql(t.databaseUrl, "SELECT actor_type, details FROM audit_events WHERE action = 'workflow.delete' AND resource_id = $1", [id]);
    expect(audit).toEqual([{ actor_type: 'workspace', details: { jobs_deleted: 2 } }]);
    expectError(await api(t.app, 'DELETE', `/v1/workflows/${id}`, { token: dev }), 404, 'not_found');

    // A running run is kept, whole: 409 until it is cancelled and has ended.
    const slow = await submitWorkflow(t.app, dev, SLOW);
    await waitForRun(t.app, dev, slow.id, (r) => !!instancesOf(r).slow?.job_id);
    const refused = await api(t.app, 'DELETE', `/v1/workflows/${slow.id}`, { token: dev });
    expectError(refused, 409, 'conflict');
    expect(refused.body.error.message).toMatch(/running; cancel it before deleting/);
    expect((await api(t.app, 'POST', `/v1/workflows/${slow.id}/cancel`, { token: dev })).status).toBe(200);
    await waitForRun(t.app, dev, slow.id);
    expect((await api(t.app, 'DELETE', `/v1/workflows/${slow.id}`, { token: dev })).status).toBe(204);
  });

  it('CLI: `workflow delete` removes a run and reports it; a second delete fails as not found', async () => {
    const { id, jobIds } = await finishedRun();
    const env = { ORCAOPS_URL: baseUrl, ORCAOPS_TOKEN: dev, ORCAOPS_HOME: t.home };
    const first = await runCli(['--json', 'workflow', 'delete', id], env);
    expect(first.exitCode).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({ id, deleted: true });
    expect(await jobRows(jobIds)).toBe(0);
    const again = await runCli(['--json', 'workflow', 'delete', id], env);
    expect(again.exitCode).not.toBe(0);
    expect(JSON.parse(again.stdout).error.code).toBe('not_found');
  });

  it('retention deletes runs that finished longer ago than the workspace keeps jobs, as the system; newer runs stay', async () => {
    const old = await finishedRun();
    const fresh = await finishedRun();
    await api(t.app, 'PATCH', `/v1/workspaces/${a.id}`, { token: TEST_ADMIN_TOKEN, body: { settings: { job_retention_days: 1 } } });
    await sql(t.databaseUrl, "UPDATE workflow_runs SET finished_at = now() - interval '2 days' WHERE id = $1", [old.id]);
    expect(await t.app.get(WorkflowRetentionService).tick()).toBe(1);
    expectError(await api(t.app, 'GET', `/v1/workflows/${old.id}`, { token: dev }), 404, 'not_found');
    expect(await jobRows(old.jobIds)).toBe(0);
    expect((await api(t.app, 'GET', `/v1/workflows/${fresh.id}`, { token: dev })).status).toBe(200);
    expect(await jobRows(fresh.jobIds)).toBe(2);
    const audit = await sql(t.databaseUrl, "SELECT actor_type, details FROM audit_events WHERE action = 'workflow.delete' AND resource_id = $1", [old.id]);
    expect(audit).toEqual([{ actor_type: 'system', details: { jobs_deleted: 2, reason: 'retention' } }]);
  });
});
