import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { TestApp } from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { installationContainers, removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import { httpClient, listen } from '../support/mcp';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

jest.setTimeout(180_000);

interface ToolResult {
  isError?: boolean;
  structuredContent?: any;
  content: Array<{ type: string; text?: string }>;
}

const call = (client: Client, name: string, args: Record<string, unknown>): Promise<ToolResult> =>
  client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 }) as Promise<ToolResult>;
const text = (r: ToolResult): string => r.content.map((c) => c.text ?? '').join('\n');

/**
 * Quotas and approvals through the MCP front end: the tools call the same services as REST, so an
 * exhausted quota is a tool error the model can act on (no container started), and a job a policy holds
 * waits for an approver, then runs.
 */
describe('MCP tools are admitted by quotas and approvals (real engine)', () => {
  let t: TestApp;
  let ws: SeededWorkspace;
  let client: Client;

  beforeAll(async () => {
    t = await createTestApp();
    const baseUrl = await listen(t);
    ws = await seedWorkspace(t.app, 'mcp-admission');
    client = (await httpClient(baseUrl, ws.tokens.developer.token)).client;
  });

  afterAll(async () => {
    await client.close().catch(() => undefined);
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
  });

  it('create_sandbox over the concurrent-sandbox quota is a quota_exceeded tool error, and starts nothing', async () => {
    const set = await api(t.app, 'PUT', `/v1/workspaces/${ws.id}/quotas`, { token: TEST_ADMIN_TOKEN, body: { limits: { concurrent_sandboxes: 1 } } });
    expect(set.status).toBe(200);
    const first = await call(client, 'create_sandbox', { image: 'orcaops/busybox' });
    expect(first.isError).toBeFalsy();
    const before = (await installationContainers(t.databaseUrl)).length;
    const second = await call(client, 'create_sandbox', { image: 'orcaops/busybox' });
    expect(second.isError).toBe(true);
    expect(text(second)).toMatch(/quota_exceeded/);
    expect(text(second)).toMatch(/delete_sandbox/);
    expect((await installationContainers(t.databaseUrl)).length).toBe(before);
    const sandboxId = first.structuredContent.sandbox.id as string;
    expect((await call(client, 'delete_sandbox', { sandbox_id: sandboxId })).isError).toBeFalsy();
  });

  it('submit_job held by a policy waits for approval, then runs once approved', async () => {
    const policy = await api(t.app, 'PUT', `/v1/workspaces/${ws.id}/policy`, { token: ws.tokens.admin.token, body: { resources: { approval_above: { memory_mb: 256 } } } });
    expect(policy.status).toBe(200);
    const held = await call(client, 'submit_job', { image: 'orcaops/busybox', command: 'echo approved-run', resources: { memory_mb: 300 } });
    expect(held.isError).toBeFalsy();
    const job = held.structuredContent.job;
    expect(job.status).toBe('awaiting_approval');
    const approve = await api(t.app, 'POST', `/v1/approvals/${job.approval.id}/approve`, { token: ws.tokens.admin.token, body: { comment: 'ok' } });
    expect(approve.status).toBe(200);
    const done = await api(t.app, 'GET', `/v1/jobs/${job.id}/wait?timeout_seconds=60`, { token: ws.tokens.developer.token });
    expect(done.body).toMatchObject({ status: 'succeeded' });
  });
});
