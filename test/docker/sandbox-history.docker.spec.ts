import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { runCli } from '../support/cli';
import { removeInstallationContainers } from '../support/docker';
import { comparableError, expectError } from '../support/errors';
import type { ApiResponse } from '../support/http';
import { api } from '../support/http';
import { httpClient, listen } from '../support/mcp';
import { sql } from '../support/sql';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

interface ToolResult {
  isError?: boolean;
  structuredContent?: any;
  content: Array<{ type: string; text?: string }>;
}

const SECRET = 'hist-secret-value-7f3a9c';
const ENV_TOKEN = 'env-token-value-41b2d8';

/** Sandbox command history (docs/run-records.md#sandbox-command-history) through REST, CLI and MCP, on the real engine. */
describe('sandbox command history (REST, CLI, MCP → Docker)', () => {
  let t: TestApp;
  let a: SeededWorkspace;
  let b: SeededWorkspace;
  let sbx: string;
  let cliEnv: Record<string, string>;
  let home: string;
  let mcp: Client;
  let mcpB: Client;

  const dev = (): string => a.tokens.developer.token;
  const history = (query = '', token = dev()): Promise<ApiResponse> => api(t.app, 'GET', `/v1/sandboxes/${sbx}/commands${query}`, { token });
  const exec = (body: Record<string, unknown>): Promise<ApiResponse> => api(t.app, 'POST', `/v1/sandboxes/${sbx}/exec`, { token: dev(), body });
  const tool = (client: Client, name: string, args: Record<string, unknown>): Promise<ToolResult> =>
    client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 }) as Promise<ToolResult>;

  beforeAll(async () => {
    t = await createTestApp();
    const url = await listen(t);
    a = await seedWorkspace(t.app, 'history-a');
    b = await seedWorkspace(t.app, 'history-b');
    home = mkdtempSync(join(tmpdir(), 'orcaops-history-'));
    cliEnv = { ORCAOPS_URL: url, ORCAOPS_TOKEN: dev(), ORCAOPS_HOME: home };
    mcp = (await httpClient(url, dev())).client;
    mcpB = (await httpClient(url, b.tokens.developer.token)).client;
    const secret = await api(t.app, 'PUT', '/v1/secrets/HISTORY_SECRET', { token: a.tokens.admin.token, body: { value: SECRET } });
    expect(secret.status).toBe(200);
    const created = await api(t.app, 'POST', '/v1/sandboxes', { token: dev(), body: { image: 'orcaops/busybox', ttl_seconds: 900 } });
    expect(created.status).toBe(201);
    sbx = created.body.id;
  });
  afterAll(async () => {
    await Promise.all([mcp, mcpB].map((c) => c?.close().catch(() => undefined)));
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('records REST execs and shell commands with exit code, duration and output bytes', async () => {
    expect((await exec({ command: 'echo hello' })).body.exit_code).toBe(0);
    expect((await exec({ command: 'echo oops >&2; exit 3' })).body.exit_code).toBe(3);
    expect((await exec({ args: ['echo', 'two words'] })).body.exit_code).toBe(0);
    const shell = await api(t.app, 'POST', `/v1/sandboxes/${sbx}/shells/work/run`, { token: dev(), body: { command: 'cd /tmp; printf abc; false' } });
    expect(shell.body).toMatchObject({ status: 'completed', exit_code: 1 });

    const res = await history();
    expect(res.status).toBe(200);
    const [sh, argv, failed, hello] = res.body.items;
    expect(hello).toMatchObject({ kind: 'exec', shell: null, command: 'echo hello', status: 'succeeded', reason: null, exit_code: 0, stdout_bytes: 6, stderr_bytes: 0, output_bytes: 6, output_truncated: false, command_truncated: false });
    expect(failed).toMatchObject({ command: 'echo oops >&2; exit 3', status: 'failed', exit_code: 3, stdout_bytes: 0, stderr_bytes: 5 });
    expect(argv).toMatchObject({ command: "echo 'two words'", exit_code: 0, stdout_bytes: 10 });
    expect(sh).toMatchObject({ kind: 'shell', shell: 'work', command: 'cd /tmp; printf abc; false', status: 'failed', exit_code: 1, stdout_bytes: 3 });
    for (const item of res.body.items) {
      expect(item.sandbox_id).toBe(sbx);
      expect(item.duration_ms).toBeGreaterThanOrEqual(0);
      expect(Date.parse(item.finished_at) - Date.parse(item.started_at)).toBe(item.duration_ms);
      expect(item.created_by).toBe(a.tokens.developer.id);
    }
  });

  it('filters by exit code, failure, kind, shell and text, and pages with a cursor', async () => {
    const commands = async (query: string): Promise<string[]> => (await history(query)).body.items.map((c: { command: string }) => c.command);
    expect(await commands('?exit_code=3')).toEqual(['echo oops >&2; exit 3']);
    expect(await commands('?failed=true')).toEqual(['cd /tmp; printf abc; false', 'echo oops >&2; exit 3']);
    expect(await commands('?kind=shell&shell=work')).toEqual(['cd /tmp; printf abc; false']);
    expect(await commands('?contains=HELLO')).toEqual(['echo hello']);
    expect(await commands('?contains=%25')).toEqual([]);
    expect(await commands(`?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).toEqual([]);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: ApiResponse = await history(`?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.items.map((c: { id: string }) => c.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual((await history()).body.items.map((c: { id: string }) => c.id));
    expectError(await history('?limit=201'), 400, 'validation_failed');
    expectError(await history('?failed=maybe'), 400, 'validation_failed');
  });

  it('masks workspace secrets and secret-named env values in the stored text', async () => {
    expect((await exec({ command: `echo ${SECRET} | wc -c` })).body.stdout.trim()).toBe(String(SECRET.length + 1));
    await exec({ command: `test "$API_TOKEN" = ${ENV_TOKEN}`, env: { API_TOKEN: ENV_TOKEN } });
    const [envCase, secretCase] = (await history('?limit=2')).body.items;
    expect(secretCase.command).toBe('echo *** | wc -c');
    expect(envCase).toMatchObject({ command: 'test "$API_TOKEN" = ***', exit_code: 0 });
    const leaked = await sql(t.databaseUrl, 'SELECT id FROM sandbox_commands WHERE command LIKE $1 OR command LIKE $2', [`%${SECRET}%`, `%${ENV_TOKEN}%`]);
    expect(leaked).toEqual([]);
    expect((await history(`?contains=${SECRET}`)).body.items).toEqual([]);
    // The exec's audit row (written before it runs) carries the same masked text.
    const audited = await sql<{ command: string }>(
      t.databaseUrl,
      `SELECT details->>'command' AS command FROM audit_events WHERE action = 'sandbox.exec' AND resource_id = $1 AND details->>'command' LIKE '%wc -c%'`,
      [sbx],
    );
    expect(audited).toEqual([{ command: '/bin/sh -c echo *** | wc -c' }]);
    // A background process's audit row is masked the same way (it used to mask only the sandbox's own secrets).
    const started = await api(t.app, 'POST', `/v1/sandboxes/${sbx}/processes`, {
      token: dev(),
      body: { command: `echo ${SECRET} ${ENV_TOKEN}`, env: { API_TOKEN: ENV_TOKEN } },
    });
    expect(started.status).toBe(201);
    const processRows = await sql<{ command: string }>(
      t.databaseUrl,
      `SELECT details->>'command' AS command FROM audit_events WHERE action = 'sandbox.process.start' AND resource_id = $1`,
      [sbx],
    );
    expect(processRows).toEqual([{ command: '/bin/sh -c echo *** ***' }]);
  });

  it('records CLI execs and reads the history through the CLI (--json and table)', async () => {
    const run = await runCli(['sandbox', 'exec', sbx, '--', 'sh', '-c', 'echo from-cli; exit 5'], cliEnv);
    expect(run.exitCode).toBe(5);
    const json = await runCli(['--json', 'sandbox', 'history', sbx, '--failed', '--limit', '10'], cliEnv);
    expect(json.exitCode).toBe(0);
    const page = JSON.parse(json.stdout);
    expect(page.items[0]).toMatchObject({ kind: 'exec', command: "sh -c 'echo from-cli; exit 5'", exit_code: 5, status: 'failed', stdout_bytes: 9 });
    const table = await runCli(['sandboxes', 'history', sbx, '--exit-code', '5', '--since', '1h'], cliEnv);
    expect(table.exitCode).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^STARTED_AT\s+KIND\s+SHELL\s+STATUS\s+EXIT_CODE\s+DURATION_MS\s+OUTPUT_BYTES\s+COMMAND$/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/exec\s+-\s+failed\s+5\s+\d+\s+9\s+sh -c 'echo from-cli; exit 5'$/);
    const missing = await runCli(['sandbox', 'history', '00000000-0000-4000-8000-000000000000'], cliEnv);
    expect(missing.exitCode).not.toBe(0);
  });

  it('records MCP execs and answers get_sandbox_history compactly', async () => {
    const ran = await tool(mcp, 'exec', { sandbox_id: sbx, command: 'echo via-mcp; exit 7' });
    expect(ran.structuredContent).toMatchObject({ exit_code: 7 });
    const failed = await tool(mcp, 'get_sandbox_history', { sandbox_id: sbx, failed_only: true, limit: 2 });
    expect(failed.isError).toBeFalsy();
    expect(failed.structuredContent.items).toEqual([
      expect.objectContaining({ kind: 'exec', command: 'echo via-mcp; exit 7', status: 'failed', exit_code: 7, output_bytes: 8 }),
      expect.objectContaining({ command: "sh -c 'echo from-cli; exit 5'", exit_code: 5 }),
    ]);
    expect(Object.keys(failed.structuredContent.items[0]).sort()).toEqual(['command', 'duration_ms', 'exit_code', 'kind', 'output_bytes', 'reason', 'shell', 'started_at', 'status']);
    expect(failed.structuredContent.next_cursor).toEqual(expect.any(String));
    const masked = await tool(mcp, 'get_sandbox_history', { sandbox_id: sbx, contains: 'wc -c' });
    expect(masked.structuredContent.items.map((c: { command: string }) => c.command)).toEqual(['echo *** | wc -c']);
  });

  it('answers another workspace exactly like a missing sandbox on REST and MCP', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    const foreign = await history('', b.tokens.developer.token);
    const absent = await api(t.app, 'GET', `/v1/sandboxes/${missing}/commands`, { token: b.tokens.developer.token });
    expectError(foreign, 404, 'not_found');
    expect(comparableError(foreign, { ':id': sbx })).toEqual(comparableError(absent, { ':id': missing }));
    const viaMcp = await tool(mcpB, 'get_sandbox_history', { sandbox_id: sbx });
    const missingViaMcp = await tool(mcpB, 'get_sandbox_history', { sandbox_id: missing });
    expect(viaMcp.isError).toBe(true);
    expect(viaMcp.content[0]!.text!.split(sbx).join(':id')).toBe(missingViaMcp.content[0]!.text!.split(missing).join(':id'));
  });

  it('keeps the history readable after the sandbox stopped', async () => {
    const before = (await history()).body.items.length;
    expect((await api(t.app, 'DELETE', `/v1/sandboxes/${sbx}`, { token: dev() })).body.status).toBe('stopped');
    const after = await history('', a.tokens.viewer.token);
    expect(after.status).toBe(200);
    expect(after.body.items).toHaveLength(before);
  });
});
