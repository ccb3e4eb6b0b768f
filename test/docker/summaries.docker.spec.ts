import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { runCli } from '../support/cli';
import { removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import { httpClient, listen } from '../support/mcp';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

interface ToolResult {
  isError?: boolean;
  structuredContent?: any;
  content: Array<{ type: string; text?: string }>;
}

/** A Python script whose innermost frame imports a module the image does not have. */
const FAILING_SCRIPT = [
  'import sys',
  'print("loading")',
  'def main():',
  '    import requests',
  'main()',
].join('\n');
const PYTHON_FAILURE = ['python3', '-c', FAILING_SCRIPT];

/** Summaries of real failing jobs (orcaops/python on the engine) through REST, the CLI and MCP. */
describe('job summaries on the real engine', () => {
  let t: TestApp;
  let baseUrl: string;
  let a: SeededWorkspace;
  let b: SeededWorkspace;
  let dev: string;
  let home: string;
  let mcp: Client | undefined;

  beforeAll(async () => {
    t = await createTestApp();
    baseUrl = await listen(t);
    a = await seedWorkspace(t.app, 'summaries-a');
    b = await seedWorkspace(t.app, 'summaries-b');
    dev = a.tokens.developer.token;
    home = mkdtempSync(join(tmpdir(), 'orcaops-summaries-'));
  });
  afterAll(async () => {
    await mcp?.close().catch(() => undefined);
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
    rmSync(home, { recursive: true, force: true });
  });

  async function failedJob(body: Record<string, unknown>): Promise<string> {
    const created = await api(t.app, 'POST', '/v1/jobs', { token: dev, body });
    expect(created.status).toBe(201);
    const done = await api(t.app, 'GET', `/v1/jobs/${created.body.id}/wait?timeout_seconds=120`, { token: dev });
    expect(done.body.status).not.toBe('succeeded');
    return created.body.id as string;
  }

  it('REST: names the exception, its innermost frame and the missing module; 404 for another tenant', async () => {
    const id = await failedJob({ image: 'orcaops/python', command: `python3 -c '${FAILING_SCRIPT}'`, env: { API_TOKEN: 'tok-very-secret-value' } });
    const res = await api(t.app, 'GET', `/v1/jobs/${id}/summary`, { token: dev });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ job_id: id, status: 'failed', kind: 'python_exception' });
    expect(res.body.summary).toBe("ModuleNotFoundError: No module named 'requests' (at <string>:4 in main)");
    expect(res.body.suggestion).toContain('pip install requests');
    const errorLine = res.body.excerpt.find((e: any) => e.line === res.body.error_line);
    expect(errorLine.text).toBe("ModuleNotFoundError: No module named 'requests'");
    expect(res.body.excerpt[0].line).toBeLessThan(res.body.error_line);

    const foreign = await api(t.app, 'GET', `/v1/jobs/${id}/summary`, { token: b.tokens.developer.token });
    const absent = await api(t.app, 'GET', '/v1/jobs/00000000-0000-4000-8000-000000000000/summary', { token: b.tokens.developer.token });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe(absent.body.error.code);
    expect(absent.status).toBe(404);
  });

  it('REST: masks secret env values and takes an OOM kill from the record; 409 while running', async () => {
    const leaky = await failedJob({ image: 'orcaops/busybox', command: 'echo "error: bad token $API_TOKEN"; exit 2', env: { API_TOKEN: 'tok-very-secret-value' } });
    const masked = await api(t.app, 'GET', `/v1/jobs/${leaky}/summary`, { token: dev });
    expect(JSON.stringify(masked.body)).not.toContain('tok-very-secret-value');
    expect(masked.body.summary).toContain('error: bad token ***');

    const oom = await failedJob({ image: 'orcaops/python', command: 'python3 -c "x = bytearray(400 * 1024 * 1024); print(len(x))"', resources: { memory_mb: 64 } });
    const job = await api(t.app, 'GET', `/v1/jobs/${oom}`, { token: dev });
    const summary = await api(t.app, 'GET', `/v1/jobs/${oom}/summary`, { token: dev });
    // The kernel kills it (oom_killed) or Python gives up first (MemoryError): the summary says which.
    if (job.body.reason === 'oom_killed') {
      expect(summary.body).toMatchObject({ kind: 'oom_killed', error_line: null });
      expect(summary.body.suggestion).toContain('--memory 128m');
    } else expect(summary.body.summary).toContain('MemoryError');

    const running = await api(t.app, 'POST', '/v1/jobs', { token: dev, body: { image: 'orcaops/busybox', command: 'sleep 30' } });
    const early = await api(t.app, 'GET', `/v1/jobs/${running.body.id}/summary`, { token: dev });
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe('conflict');
    await api(t.app, 'POST', `/v1/jobs/${running.body.id}/cancel`, { token: dev });
  });

  it('CLI: orcaops run prints the summary on failure; orcaops jobs summary shows it', async () => {
    const env = { ORCAOPS_URL: baseUrl, ORCAOPS_TOKEN: dev, ORCAOPS_HOME: home };
    const run = await runCli(['run', 'orcaops/python', '--', ...PYTHON_FAILURE], env);
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('loading');
    expect(run.stderr).toContain("why: ModuleNotFoundError: No module named 'requests' (at <string>:4 in main)");
    expect(run.stderr).toMatch(/\d+ > ModuleNotFoundError: No module named 'requests'/);
    expect(run.stderr).toContain('try: the module "requests" is not installed: pip install requests');
    const id = /job ([0-9a-f-]{36}) failed/.exec(run.stderr)![1]!;

    const shown = await runCli(['jobs', 'summary', id], env);
    expect(shown.exitCode).toBe(0);
    expect(shown.stdout).toContain("why: ModuleNotFoundError: No module named 'requests'");
    const json = await runCli(['--json', 'jobs', 'summary', id], env);
    expect(JSON.parse(json.stdout)).toMatchObject({ job_id: id, kind: 'python_exception' });

    const ok = await runCli(['run', 'orcaops/busybox', '--', 'true'], env);
    expect(ok.exitCode).toBe(0);
    expect(ok.stderr).not.toContain('why:');
  });

  it('MCP: run_job and get_job carry the summary and a short tail; get_job_log_excerpt the numbered lines', async () => {
    mcp = (await httpClient(baseUrl, dev)).client;
    const call = (name: string, args: Record<string, unknown>): Promise<ToolResult> =>
      mcp!.callTool({ name, arguments: args }, undefined, { timeout: 120_000 }) as Promise<ToolResult>;
    const noisy = `for i in range(3000): print("progress line", i)\n${FAILING_SCRIPT}`;
    const ran = await call('run_job', { image: 'orcaops/python', steps: [{ args: ['python3', '-c', noisy] }] });
    expect(ran.isError).toBeFalsy();
    const result = ran.structuredContent;
    expect(result).toMatchObject({ status: 'failed', summary: { kind: 'python_exception', summary: "ModuleNotFoundError: No module named 'requests' (at <string>:5 in main)" } });
    expect(result.summary.suggestion).toContain('pip install requests');
    expect(result.stdout_tail.length).toBeLessThanOrEqual(2000);
    expect(ran.content[0]!.text).toContain("failed (exit 1): ModuleNotFoundError: No module named 'requests'");

    const got = await call('get_job', { job_id: result.job_id });
    expect(got.structuredContent.summary).toEqual(result.summary);

    const excerpt = await call('get_job_log_excerpt', { job_id: result.job_id });
    expect(excerpt.structuredContent).toMatchObject({ kind: 'python_exception', error_line: result.summary.error_line });
    expect(excerpt.structuredContent.excerpt).toContain(`${result.summary.error_line}> ModuleNotFoundError: No module named 'requests'`);

    const other = (await httpClient(baseUrl, b.tokens.developer.token)).client;
    const foreign = (await other.callTool({ name: 'get_job_log_excerpt', arguments: { job_id: result.job_id } })) as ToolResult;
    await other.close();
    expect(foreign.isError).toBe(true);
    expect(foreign.content.map((c) => c.text).join('\n')).toContain('not_found');
  });

  it('sandbox exec: a failed command carries a summary (REST, CLI --json, MCP); a successful one none', async () => {
    const created = await api(t.app, 'POST', '/v1/sandboxes', { token: dev, body: { image: 'orcaops/python', ttl_seconds: 300 } });
    expect(created.status).toBe(201);
    const sbx = created.body.id as string;
    try {
      const failed = await api(t.app, 'POST', `/v1/sandboxes/${sbx}/exec`, { token: dev, body: { args: PYTHON_FAILURE } });
      expect(failed.status).toBe(200);
      expect(failed.body.summary).toEqual({
        kind: 'python_exception',
        summary: "ModuleNotFoundError: No module named 'requests' (at <string>:4 in main)",
        suggestion: expect.stringContaining('pip install requests'),
      });
      const ok = await api(t.app, 'POST', `/v1/sandboxes/${sbx}/exec`, { token: dev, body: { command: 'true' } });
      expect(ok.body.summary).toBeNull();

      const cli = await runCli(['--json', 'sandbox', 'exec', sbx, '--', 'cat /workspace/missing.txt'], { ORCAOPS_URL: baseUrl, ORCAOPS_TOKEN: dev, ORCAOPS_HOME: home });
      expect(JSON.parse(cli.stdout).summary).toMatchObject({ kind: 'no_such_file', summary: 'no such file or directory: /workspace/missing.txt' });

      const client = (await httpClient(baseUrl, dev)).client;
      const viaMcp = (await client.callTool({ name: 'exec', arguments: { sandbox_id: sbx, command: 'jq .' } }, undefined, { timeout: 120_000 })) as ToolResult;
      await client.close();
      expect(viaMcp.structuredContent.summary).toMatchObject({ kind: 'command_not_found', summary: 'command not found: jq' });
    } finally {
      await api(t.app, 'DELETE', `/v1/sandboxes/${sbx}`, { token: dev });
    }
  });
});
