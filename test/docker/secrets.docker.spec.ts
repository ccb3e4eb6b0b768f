import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { createHash, randomUUID } from 'node:crypto';
import { encodingsOf } from 'src/common/masking/secret-masker';
import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { removeInstallationContainers } from '../support/docker';
import type { ApiResponse } from '../support/http';
import { api } from '../support/http';
import { httpClient, listen } from '../support/mcp';
import { instancesOf, removeWorkflowLeftovers, submitWorkflow, waitForRun } from '../support/workflows';
import { sql } from '../support/sql';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

// Characters that encode differently in base64, URLs and JSON, so each encoding is a distinct string.
const VALUE = `tok/${randomUUID()}+"q" &x=1`;
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

interface ToolResult {
  isError?: boolean;
  structuredContent?: any;
  content: Array<{ type: string; text?: string }>;
}

/** A job with a secret on the real engine: the value reaches the container, and no output path shows it. */
describe('secrets in jobs (real engine)', () => {
  let t: TestApp;
  let a: SeededWorkspace;
  let baseUrl: string;
  let dev: string;
  let mcp: Client;
  const bodies: string[] = [];

  const call = async (method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<ApiResponse> => {
    const res = await api(t.app, method, path, { token: method === 'PUT' ? a.tokens.admin.token : dev, body });
    bodies.push(typeof res.body === 'string' ? res.body : JSON.stringify(res.body));
    return res;
  };
  const waitFor = async (id: string): Promise<any> => (await call('GET', `/v1/jobs/${id}/wait?timeout_seconds=120`)).body;
  const logText = async (id: string): Promise<string> => (await call('GET', `/v1/jobs/${id}/logs?format=text&limit=5000`)).body as string;

  beforeAll(async () => {
    t = await createTestApp();
    baseUrl = await listen(t);
    a = await seedWorkspace(t.app, 'secrets-docker');
    dev = a.tokens.developer.token;
    expect((await call('PUT', '/v1/secrets/DEPLOY_TOKEN', { value: VALUE })).status).toBe(200);
    mcp = (await httpClient(baseUrl, dev)).client;
  });
  afterAll(async () => {
    await mcp?.close().catch(() => undefined);
    await removeWorkflowLeftovers(t.databaseUrl);
    await removeInstallationContainers(t.databaseUrl);
    await t?.close();
  });

  // Prints the value, its base64, its URL and JSON forms, and the value in two writes 300 ms apart (two chunks).
  const LEAKY = [
    'echo "plain=$TOKEN"',
    'printf %s "$TOKEN" | base64 | tr -d "\\n"; echo',
    'printf %s "$TOKEN" | sha256sum',
    'printf "split=%s" "$(printf %s "$TOKEN" | cut -c1-12)"; sleep 0.3; printf "%s\\n" "$(printf %s "$TOKEN" | cut -c13-)"',
    'echo "stderr=$TOKEN" >&2',
  ].join('; ');

  it('sets the value in the container environment and masks it in the stored log, one step (main process)', async () => {
    const job = (await call('POST', '/v1/jobs', { image: 'orcaops/busybox', command: LEAKY, secrets: { TOKEN: 'DEPLOY_TOKEN' } })).body;
    expect(job.secrets).toEqual({ TOKEN: 'DEPLOY_TOKEN' });
    expect(await waitFor(job.id)).toMatchObject({ status: 'succeeded' });
    const text = await logText(job.id);
    // The container saw the real value: its hash matches.
    expect(text).toContain(sha256(VALUE));
    expect(text).toContain('plain=***');
    // Per stream: the engine may interleave stderr between the two halves of the stdout line.
    const items = (await call('GET', `/v1/jobs/${job.id}/logs?limit=5000`)).body.items as Array<{ stream: string; data: string }>;
    expect(items.filter((i) => i.stream === 'stdout').map((i) => i.data).join('')).toContain('split=***\n');
    expect(text).toContain('stderr=***');
    for (const form of encodingsOf(VALUE)) expect(text).not.toContain(form);
  });

  it('masks it in steps run as execs, and in the SSE stream while the job runs', async () => {
    const job = (await call('POST', '/v1/jobs', {
      image: 'orcaops/busybox',
      steps: [{ command: LEAKY }, { command: 'echo "second=$TOKEN"; echo "$TOKEN" | sed "s/^/urlish /"' }],
      secrets: { TOKEN: 'DEPLOY_TOKEN' },
    })).body;
    const response = await fetch(`${baseUrl}/v1/jobs/${job.id}/logs`, { headers: { authorization: `Bearer ${dev}`, accept: 'text/event-stream' } });
    const sse = await response.text();
    bodies.push(sse);
    expect(sse).toMatch(/event: end\ndata: \{"status":"succeeded"/);
    expect(sse).toContain('second=***');
    expect(sse).toContain(sha256(VALUE));
    const text = await logText(job.id);
    expect(text).toContain('urlish ***');
    for (const form of encodingsOf(VALUE)) {
      expect(sse).not.toContain(form);
      expect(text).not.toContain(form);
    }
  });

  it('masks it in MCP results (run_job with secrets, get_job_logs)', async () => {
    const listed = (await mcp.callTool({ name: 'list_secrets', arguments: {} })) as ToolResult;
    expect(listed.structuredContent.items.map((i: { name: string }) => i.name)).toEqual(['DEPLOY_TOKEN']);
    const run = (await mcp.callTool({ name: 'run_job', arguments: { image: 'orcaops/busybox', command: LEAKY, secrets: { TOKEN: 'DEPLOY_TOKEN' } } }, undefined, { timeout: 120_000 })) as ToolResult;
    expect(run.isError).toBeFalsy();
    expect(run.structuredContent.stdout_tail).toContain('plain=***');
    const logs = (await mcp.callTool({ name: 'get_job_logs', arguments: { job_id: run.structuredContent.job_id } })) as ToolResult;
    const unknown = (await mcp.callTool({ name: 'run_job', arguments: { image: 'orcaops/busybox', command: 'true', secrets: { T: 'NO_SUCH' } } })) as ToolResult;
    expect(unknown.isError).toBe(true);
    expect(JSON.stringify(unknown.content)).toContain('NO_SUCH');
    for (const r of [listed, run, logs, unknown]) bodies.push(JSON.stringify(r));
  });

  it('gives workflow steps ${{ secrets.X }} (missing: empty) and masks it in step logs, outputs and the summary', async () => {
    const yaml = `
name: secrets
jobs:
  use:
    image: orcaops/busybox
    outputs:
      leaked: \${{ steps.s.outputs.token }}
    steps:
      - id: s
        env:
          FROM_ENV: \${{ secrets.DEPLOY_TOKEN }}
        run: |
          echo 'run=\${{ secrets.DEPLOY_TOKEN }}'
          echo "env=$FROM_ENV"
          printf %s "$FROM_ENV" | sha256sum
          echo "missing=[\${{ secrets.NOT_THERE }}]"
          echo "token=$FROM_ENV" >> "$GITHUB_OUTPUT"
          echo "summary $FROM_ENV" >> "$GITHUB_STEP_SUMMARY"
`;
    const submitted = await submitWorkflow(t.app, dev, yaml);
    const run = await waitForRun(t.app, dev, submitted.id);
    bodies.push(JSON.stringify(run));
    const use = instancesOf(run).use;
    expect(use).toMatchObject({ status: 'succeeded', outputs: { leaked: '***' } });
    const text = await logText(use.job_id);
    expect(text).toContain('run=***');
    expect(text).toContain('env=***');
    expect(text).toContain('missing=[]');
    expect(text).toContain(sha256(VALUE));
    const again = await call('GET', `/v1/workflows/${submitted.id}`);
    expect(JSON.stringify(again.body)).not.toContain(VALUE);
    const rows = await sql<{ row: string }>(t.databaseUrl, 'SELECT row_to_json(w)::text AS row FROM workflow_instances w');
    bodies.push(...rows.map((r) => r.row));
    const uses = await sql<{ details: { names: string[] } }>(t.databaseUrl, "SELECT details FROM audit_events WHERE action = 'secret.use' AND resource_id = $1", [use.job_id]);
    expect(uses.map((u) => u.details.names)).toEqual([['DEPLOY_TOKEN']]);
  });

  it('never shows the value or an encoding of it in any response, job record or audit row', async () => {
    const jobs = await sql<{ row: string }>(t.databaseUrl, 'SELECT row_to_json(j)::text AS row FROM jobs j');
    const audit = await sql<{ row: string }>(t.databaseUrl, 'SELECT row_to_json(a)::text AS row FROM audit_events a');
    const chunks = await sql<{ data: string }>(t.databaseUrl, "SELECT convert_from(data, 'UTF8') AS data FROM job_log_chunks");
    const haystacks = [...bodies, ...jobs.map((r) => r.row), ...audit.map((r) => r.row), ...chunks.map((c) => c.data)];
    expect(audit.some((r) => r.row.includes('secret.use'))).toBe(true);
    for (const form of encodingsOf(VALUE)) expect(haystacks.filter((h) => h.includes(form))).toEqual([]);
  });
});
