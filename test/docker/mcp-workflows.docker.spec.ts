import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Client as SdkClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import { httpClient, listen, stdioTransport } from '../support/mcp';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';
import { removeWorkflowLeftovers, workflowLeftovers } from '../support/workflows';

interface ToolResult {
  isError?: boolean;
  structuredContent?: any;
  content: Array<{ type: string; text?: string }>;
  _meta?: Record<string, any>;
}

const call = (client: Client, name: string, args: Record<string, unknown>, onprogress?: (p: Progress) => void): Promise<ToolResult> =>
  client.callTool({ name, arguments: args }, undefined, { onprogress, timeout: 120_000 }) as Promise<ToolResult>;
const text = (r: ToolResult): string => r.content.map((c) => c.text ?? '').join('\n');

const OUTPUTS_YAML = `name: pass-output
jobs:
  build:
    image: orcaops/busybox
    outputs:
      version: \${{ steps.v.outputs.version }}
    steps:
      - id: v
        run: echo "version=1.2.3" >> "$GITHUB_OUTPUT"
  use:
    needs: build
    container: orcaops/busybox
    outputs:
      seen: \${{ steps.s.outputs.seen }}
    steps:
      - id: s
        run: echo "seen=got-\${{ needs.build.outputs.version }}" >> "$GITHUB_OUTPUT"
`;

const TYPO_YAML = `name: typo
jobs:
  build:
    image: orcaops/busybox
    steps:
      - run: echo hi
  deploy:
    needs: buld
    image: orcaops/busybox
    steps:
      - run: echo deploy
`;

const LONG_YAML = `name: long
jobs:
  long:
    image: orcaops/busybox
    steps:
      - run: echo started; sleep 300
`;

/** run_workflow, get_workflow, cancel_workflow over Streamable HTTP, and X-OrcaOps-Session on /mcp. */
describe('MCP workflow tools and sessions (real engine)', () => {
  let t: TestApp;
  let baseUrl: string;
  let a: SeededWorkspace;
  let b: SeededWorkspace;
  let client: Client;
  const open: Client[] = [];

  beforeAll(async () => {
    t = await createTestApp();
    baseUrl = await listen(t);
    a = await seedWorkspace(t.app, 'mcp-wf-a');
    b = await seedWorkspace(t.app, 'mcp-wf-b');
    client = (await httpClient(baseUrl, a.tokens.developer.token)).client;
    open.push(client);
  });
  afterAll(async () => {
    await Promise.all(open.map((c) => c.close().catch(() => undefined)));
    await removeWorkflowLeftovers(t.databaseUrl);
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
  });

  /** get_workflow until `done` holds (bounded): the runner has no event a client can await. */
  async function pollRun(id: string, done: (run: any) => boolean): Promise<any> {
    const until = Date.now() + 60_000;
    for (;;) {
      const r = await call(client, 'get_workflow', { run_id: id });
      expect(r.isError).toBeFalsy();
      if (done(r.structuredContent.run)) return r.structuredContent.run;
      if (Date.now() > until) throw new Error(`run ${id} did not settle: ${JSON.stringify(r.structuredContent)}`);
      await sleep(250);
    }
  }

  it('lists the workflow tools within the 46-tool budget', async () => {
    const { tools } = await client.listTools();
    expect(tools.length).toBeLessThanOrEqual(46);
    const byName = Object.fromEntries(tools.map((x) => [x.name, x]));
    expect(byName.run_workflow?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false });
    expect(byName.get_workflow?.annotations).toMatchObject({ readOnlyHint: true });
    expect(byName.cancel_workflow?.annotations).toMatchObject({ destructiveHint: true });
    for (const name of ['run_workflow', 'get_workflow', 'cancel_workflow']) expect(byName[name]!.outputSchema).toMatchObject({ type: 'object' });
  });

  it('runs a two-job workflow, waits with progress, and returns the output passed between jobs', async () => {
    const progress: Progress[] = [];
    const r = await call(client, 'run_workflow', { yaml: OUTPUTS_YAML, file: 'outputs.yml' }, (p) => progress.push(p));
    expect(r.isError).toBeFalsy();
    const run = r.structuredContent.run;
    expect(r.structuredContent).toMatchObject({ dry_run: false, finished: true });
    expect(run).toMatchObject({ status: 'completed', conclusion: 'success' });
    const byName = Object.fromEntries(run.instances.map((i: any) => [i.display_name, i]));
    expect(byName.build).toMatchObject({ status: 'succeeded', conclusion: 'success', outputs: { version: '1.2.3' } });
    expect(byName.use).toMatchObject({ status: 'succeeded', conclusion: 'success', outputs: { seen: 'got-1.2.3' } });
    expect(progress[0]!.message).toMatch(/started/);
    expect(progress.map((p) => p.message)).toEqual(expect.arrayContaining([expect.stringMatching(/^use: succeeded/)]));
    expect(text(r)).toMatch(/^workflow run [0-9a-f-]{36} success/);
  });

  it('run_workflow takes a source_id: actions/checkout brings the uploaded directory in; another tenant gets not_found', async () => {
    const { pack } = await import('tar-stream');
    const tar = await new Promise<Buffer>((resolve) => {
      const p = pack();
      const parts: Buffer[] = [];
      p.on('data', (c: unknown) => parts.push(c as Buffer));
      p.on('end', () => resolve(Buffer.concat(parts)));
      p.entry({ name: 'app/hello.txt' }, 'hello from an uploaded source\n');
      p.finalize();
    });
    const upload = await t.app.inject({ method: 'POST', url: '/v1/workflows/sources', headers: { authorization: `Bearer ${a.tokens.developer.token}`, 'content-type': 'application/x-tar' }, payload: tar });
    expect(upload.statusCode).toBe(201);
    const sourceId = upload.json<{ source_id: string }>().source_id;
    const yaml = `name: checkout
jobs:
  read:
    image: orcaops/busybox
    outputs:
      line: \${{ steps.r.outputs.line }}
    steps:
      - uses: actions/checkout@v4
      - id: r
        run: echo "line=$(cat app/hello.txt)" >> "$GITHUB_OUTPUT"
`;
    const r = await call(client, 'run_workflow', { yaml, file: 'checkout.yml', source_id: sourceId });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent.run).toMatchObject({ conclusion: 'success' });
    expect(r.structuredContent.run.instances[0].outputs).toEqual({ line: 'hello from an uploaded source' });

    const other = (await httpClient(baseUrl, b.tokens.developer.token)).client;
    open.push(other);
    const foreign = await call(other, 'run_workflow', { yaml, file: 'checkout.yml', source_id: sourceId });
    expect(foreign.isError).toBe(true);
    expect(text(foreign)).toMatch(/not_found|not found/i);
  });

  it('dry_run returns the plan without running anything', async () => {
    const r = await call(client, 'run_workflow', { yaml: OUTPUTS_YAML, dry_run: true });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ dry_run: true, plan: { order: ['build', 'use'], static_instance_count: 2 } });
    expect(r.structuredContent.run).toBeUndefined();
  });

  it('an unknown needs target is a tool error listing file:line:column for the model to fix', async () => {
    const r = await call(client, 'run_workflow', { yaml: TYPO_YAML, file: 'wf.yml' });
    expect(r.isError).toBe(true);
    expect(r._meta?.['orcaops/error']).toMatchObject({ code: 'validation_failed' });
    expect(text(r)).toMatch(/What to do: The workflow YAML is invalid.*\n {2}wf\.yml:8:12: Job 'deploy' depends on unknown job 'buld'\. Did you mean 'build'\?/s);
  });

  it('get_workflow shows a long run live; cancel_workflow stops it and leaves no container; other tenants get not_found', async () => {
    const started = await call(client, 'run_workflow', { yaml: LONG_YAML, wait: false });
    expect(started.structuredContent).toMatchObject({ finished: false, run: { status: 'running' } });
    const id = started.structuredContent.run.run_id as string;
    // `running` is stored before the instance's job is submitted (transition before side effect): wait for both.
    const running = await pollRun(id, (run) => run.instances[0]?.status === 'running' && typeof run.instances[0]?.job_id === 'string');
    expect(running.instances[0]).toMatchObject({ display_name: 'long', job_id: expect.any(String) });

    const other = (await httpClient(baseUrl, b.tokens.developer.token)).client;
    open.push(other);
    for (const name of ['get_workflow', 'cancel_workflow']) {
      const denied = await call(other, name, { run_id: id });
      expect(denied.isError).toBe(true);
      expect(denied._meta?.['orcaops/error']).toMatchObject({ code: 'not_found' });
    }

    const cancelled = await call(client, 'cancel_workflow', { run_id: id });
    expect(cancelled.isError).toBeFalsy();
    expect(cancelled.structuredContent.run).toMatchObject({ run_id: id, cancelled_by: 'user' });
    const final = await pollRun(id, (run) => run.status === 'completed');
    expect(final).toMatchObject({ conclusion: 'cancelled' });
    expect(final.instances[0]).toMatchObject({ status: 'cancelled' });
    expect(await workflowLeftovers(id)).toEqual({ containers: [], networks: [], volumes: [] });

    const again = await call(client, 'cancel_workflow', { run_id: id });
    expect(again._meta?.['orcaops/error']).toMatchObject({ code: 'conflict' });
  });

  it('X-OrcaOps-Session on /mcp links the jobs and sandboxes MCP tools create to that session', async () => {
    const dev = a.tokens.developer.token;
    const session = await api(t.app, 'POST', '/v1/sessions', { token: dev, body: { agent_type: 'claude-code', name: 'mcp session' } });
    expect(session.status).toBe(201);
    const transport = new StreamableHTTPClientTransport(new URL(`${baseUrl}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${dev}`, 'x-orcaops-session': session.body.id } },
    });
    const linked = new SdkClient({ name: 'orcaops-session-test', version: '1.0.0' });
    await linked.connect(transport);
    open.push(linked);

    const job = await call(linked, 'submit_job', { image: 'orcaops/busybox', command: 'true' });
    expect(job.isError).toBeFalsy();
    expect(job.structuredContent.job).toMatchObject({ session_id: session.body.id });
    const sandbox = await call(linked, 'create_sandbox', { image: 'orcaops/busybox', ttl_seconds: 300 });
    expect(sandbox.isError).toBeFalsy();
    expect(sandbox.structuredContent.sandbox).toMatchObject({ session_id: session.body.id });

    const jobs = await api(t.app, 'GET', `/v1/jobs?session_id=${session.body.id}`, { token: dev });
    expect(jobs.body.items.map((j: any) => j.id)).toEqual([job.structuredContent.job.id]);
    // The same token without the header creates unlinked work.
    const plain = await call(client, 'submit_job', { image: 'orcaops/busybox', command: 'true' });
    expect(plain.structuredContent.job.session_id).toBeNull();
    await call(linked, 'delete_sandbox', { sandbox_id: sandbox.structuredContent.sandbox.id });
  });

  it('orcaops mcp (stdio) forwards ORCAOPS_SESSION as the session header', async () => {
    const dev = a.tokens.developer.token;
    const session = await api(t.app, 'POST', '/v1/sessions', { token: dev, body: { agent_type: 'claude-code', name: 'stdio session' } });
    const home = mkdtempSync(join(tmpdir(), 'orcaops-mcp-wf-'));
    try {
      const relayed = new SdkClient({ name: 'orcaops-stdio-session-test', version: '1.0.0' });
      await relayed.connect(stdioTransport(baseUrl, dev, home, { ORCAOPS_SESSION: session.body.id }));
      open.push(relayed);
      const job = await call(relayed, 'submit_job', { image: 'orcaops/busybox', command: 'true' });
      expect(job.structuredContent.job).toMatchObject({ session_id: session.body.id });
      await relayed.close();
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 60_000);
});
