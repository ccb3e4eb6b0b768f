/**
 * Workflow service containers are admitted like jobs before any starts (issue 19): the workspace's
 * workflow_service_containers cap refuses an instance that alone asks for more (quota_exceeded naming
 * the quota, nothing created), and queues an instance over it because of another until that one ends.
 * The reservation shows in usage while held and is released at teardown. Over REST and MCP.
 */
import type { TestApp } from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { docker, removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import { httpClient, listen } from '../support/mcp';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';
import { instancesOf, removeWorkflowLeftovers, submitWorkflow, waitForRun, workflowLeftovers } from '../support/workflows';

jest.setTimeout(240_000);

const NO_LEFTOVERS = { containers: [], networks: [], volumes: [] };

function servicesYaml(count: number, matrix?: number[]): string {
  const services = Array.from({ length: count }, (_, i) => `      s${i}:\n        image: orcaops/busybox\n        command: ["sleep", "600"]\n`).join('');
  const strategy = matrix ? `    strategy:\n      matrix:\n        n: [${matrix.join(', ')}]\n` : '';
  return `jobs:\n  svc:\n    image: orcaops/busybox\n${strategy}    services:\n${services}    steps:\n      - run: sleep 3\n`;
}

describe('workflow service admission on the real engine', () => {
  let t: TestApp;
  let ws: SeededWorkspace;
  let dev: string;

  beforeAll(async () => {
    t = await createTestApp();
    ws = await seedWorkspace(t.app, 'wf-service-admission');
    dev = ws.tokens.developer.token;
    const set = await api(t.app, 'PUT', `/v1/workspaces/${ws.id}/quotas`, { token: TEST_ADMIN_TOKEN, body: { limits: { workflow_service_containers: 2 } } });
    expect(set.status).toBe(200);
  });

  afterAll(async () => {
    await removeWorkflowLeftovers(t.databaseUrl);
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
  });

  async function serviceUsage(): Promise<{ current: number; limit: number | null }> {
    const res = await api(t.app, 'GET', `/v1/workspaces/${ws.id}/usage`, { token: dev });
    return res.body.items.find((i: { quota: string }) => i.quota === 'workflow_service_containers');
  }

  it('fails an instance whose services alone exceed the cap, naming the quota, before any container starts', async () => {
    const events: string[] = [];
    const stream = await docker.getEvents({ filters: { type: ['container'], event: ['create'], label: ['orcaops.role=service'] } });
    stream.on('data', (chunk: Buffer) => events.push(chunk.toString()));
    try {
      const run = await waitForRun(t.app, dev, (await submitWorkflow(t.app, dev, servicesYaml(3))).id);
      const instance = instancesOf(run).svc;
      expect([instance.status, instance.reason]).toEqual(['failed', 'quota_exceeded']);
      expect(instance.message).toContain('workflow_service_containers');
      expect(instance.message).toContain('at most 2');
      expect(await workflowLeftovers(run.id)).toEqual(NO_LEFTOVERS);
      expect(events.filter((e) => e.includes(run.id))).toEqual([]);
    } finally {
      (stream as unknown as { destroy(): void }).destroy();
    }
  });

  it('queues an instance over the cap because of another instance, then runs it', async () => {
    const submitted = await submitWorkflow(t.app, dev, servicesYaml(2, [1, 2]));
    const run = await waitForRun(t.app, dev, submitted.id, undefined, 180_000);
    const instances = Object.values(instancesOf(run));
    expect(instances.map((i) => [i.status, i.message])).toEqual([
      ['succeeded', null],
      ['succeeded', null],
    ]);
    const waited = instances.filter((i) => i.notes.some((n: string) => n.startsWith('services waiting for admission')));
    expect(waited).toHaveLength(1);
    expect(waited[0].notes.join('\n')).toContain('workflow_service_containers');
    expect((await serviceUsage()).current).toBe(0);
    expect(await workflowLeftovers(run.id)).toEqual(NO_LEFTOVERS);
  });

  it('counts held services in usage', async () => {
    const submitted = await submitWorkflow(t.app, dev, servicesYaml(2));
    await waitForRun(t.app, dev, submitted.id, (r) => instancesOf(r).svc?.job_id != null, 120_000);
    expect(await serviceUsage()).toMatchObject({ current: 2, limit: 2 });
    const run = await waitForRun(t.app, dev, submitted.id);
    expect(instancesOf(run).svc.status).toBe('succeeded');
    expect((await serviceUsage()).current).toBe(0);
  });

  it('refuses the same way through MCP run_workflow (the same service)', async () => {
    const { client } = await httpClient(await listen(t), dev);
    try {
      const result = (await client.callTool({ name: 'run_workflow', arguments: { yaml: servicesYaml(3) } }, undefined, { timeout: 180_000 })) as { isError?: boolean; structuredContent?: any };
      expect(result.isError).toBeFalsy();
      const instance = result.structuredContent.run.instances[0];
      expect([instance.status, instance.reason]).toEqual(['failed', 'quota_exceeded']);
      expect(instance.message).toContain('workflow_service_containers');
    } finally {
      await client.close();
    }
  });
});
