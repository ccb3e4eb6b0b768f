import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodingsOf } from 'src/common/masking/secret-masker';
import type { TestApp } from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { runCli } from '../support/cli';
import { removeInstallationContainers } from '../support/docker';
import { expectError } from '../support/errors';
import type { ApiResponse } from '../support/http';
import { api } from '../support/http';
import { httpClient, listen } from '../support/mcp';
import { sql } from '../support/sql';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

// Characters that encode differently in base64, URLs and JSON, so each encoding is a distinct string.
const VALUE = `tok/${randomUUID()}+"q" &x=1`;
const ORG_VALUE = `org/${randomUUID()}`;
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

// The value plain, in base64, hashed (proof the container saw it), split across two writes 300 ms apart, and on stderr.
const LEAKY = [
  'echo "plain=$TOKEN"',
  'printf %s "$TOKEN" | base64 | tr -d "\\n"; echo',
  'printf %s "$TOKEN" | sha256sum',
  'printf "split=%s" "$(printf %s "$TOKEN" | cut -c1-12)"; sleep 0.3; printf "%s\\n" "$(printf %s "$TOKEN" | cut -c13-)"',
  'echo "stderr=$TOKEN" >&2',
].join('; ');

interface ToolResult {
  isError?: boolean;
  structuredContent?: any;
  content: Array<{ type: string; text?: string }>;
}

/** Sandboxes and profiles with secrets on the real engine: the values reach every command, and no output path shows them. */
describe('secrets in sandboxes (real engine)', () => {
  let t: TestApp;
  let a: SeededWorkspace;
  let baseUrl: string;
  let dev: string;
  let mcp: Client;
  let sbx: string;
  let home: string;
  const bodies: string[] = [];

  const call = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, token = dev): Promise<ApiResponse> => {
    const res = await api(t.app, method, path, { token, body });
    bodies.push(typeof res.body === 'string' ? res.body : JSON.stringify(res.body));
    return res;
  };
  const exec = (command: string, id = sbx): Promise<ApiResponse> => call('POST', `/v1/sandboxes/${id}/exec`, { command });
  const expectNoForm = (text: string): void => {
    for (const form of [...encodingsOf(VALUE), ...encodingsOf(ORG_VALUE)]) expect(text).not.toContain(form);
  };

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'orcaops-sbx-secrets-'));
    const profiles = join(home, 'sandboxes.yml');
    writeFileSync(
      profiles,
      ['profiles:', '  deploy:', '    image: orcaops/busybox', `    command: ${JSON.stringify('echo "profile=$TOKEN"; printf %s "$TOKEN" | sha256sum')}`, '    secrets:', '      TOKEN: DEPLOY_TOKEN', ''].join('\n'),
    );
    t = await createTestApp({ ORCAOPS_SANDBOX_PROFILES: profiles });
    baseUrl = await listen(t);
    a = await seedWorkspace(t.app, 'sandbox-secrets');
    dev = a.tokens.developer.token;
    expect((await call('PUT', '/v1/secrets/DEPLOY_TOKEN', { value: VALUE }, a.tokens.admin.token)).status).toBe(200);
    expect((await call('PUT', '/v1/secrets/organisation/ORG_ONLY_TOKEN', { value: ORG_VALUE }, TEST_ADMIN_TOKEN)).status).toBe(200);
    mcp = (await httpClient(baseUrl, dev)).client;
    const created = await call('POST', '/v1/sandboxes', { image: 'orcaops/busybox', ttl_seconds: 900, secrets: { TOKEN: 'DEPLOY_TOKEN', ORG: 'ORG_ONLY_TOKEN' } });
    expect(created.status).toBe(201);
    expect(created.body.secrets).toEqual({ TOKEN: 'DEPLOY_TOKEN', ORG: 'ORG_ONLY_TOKEN' });
    sbx = created.body.id;
  });
  afterAll(async () => {
    await mcp?.close().catch(() => undefined);
    await removeInstallationContainers(t.databaseUrl);
    await t?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('masks exec results (stdout, stderr, a value split across chunks, the failure summary); the container sees the values', async () => {
    const res = await exec(`${LEAKY}; echo "org=$ORG"; printf %s "$ORG" | sha256sum; echo "fatal: $TOKEN" >&2; exit 3`);
    expect(res.status).toBe(200);
    expect(res.body.exit_code).toBe(3);
    expect(res.body.stdout).toContain(sha256(VALUE));
    expect(res.body.stdout).toContain(sha256(ORG_VALUE));
    expect(res.body.stdout).toContain('plain=***');
    expect(res.body.stdout).toContain('split=***\n');
    expect(res.body.stdout).toContain('org=***');
    expect(res.body.stderr).toContain('stderr=***');
    expect(res.body.summary).not.toBeNull();
    expectNoForm(JSON.stringify(res.body));
  });

  it('masks the streamed exec (SSE)', async () => {
    const response = await fetch(`${baseUrl}/v1/sandboxes/${sbx}/exec`, {
      method: 'POST',
      headers: { authorization: `Bearer ${dev}`, accept: 'text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ command: LEAKY }),
    });
    const sse = await response.text();
    bodies.push(sse);
    expect(sse).toMatch(/event: exit\ndata: \{"exit_code":0/);
    expect(sse).toContain('plain=***');
    expect(sse).toContain(sha256(VALUE));
    expectNoForm(sse);
  });

  it('masks shell output, also a value split across two responses of one command', async () => {
    const first = await call('POST', `/v1/sandboxes/${sbx}/shells/main/run`, { command: 'echo "shell=$TOKEN"; printf %s "$ORG" | sha256sum' });
    expect(first.body).toMatchObject({ status: 'completed', exit_code: 0 });
    expect(first.body.output).toContain('shell=***');
    expect(first.body.output).toContain(sha256(ORG_VALUE));
    // The first half is printed, then the command waits: the response after the soft timeout must not show the half.
    const slow = await call('POST', `/v1/sandboxes/${sbx}/shells/main/run`, {
      command: 'printf "half=%s" "$(printf %s "$TOKEN" | cut -c1-12)"; sleep 3; printf "%s\\n" "$(printf %s "$TOKEN" | cut -c13-)"',
      timeout_seconds: 1,
    });
    let output = slow.body.output as string;
    let view = slow.body;
    while (view.status === 'running') {
      view = (await call('POST', `/v1/sandboxes/${sbx}/shells/main/wait`, { timeout_seconds: 30 })).body;
      output += view.output;
    }
    expect(view.exit_code).toBe(0);
    expect(output).toBe('half=***\n');
  });

  it('masks background process output', async () => {
    const started = await call('POST', `/v1/sandboxes/${sbx}/processes`, { command: 'echo "proc=$TOKEN"; sleep 0.3; echo "$TOKEN" >&2' });
    expect(started.status).toBe(201);
    const pid = started.body.process_id as string;
    // Bounded poll: the process ends within a second on an idle machine.
    const until = Date.now() + 60_000;
    let page = (await call('GET', `/v1/sandboxes/${sbx}/processes/${pid}/output?after=0`)).body;
    while (page.running && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      page = (await call('GET', `/v1/sandboxes/${sbx}/processes/${pid}/output?after=0`)).body;
    }
    expect(page.running).toBe(false);
    const text = page.items.map((c: { data: string }) => c.data).join('');
    expect(text).toContain('proc=***\n');
    expect(text).toContain('***\n');
    expectNoForm(text);
  });

  it('masks MCP results (create_sandbox with secrets, exec, shell)', async () => {
    const created = (await mcp.callTool({ name: 'create_sandbox', arguments: { image: 'orcaops/busybox', secrets: { TOKEN: 'DEPLOY_TOKEN' } } })) as ToolResult;
    expect(created.isError).toBeFalsy();
    const id = created.structuredContent.sandbox.id as string;
    const ran = (await mcp.callTool({ name: 'exec', arguments: { sandbox_id: id, command: LEAKY } })) as ToolResult;
    expect(ran.isError).toBeFalsy();
    expect(ran.structuredContent.stdout).toContain('plain=***');
    expect(ran.structuredContent.stdout).toContain(sha256(VALUE));
    const shell = (await mcp.callTool({ name: 'shell', arguments: { sandbox_id: id, command: 'echo "mcp=$TOKEN"' } })) as ToolResult;
    expect(shell.structuredContent.output).toContain('mcp=***');
    const unknown = (await mcp.callTool({ name: 'create_sandbox', arguments: { image: 'orcaops/busybox', secrets: { T: 'NO_SUCH_SECRET' } } })) as ToolResult;
    expect(unknown.isError).toBe(true);
    expect(JSON.stringify(unknown.content)).toContain('NO_SUCH_SECRET');
    for (const r of [created, ran, shell, unknown]) {
      bodies.push(JSON.stringify(r));
      expectNoForm(JSON.stringify(r));
    }
    await call('DELETE', `/v1/sandboxes/${id}`);
  });

  it('masks through the CLI (sandbox create --secret, sandbox exec)', async () => {
    const env = { ORCAOPS_URL: baseUrl, ORCAOPS_TOKEN: dev, ORCAOPS_HOME: home };
    const created = await runCli(['--json', 'sandbox', 'create', 'orcaops/busybox', '--secret', 'TOKEN=DEPLOY_TOKEN'], env);
    expect(created.exitCode).toBe(0);
    const id = JSON.parse(created.stdout).id as string;
    const run = await runCli(['sandbox', 'exec', id, '--', 'sh', '-c', 'echo "cli=$TOKEN"; printf %s "$TOKEN" | sha256sum'], env);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain('cli=***');
    expect(run.stdout).toContain(sha256(VALUE));
    bodies.push(created.stdout, run.stdout, run.stderr);
    expectNoForm(run.stdout + run.stderr);
    await call('DELETE', `/v1/sandboxes/${id}`);
  });

  it('gives a profile its secrets: a sandbox from the profile and its one-shot run', async () => {
    const created = await call('POST', '/v1/sandboxes', { profile: 'deploy' });
    expect(created.status).toBe(201);
    expect(created.body.secrets).toEqual({ TOKEN: 'DEPLOY_TOKEN' });
    const res = await exec('echo "from-profile=$TOKEN"', created.body.id);
    expect(res.body.stdout).toBe('from-profile=***\n');
    await call('DELETE', `/v1/sandboxes/${created.body.id}`);
    const job = await call('POST', '/v1/sandbox-profiles/deploy/run', {});
    expect(job.status).toBe(201);
    expect(job.body.secrets).toEqual({ TOKEN: 'DEPLOY_TOKEN' });
    const done = await call('GET', `/v1/jobs/${job.body.id}/wait?timeout_seconds=120`);
    expect(done.body.status).toBe('succeeded');
    const log = (await call('GET', `/v1/jobs/${job.body.id}/logs?format=text&limit=1000`)).body as string;
    expect(log).toContain('profile=***');
    expect(log).toContain(sha256(VALUE));
  });

  it('fails a command naming a secret deleted since the sandbox was created', async () => {
    expect((await call('PUT', '/v1/secrets/SHORT_LIVED', { value: `gone-${randomUUID()}` }, a.tokens.admin.token)).status).toBe(200);
    const created = await call('POST', '/v1/sandboxes', { image: 'orcaops/busybox', secrets: { GONE: 'SHORT_LIVED' } });
    expect(created.status).toBe(201);
    expect((await call('DELETE', '/v1/secrets/SHORT_LIVED', undefined, a.tokens.admin.token)).status).toBe(200);
    const res = await exec('echo "$GONE"', created.body.id);
    expectError(res, 400, 'validation_failed');
    expect(res.body.error.message).toContain('SHORT_LIVED');
    await call('DELETE', `/v1/sandboxes/${created.body.id}`);
  });

  it('never shows a value or an encoding of it in any response, sandbox row or audit row', async () => {
    const sandboxes = await sql<{ row: string }>(t.databaseUrl, 'SELECT row_to_json(s)::text AS row FROM sandboxes s');
    const audit = await sql<{ row: string }>(t.databaseUrl, 'SELECT row_to_json(a)::text AS row FROM audit_events a');
    const jobs = await sql<{ row: string }>(t.databaseUrl, 'SELECT row_to_json(j)::text AS row FROM jobs j');
    const chunks = await sql<{ data: string }>(t.databaseUrl, "SELECT convert_from(data, 'UTF8') AS data FROM job_log_chunks");
    const haystacks = [...bodies, ...sandboxes.map((r) => r.row), ...audit.map((r) => r.row), ...jobs.map((r) => r.row), ...chunks.map((c) => c.data)];
    const uses = await sql<{ resource_id: string; details: { names: string[] } }>(t.databaseUrl, "SELECT resource_id, details FROM audit_events WHERE action = 'secret.use' AND resource_id = $1", [sbx]);
    expect(uses.map((u) => u.details.names)).toEqual([['DEPLOY_TOKEN', 'ORG_ONLY_TOKEN']]);
    expect(haystacks.length).toBeGreaterThan(20);
    for (const form of [...encodingsOf(VALUE), ...encodingsOf(ORG_VALUE)]) expect(haystacks.filter((h) => h.includes(form))).toEqual([]);
  });
});
