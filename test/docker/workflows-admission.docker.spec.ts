import type { TestApp } from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { installationContainers, removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';
import { instancesOf, removeWorkflowLeftovers, submitWorkflow, waitForRun } from '../support/workflows';

jest.setTimeout(180_000);

/**
 * Workflows are a front end too: every job they start goes through the same admission as a REST submit,
 * so a policy denial or an exhausted quota stops the instance before any container exists, with the
 * violations in its message, and is audited like any refusal.
 */
describe('workflow jobs are admitted by policies and quotas (real engine)', () => {
  let t: TestApp;
  let ws: SeededWorkspace;

  beforeAll(async () => {
    t = await createTestApp();
    ws = await seedWorkspace(t.app, 'wf-admission');
  });

  afterAll(async () => {
    await removeWorkflowLeftovers(t.databaseUrl);
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
  });

  it('a job whose image the workspace policy denies fails with policy_denied, starts no container, and is audited', async () => {
    const put = await api(t.app, 'PUT', `/v1/workspaces/${ws.id}/policy`, { token: ws.tokens.admin.token, body: { images: { deny: ['orcaops/python'] } } });
    expect(put.status).toBe(200);
    const yaml = `
name: admission
jobs:
  allowed:
    image: orcaops/busybox
    steps:
      - run: echo fine
  denied:
    image: orcaops/python
    retry: { count: 2, when: [infra] }
    steps:
      - run: python3 -c 'print(1)'
`;
    const submitted = await submitWorkflow(t.app, ws.tokens.developer.token, yaml);
    const run = await waitForRun(t.app, ws.tokens.developer.token, submitted.id);
    const inst = instancesOf(run);
    expect(inst.allowed).toMatchObject({ status: 'succeeded', conclusion: 'success' });
    expect(inst.denied).toMatchObject({ conclusion: 'failure', reason: 'policy_denied' });
    expect(inst.denied.message).toMatch(/^policy_denied: .*orcaops\/python/);
    // A refusal is not an infrastructure failure: `when: [infra]` does not retry it, and no job was created.
    expect(inst.denied.attempts).toEqual([expect.objectContaining({ job_id: null, reason: 'policy_denied' })]);
    const containers = (await installationContainers(t.databaseUrl)).filter((c) => c.Image.startsWith('orcaops/python'));
    expect(containers).toEqual([]);
    const audit = await api(t.app, 'GET', '/v1/audit?action=policy.denied&limit=50', { token: ws.tokens.admin.token });
    expect(audit.body.items.length).toBeGreaterThanOrEqual(1);
    await api(t.app, 'PUT', `/v1/workspaces/${ws.id}/policy`, { token: ws.tokens.admin.token, body: {} });
  });

  it('a job over the workspace jobs-per-day quota fails with quota_exceeded', async () => {
    const other = await seedWorkspace(t.app, 'wf-quota');
    const set = await api(t.app, 'PUT', `/v1/workspaces/${other.id}/quotas`, { token: TEST_ADMIN_TOKEN, body: { limits: { jobs_per_day: 1 } } });
    expect(set.status).toBe(200);
    const yaml = `
name: over-quota
jobs:
  first:
    image: orcaops/busybox
    steps:
      - run: echo counted
  second:
    needs: first
    image: orcaops/busybox
    steps:
      - run: echo never
`;
    const submitted = await submitWorkflow(t.app, other.tokens.developer.token, yaml);
    const run = await waitForRun(t.app, other.tokens.developer.token, submitted.id);
    expect(instancesOf(run).first).toMatchObject({ conclusion: 'success' });
    expect(instancesOf(run).second).toMatchObject({ conclusion: 'failure', reason: 'quota_exceeded' });
    expect(instancesOf(run).second.message).toMatch(/^quota_exceeded: .*jobs_per_day/);
  });
});
