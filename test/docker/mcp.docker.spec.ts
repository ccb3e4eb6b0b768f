import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Client as SdkClient } from '@modelcontextprotocol/sdk/client/index.js';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { removeInstallationContainers } from '../support/docker';
import { httpClient, listen, stdioTransport } from '../support/mcp';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

const TOOL_NAMES = [
  'run_job', 'submit_job', 'get_job', 'get_job_logs', 'get_job_log_excerpt', 'cancel_job', 'list_jobs', 'read_artifact',
  'create_sandbox', 'exec', 'shell', 'start_process', 'read_process_output', 'write_file', 'read_file',
  'list_files', 'list_sandboxes', 'delete_sandbox', 'extend_sandbox', 'search_runs', 'delete_runs', 'list_workflows', 'get_sandbox_history',
  'list_sessions', 'get_session', 'end_session',
];

interface ToolResult {
  isError?: boolean;
  structuredContent?: any;
  content: Array<{ type: string; text?: string }>;
}

const call = (client: Client, name: string, args: Record<string, unknown>, onprogress?: (p: Progress) => void): Promise<ToolResult> =>
  client.callTool({ name, arguments: args }, undefined, { onprogress, timeout: 120_000 }) as Promise<ToolResult>;
const text = (r: ToolResult): string => r.content.map((c) => c.text ?? '').join('\n');

/** The agent-facing checks both transports must pass. */
async function runJobWithProgress(client: Client): Promise<string> {
  const progress: Progress[] = [];
  const r = await call(client, 'run_job', { image: 'orcaops/busybox', command: 'echo hello-mcp; sleep 1; echo to-stderr >&2; exit 3' }, (p) => progress.push(p));
  expect(r.isError).toBeFalsy();
  expect(r.structuredContent).toMatchObject({ finished: true, status: 'failed', exit_code: 3 });
  expect(r.structuredContent.stdout_tail).toContain('hello-mcp');
  expect(r.structuredContent.stderr_tail).toContain('to-stderr');
  expect(progress.length).toBeGreaterThanOrEqual(2);
  expect(progress[0]!.message).toMatch(/queued/);
  expect(progress[progress.length - 1]!.message).toMatch(/finished: failed/);
  return r.structuredContent.job_id as string;
}

async function useSandbox(client: Client): Promise<string> {
  const created = await call(client, 'create_sandbox', { image: 'orcaops/busybox', ttl_seconds: 600 });
  expect(created.isError).toBeFalsy();
  const id = created.structuredContent.sandbox.id as string;
  expect(created.structuredContent.sandbox.status).toBe('ready');
  const first = await call(client, 'shell', { sandbox_id: id, command: 'mkdir -p /tmp/w && cd /tmp/w && export GREETING=hi && N=7' });
  expect(first.structuredContent).toMatchObject({ status: 'completed', exit_code: 0, cwd: '/tmp/w' });
  const second = await call(client, 'shell', { sandbox_id: id, command: 'echo "$GREETING $N $(pwd)"' });
  expect(second.structuredContent.output.trim()).toBe('hi 7 /tmp/w');
  const wrote = await call(client, 'write_file', { sandbox_id: id, path: 'notes/a.txt', content: 'line one\nline two\n' });
  expect(wrote.structuredContent.file).toMatchObject({ path: '/workspace/notes/a.txt', size: 18 });
  const read = await call(client, 'read_file', { sandbox_id: id, path: '/workspace/notes/a.txt' });
  expect(read.structuredContent).toMatchObject({ content: 'line one\nline two\n', encoding: 'utf8', size: 18 });
  const ran = await call(client, 'exec', { sandbox_id: id, command: 'wc -l < notes/a.txt' });
  expect(ran.structuredContent).toMatchObject({ exit_code: 0, stdout: '2\n' });
  return id;
}

describe('MCP server over Streamable HTTP and stdio (real engine)', () => {
  let t: TestApp;
  let baseUrl: string;
  let a: SeededWorkspace;
  let b: SeededWorkspace;
  let home: string;
  const open: Client[] = [];

  beforeAll(async () => {
    t = await createTestApp();
    baseUrl = await listen(t);
    a = await seedWorkspace(t.app, 'mcp-a');
    b = await seedWorkspace(t.app, 'mcp-b');
    home = mkdtempSync(join(tmpdir(), 'orcaops-mcp-cli-'));
  });
  afterAll(async () => {
    await Promise.all(open.map((c) => c.close().catch(() => undefined)));
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
    rmSync(home, { recursive: true, force: true });
  });

  const connect = async (token: string): Promise<Client> => {
    const { client } = await httpClient(baseUrl, token);
    open.push(client);
    return client;
  };

  describe('HTTP', () => {
    let client: Client;
    let jobId: string;
    let sandboxId: string;
    beforeAll(async () => {
      client = await connect(a.tokens.developer.token);
    });

    it('lists at most 46 tools, each with input and output schemas and annotations', async () => {
      const { tools } = await client.listTools();
      // 45 now: jobs, sandboxes, workflows, environments, previews, sessions, insights, images, secrets, egress.
      expect(tools.length).toBeLessThanOrEqual(46);
      expect(tools.map((x) => x.name)).toEqual(expect.arrayContaining(TOOL_NAMES));
      for (const tool of tools) {
        expect(tool.description!.length).toBeGreaterThan(20);
        expect(tool.outputSchema).toMatchObject({ type: 'object' });
        expect(tool.annotations).toEqual(expect.objectContaining({ readOnlyHint: expect.any(Boolean), destructiveHint: expect.any(Boolean), idempotentHint: expect.any(Boolean), openWorldHint: false }));
      }
      expect(client.getServerCapabilities()).toMatchObject({ logging: {}, tools: {}, resources: {} });
    });

    it('runs a job, waits for it and reports progress', async () => {
      jobId = await runJobWithProgress(client);
      const logs = await call(client, 'get_job_logs', { job_id: jobId });
      expect(logs.structuredContent).toMatchObject({ complete: true, stdout: 'hello-mcp\n', stderr: 'to-stderr\n' });
    });

    it('creates a sandbox with a persistent shell and files', async () => {
      sandboxId = await useSandbox(client);
    });

    it('a long shell command returns a handle to continue or interrupt', async () => {
      const started = await call(client, 'shell', { sandbox_id: sandboxId, session: 'long', command: 'echo begin; sleep 30 && echo never', timeout_seconds: 1 });
      expect(started.structuredContent).toMatchObject({ status: 'running', session: 'long' });
      expect(started.structuredContent.output).toContain('begin');
      const stopped = await call(client, 'shell', { sandbox_id: sandboxId, session: 'long', interrupt: true });
      expect(stopped.structuredContent.status).toBe('completed');
      expect(stopped.structuredContent.output).not.toContain('never');
    });

    it('reads job records and output as resources', async () => {
      const { resourceTemplates } = await client.listResourceTemplates();
      expect(resourceTemplates.map((r) => r.uriTemplate)).toEqual(expect.arrayContaining(['orcaops://jobs/{id}', 'orcaops://jobs/{id}/logs']));
      const record = await client.readResource({ uri: `orcaops://jobs/${jobId}` });
      expect(JSON.parse((record.contents[0] as { text: string }).text)).toMatchObject({ id: jobId, status: 'failed' });
      const logs = await client.readResource({ uri: `orcaops://jobs/${jobId}/logs` });
      expect((logs.contents[0] as { text: string }).text).toContain('hello-mcp');
      const { resources } = await client.listResources();
      expect(resources.map((r) => r.uri)).toContain(`orcaops://jobs/${jobId}`);
    });

    it('refuses another tenant\'s job and sandbox exactly like missing ones', async () => {
      const other = await connect(b.tokens.developer.token);
      const missing = '00000000-0000-4000-8000-000000000000';
      for (const [tool, arg, id] of [['get_job', 'job_id', jobId], ['get_sandbox', 'sandbox_id', sandboxId], ['read_file', 'sandbox_id', sandboxId]] as const) {
        const extra = tool === 'read_file' ? { path: 'notes/a.txt' } : {};
        const theirs = await call(other, tool, { [arg]: id, ...extra });
        const absent = await call(other, tool, { [arg]: missing, ...extra });
        expect(theirs.isError).toBe(true);
        expect(text(theirs)).toContain('Error (not_found)');
        expect(text(theirs).replaceAll(id, 'ID')).toBe(text(absent).replaceAll(missing, 'ID'));
      }
      const resource = other.readResource({ uri: `orcaops://jobs/${jobId}` });
      await expect(resource).rejects.toThrow(/not_found/);
    });

    it('returns denials as tool errors with what to do next, and the session goes on', async () => {
      const denied = await call(client, 'run_job', { image: 'orcaops/busybox', command: 'true', network: 'egress' });
      expect(denied.isError).toBe(true);
      expect(text(denied)).toMatch(/Error \(policy_denied\)[\s\S]*Do not retry it unchanged/);
      const viewer = await connect(a.tokens.viewer.token);
      const forbidden = await call(viewer, 'create_sandbox', { image: 'orcaops/busybox' });
      expect(forbidden.isError).toBe(true);
      expect(text(forbidden)).toMatch(/Error \(forbidden\).*sandbox:create/);
      expect((await call(viewer, 'list_jobs', {})).structuredContent.items.map((j: { id: string }) => j.id)).toContain(jobId);
      const invalid = await call(client, 'run_job', { image: 'NOT AN IMAGE', command: 'true' });
      expect(text(invalid)).toMatch(/validation_failed[\s\S]*image/);
      expect((await call(client, 'get_job', { job_id: 'not-a-uuid' })).isError).toBe(true);
      expect((await call(client, 'get_job', { job_id: jobId })).structuredContent.job.id).toBe(jobId);
    });

    it('refuses a wrong token with 401 and a foreign Origin with 403', async () => {
      await expect(httpClient(baseUrl, 'orcaops_ws_wrong_token')).rejects.toMatchObject({ code: 401 });
      const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } };
      const post = (headers: Record<string, string>): Promise<Response> =>
        fetch(`${baseUrl}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body: JSON.stringify(init) });
      expect((await post({})).status).toBe(401);
      expect((await post({ authorization: `Bearer ${a.tokens.developer.token}`, origin: 'https://evil.example' })).status).toBe(403);
    });

    it('binds a session to its token, and DELETE closes it', async () => {
      const { client: mine, transport } = await httpClient(baseUrl, a.tokens.developer.token);
      const sessionId = transport.sessionId!;
      const ping = (token: string): Promise<Response> =>
        fetch(`${baseUrl}/mcp`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': transport.protocolVersion! },
          body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'ping' }),
        });
      expect((await ping(b.tokens.developer.token)).status).toBe(404);
      expect((await ping(a.tokens.admin.token)).status).toBe(404);
      expect((await ping(a.tokens.developer.token)).status).toBe(200);
      await transport.terminateSession();
      expect((await ping(a.tokens.developer.token)).status).toBe(404);
      await mine.close();
    });
  });

  describe('stdio (orcaops mcp relaying to /mcp)', () => {
    let mine: Client;
    let theirs: Client;
    let refused: PromiseSettledResult<void>;
    const stdio = async (token: string): Promise<Client> => {
      const client = new SdkClient({ name: 'orcaops-stdio-test', version: '1.0.0' });
      open.push(client);
      // initialize waits for the CLI to start from TypeScript, which takes minutes on a loaded machine.
      await client.connect(stdioTransport(baseUrl, token, home), { timeout: 280_000 });
      return client;
    };

    // Each relay is a CLI process started from TypeScript (slow on a loaded machine): start them together.
    beforeAll(async () => {
      [mine, theirs, [refused]] = await Promise.all([
        stdio(a.tokens.developer.token),
        stdio(b.tokens.developer.token),
        Promise.allSettled([stdio('orcaops_ws_wrong_token').then(() => undefined)]),
      ]);
    }, 320_000);

    it('lists tools, runs a job with progress, and works a sandbox', async () => {
      const { tools } = await mine.listTools();
      expect(tools.map((x) => x.name)).toEqual(expect.arrayContaining(TOOL_NAMES));
      const jobId = await runJobWithProgress(mine);
      await useSandbox(mine);
      const denied = await call(theirs, 'get_job', { job_id: jobId });
      expect(denied.isError).toBe(true);
      expect(text(denied)).toContain('Error (not_found)');
    });

    it('a wrong token fails initialize with a clear message', () => {
      expect(refused.status).toBe('rejected');
      expect(String((refused as PromiseRejectedResult).reason)).toMatch(/refused the token[\s\S]*ORCAOPS_TOKEN/);
    });
  });
});
