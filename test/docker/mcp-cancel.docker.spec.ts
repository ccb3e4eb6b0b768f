import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { jobContainers, removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import { httpClient, listen } from '../support/mcp';
import { seedWorkspace } from '../support/tenants';
import { instancesOf, removeWorkflowLeftovers, workflowLeftovers } from '../support/workflows';

jest.setTimeout(180_000);

const LONG_YAML = `name: abandoned
jobs:
  long:
    image: orcaops/busybox
    steps:
      - run: echo started; sleep 300
`;

/**
 * A client that cancels an in-flight run_job / run_workflow call (the SDK sends notifications/cancelled
 * when the call's AbortSignal fires) gets the job or run it started cancelled too, with nothing left behind.
 */
describe('MCP: cancelling a waiting tool call cancels its work (real engine)', () => {
  let t: TestApp;
  let dev: string;
  let client: Client;

  beforeAll(async () => {
    t = await createTestApp();
    const baseUrl = await listen(t);
    dev = (await seedWorkspace(t.app, 'mcp-cancel')).tokens.developer.token;
    client = (await httpClient(baseUrl, dev)).client;
  });
  afterAll(async () => {
    await client.close().catch(() => undefined);
    await removeWorkflowLeftovers(t.databaseUrl);
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
  });

  /** Calls the tool and aborts the call at the first progress message that `abortAt` matches; returns that message. */
  async function callAndAbort(name: string, args: Record<string, unknown>, abortAt: RegExp): Promise<{ messages: string[]; error: unknown }> {
    const controller = new AbortController();
    const messages: string[] = [];
    let reached!: () => void;
    const abortPoint = new Promise<void>((resolve) => (reached = resolve));
    const onprogress = (p: Progress): void => {
      messages.push(p.message ?? '');
      if (abortAt.test(p.message ?? '')) reached();
    };
    const pending = client.callTool({ name, arguments: args }, undefined, { onprogress, signal: controller.signal, timeout: 120_000 });
    const outcome = pending.then(
      () => undefined,
      (error: unknown) => error,
    );
    await Promise.race([abortPoint, outcome]);
    controller.abort('the user stopped the agent');
    return { messages, error: await outcome };
  }

  it('run_job: the job is cancelled and its container removed', async () => {
    const { messages, error } = await callAndAbort('run_job', { image: 'orcaops/busybox', command: 'echo started; sleep 300' }, /^running: started/);
    expect(error).toBeInstanceOf(Error);
    const jobId = /^job ([0-9a-f-]{36}) queued/.exec(messages[0] ?? '')?.[1];
    expect(jobId).toBeDefined();
    const job = await api(t.app, 'GET', `/v1/jobs/${jobId}/wait?timeout_seconds=60`, { token: dev });
    expect(job.body).toMatchObject({ status: 'cancelled' });
    expect(await jobContainers(t.databaseUrl, jobId!)).toEqual([]);
  });

  it('run_workflow: the run is cancelled, its job stopped, and no container or network is left', async () => {
    const { messages, error } = await callAndAbort('run_workflow', { yaml: LONG_YAML }, /^long: running/);
    expect(error).toBeInstanceOf(Error);
    const runId = /^workflow run ([0-9a-f-]{36}) started/.exec(messages[0] ?? '')?.[1];
    expect(runId).toBeDefined();
    const run = (await api(t.app, 'GET', `/v1/workflows/${runId}/wait?timeout_seconds=60`, { token: dev })).body;
    expect(run).toMatchObject({ status: 'completed', conclusion: 'cancelled', cancelled_by: 'user', terminal: true });
    expect(instancesOf(run).long).toMatchObject({ status: 'cancelled' });
    expect(await workflowLeftovers(runId!)).toEqual({ containers: [], networks: [], volumes: [] });
    const jobId = instancesOf(run).long.job_id as string | null;
    if (jobId) {
      expect((await api(t.app, 'GET', `/v1/jobs/${jobId}`, { token: dev })).body.status).toBe('cancelled');
      expect(await jobContainers(t.databaseUrl, jobId)).toEqual([]);
    }
  });

  it('a call that returns normally cancels nothing', async () => {
    const r: any = await client.callTool({ name: 'run_job', arguments: { image: 'orcaops/busybox', command: 'echo fine' } }, undefined, { timeout: 60_000 });
    expect(r.structuredContent).toMatchObject({ status: 'succeeded', finished: true });
  });
});
