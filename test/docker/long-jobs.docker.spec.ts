import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestApp } from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { runCli } from '../support/cli';
import { installationContainers, removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import { httpClient, listen } from '../support/mcp';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';
import { instancesOf, removeWorkflowLeftovers, submitWorkflow, waitForRun } from '../support/workflows';

jest.setTimeout(180_000);

interface ToolResult {
  isError?: boolean;
  structuredContent?: any;
  content: Array<{ type: string; text?: string }>;
}

const call = (client: Client, name: string, args: Record<string, unknown>): Promise<ToolResult> =>
  client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 }) as Promise<ToolResult>;

const TOO_LONG = { rule: 'resources', field: 'timeout_seconds', effect: 'deny', message: 'timeout_seconds 3600 is above the maximum 1800' };

/**
 * Issue 13 part 6: the 30-minute ceiling of a job's timeout is the policy maximum
 * `resources.max_timeout_seconds` (1800 unless the organisation raises it, up to 24 h), on every front
 * end and for workflow jobs (whose `timeout-minutes` defaults to GitHub's 360).
 */
describe('long jobs: the timeout ceiling is a policy maximum (REST, MCP, CLI, workflows → Docker)', () => {
  let t: TestApp;
  let ws: SeededWorkspace;
  let client: Client;
  let cliEnv: Record<string, string>;
  let home: string;

  const setOrganisationPolicy = async (body: unknown): Promise<void> => {
    expect((await api(t.app, 'PUT', '/v1/policies/organisation', { token: TEST_ADMIN_TOKEN, body })).status).toBe(200);
  };

  beforeAll(async () => {
    t = await createTestApp();
    const url = await listen(t);
    ws = await seedWorkspace(t.app, 'long-jobs');
    client = (await httpClient(url, ws.tokens.developer.token)).client;
    home = mkdtempSync(join(tmpdir(), 'orcaops-long-jobs-'));
    cliEnv = { ORCAOPS_URL: url, ORCAOPS_TOKEN: ws.tokens.developer.token, ORCAOPS_HOME: home };
  });
  afterAll(async () => {
    await client.close().catch(() => undefined);
    await removeWorkflowLeftovers(t.databaseUrl);
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('refuses a timeout above 30 minutes by default, before any container, on REST, MCP and CLI', async () => {
    await setOrganisationPolicy({});
    const before = (await installationContainers(t.databaseUrl)).length;
    const rest = await api(t.app, 'POST', '/v1/jobs', { token: ws.tokens.developer.token, body: { image: 'orcaops/busybox', command: 'true', timeout_seconds: 3600 } });
    expect(rest.status).toBe(403);
    expect(rest.body.error).toMatchObject({ code: 'policy_denied', details: { violations: [TOO_LONG] } });
    const mcp = await call(client, 'run_job', { image: 'orcaops/busybox', command: 'true', timeout_seconds: 3600 });
    expect(mcp.isError).toBe(true);
    expect(mcp.content.map((c) => c.text ?? '').join('\n')).toContain('timeout_seconds 3600 is above the maximum 1800');
    const cli = await runCli(['--json', 'run', '--timeout', '3600', 'orcaops/busybox', '--', 'true'], cliEnv);
    expect(cli.exitCode).toBe(4);
    expect(JSON.parse(cli.stdout).error).toMatchObject({ code: 'policy_denied', details: { violations: [TOO_LONG] } });
    expect((await installationContainers(t.databaseUrl)).length).toBe(before);
  });

  it('refuses more than 24 hours whatever the policy says (400)', async () => {
    const res = await api(t.app, 'POST', '/v1/jobs', { token: ws.tokens.developer.token, body: { image: 'orcaops/busybox', command: 'true', timeout_seconds: 86_401 } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    const policy = await api(t.app, 'PUT', '/v1/policies/organisation', { token: TEST_ADMIN_TOKEN, body: { resources: { max_timeout_seconds: 86_401 } } });
    expect(policy.status).toBe(400);
  });

  it('runs a 2-hour job once the organisation allows it, on REST, MCP and CLI; a workspace can only lower it', async () => {
    await setOrganisationPolicy({ resources: { max_timeout_seconds: 86_400 } });
    const rest = await api(t.app, 'POST', '/v1/jobs', { token: ws.tokens.developer.token, body: { image: 'orcaops/busybox', command: 'echo long', timeout_seconds: 7200 } });
    expect(rest.status).toBe(201);
    const done = await api(t.app, 'GET', `/v1/jobs/${rest.body.id}/wait?timeout_seconds=60`, { token: ws.tokens.developer.token });
    expect(done.body).toMatchObject({ status: 'succeeded', timeout_seconds: 7200 });
    const mcp = await call(client, 'run_job', { image: 'orcaops/busybox', command: 'echo long', timeout_seconds: 7200 });
    expect(mcp.isError).toBeFalsy();
    expect(mcp.structuredContent).toMatchObject({ status: 'succeeded' });
    const cli = await runCli(['run', '--timeout', '7200', 'orcaops/busybox', '--', 'echo', 'long'], cliEnv);
    expect(cli.exitCode).toBe(0);
    expect(cli.stdout).toContain('long');

    const widened = await api(t.app, 'PUT', `/v1/workspaces/${ws.id}/policy`, { token: ws.tokens.admin.token, body: { resources: { max_timeout_seconds: 90_000 } } });
    expect(widened.status).toBe(400);
    expect((await api(t.app, 'PUT', `/v1/workspaces/${ws.id}/policy`, { token: ws.tokens.admin.token, body: { resources: { max_timeout_seconds: 3000 } } })).status).toBe(200);
    const lowered = await api(t.app, 'POST', '/v1/jobs', { token: ws.tokens.developer.token, body: { image: 'orcaops/busybox', command: 'true', timeout_seconds: 3600 } });
    expect(lowered.status).toBe(403);
    expect((await api(t.app, 'PUT', `/v1/workspaces/${ws.id}/policy`, { token: ws.tokens.admin.token, body: {} })).status).toBe(200);
  });

  it("gives a workflow job GitHub's 360-minute default when the policy allows it, and the policy maximum otherwise", async () => {
    const yaml = 'on: push\njobs:\n  build:\n    image: orcaops/busybox\n    steps:\n      - run: echo built\n';
    const timeoutOf = async (): Promise<number> => {
      const run = await waitForRun(t.app, ws.tokens.developer.token, (await submitWorkflow(t.app, ws.tokens.developer.token, yaml)).id);
      const instance = instancesOf(run)['build'];
      expect(instance).toMatchObject({ status: 'succeeded' });
      const job = await api(t.app, 'GET', `/v1/jobs/${instance.job_id}`, { token: ws.tokens.developer.token });
      return job.body.timeout_seconds as number;
    };
    await setOrganisationPolicy({ resources: { max_timeout_seconds: 86_400 } });
    // The remaining time of the instance, rounded up: the job starts a moment after the instance.
    expect(await timeoutOf()).toBeGreaterThan(360 * 60 - 60);
    expect(await timeoutOf()).toBeLessThanOrEqual(360 * 60);
    await setOrganisationPolicy({});
    expect(await timeoutOf()).toBe(1800);
  });
});
