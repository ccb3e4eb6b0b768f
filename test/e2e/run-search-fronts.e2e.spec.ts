import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { runCli } from '../support/cli';
import type { ConnectedClient } from '../support/mcp';
import { httpClient, listen } from '../support/mcp';
import { seedRuns } from '../support/run-records';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

// The run search through the CLI and MCP (REST: run-search.e2e.spec.ts). 120 seeded runs in A (every
// 10th with a traceback in its output), 30 in B; see test/support/run-records.ts for the data.
interface ToolResult {
  isError?: boolean;
  content: Array<{ type: string; text: string }>;
  structuredContent?: { items: Array<Record<string, unknown>>; next_cursor: string | null };
}

describe('run search: CLI and MCP', () => {
  let t: TestApp;
  let url: string;
  let a: SeededWorkspace;
  let b: SeededWorkspace;
  let mcpA: ConnectedClient;
  let mcpB: ConnectedClient;
  let dir: string;

  const cli = (ws: SeededWorkspace, args: string[]) => runCli(args, { ORCAOPS_URL: url, ORCAOPS_TOKEN: ws.tokens.viewer.token, ORCAOPS_HOME: dir });
  const tool = async (m: ConnectedClient, args: Record<string, unknown>): Promise<ToolResult> =>
    (await m.client.callTool({ name: 'search_runs', arguments: args })) as ToolResult;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orcaops-search-cli-'));
    t = await createTestApp({ ORCAOPS_RUNTIME: 'fake' });
    url = await listen(t);
    a = await seedWorkspace(t.app, 'fronts-a');
    b = await seedWorkspace(t.app, 'fronts-b');
    await seedRuns(t.databaseUrl, a.id, { jobs: 120, chunksPerJob: 2, needleEvery: 10 });
    await seedRuns(t.databaseUrl, b.id, { jobs: 30, chunksPerJob: 2, needleEvery: 1 });
    mcpA = await httpClient(url, a.tokens.viewer.token);
    mcpB = await httpClient(url, b.tokens.viewer.token);
  });
  afterAll(async () => {
    await mcpA?.client.close();
    await mcpB?.client.close();
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('CLI: jobs search QUERY --json pages through matches; a table for people', async () => {
    const run = await cli(a, ['--json', 'jobs', 'search', 'status:failed', '"ZeroDivisionError"', '--limit', '200']);
    expect(run.exitCode).toBe(0);
    const page = JSON.parse(run.stdout) as { items: Array<{ id: string; status: string }>; next_cursor: string | null };
    // Job n fails when n % 6 == 3 and has a traceback when n % 10 == 0: never both (n odd vs even).
    expect(page.items).toEqual([]);
    const tracebacks = JSON.parse((await cli(a, ['--json', 'jobs', 'search', 'ZeroDivisionError', '--limit', '200'])).stdout) as { items: unknown[] };
    expect(tracebacks.items).toHaveLength(12);
    const table = await cli(a, ['jobs', 'search', 'tag:t3', '--limit', '5']);
    expect(table.stdout.split('\n')[0]).toMatch(/ID\s+STATUS\s+REASON/i);
    expect(table.stderr).toContain('more: --cursor ');
  });

  it('CLI: a malformed query fails with the position and the expectation', async () => {
    const run = await cli(a, ['jobs', 'search', 'status:failed', 'duration>3x']);
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toContain('position 14');
    expect(run.stderr).toContain('a duration like');
  });

  it('CLI: jobs export writes CSV (or JSON lines) to a file', async () => {
    const file = join(dir, 'runs.csv');
    const run = await cli(a, ['jobs', 'export', 'tag:t1', '--format', 'csv', '-o', file]);
    expect(run.exitCode).toBe(0);
    const lines = readFileSync(file, 'utf8').trim().split('\r\n');
    expect(lines[0]).toMatch(/^id,status,/);
    expect(lines).toHaveLength(1 + 12);
    const jsonl = join(dir, 'runs.jsonl');
    expect((await cli(a, ['jobs', 'export', 'tag:t1', '-o', jsonl])).exitCode).toBe(0);
    expect(readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { tags: string[] }).tags)).toEqual(Array(12).fill(['t1']));
  });

  it('MCP: search_runs takes the query syntax and answers compact rows', async () => {
    const result = await tool(mcpA, { query: 'ZeroDivisionError image:orcaops/python*', limit: 50 });
    expect(result.isError).toBeFalsy();
    const items = result.structuredContent!.items;
    // n % 10 == 0 and image n % 4 ∈ {0, 2} (python): every even n, so all 12 tracebacks.
    expect(items).toHaveLength(12);
    expect(Object.keys(items[0]!).sort()).toEqual(['created_at', 'duration_ms', 'exit_code', 'fingerprint', 'id', 'image', 'output_truncated', 'reason', 'status', 'tags']);
    expect(String(items[0]!.fingerprint)).toMatch(/^[a-f0-9]{12}$/);
    // The older structured arguments still work, combined with the query.
    const old = await tool(mcpA, { status: 'failed', tag: 't3', limit: 200 });
    expect(old.structuredContent!.items.every((r) => r.status === 'failed' && (r.tags as string[]).includes('t3'))).toBe(true);
    expect(old.structuredContent!.items.length).toBe(Array.from({ length: 120 }, (_, n) => n).filter((n) => n % 6 === 3 && n % 10 === 3).length);
  });

  it('MCP: a malformed query is a tool error naming the token and what was expected', async () => {
    const result = await tool(mcpA, { query: 'status:crashed' });
    expect(result.isError).toBe(true);
    expect(result.content[0]!.text).toContain('position 0');
    expect(result.content[0]!.text).toContain('one of awaiting_approval');
  });

  it("tenancy: each workspace's searches see only its own runs, on every front end", async () => {
    const idsOf = (r: ToolResult) => new Set(r.structuredContent!.items.map((i) => i.id as string));
    const aIds = idsOf(await tool(mcpA, { query: '', limit: 200 }));
    const bIds = idsOf(await tool(mcpB, { query: 'ZeroDivisionError', limit: 200 }));
    expect(aIds.size).toBe(120);
    expect(bIds.size).toBe(30);
    expect([...bIds].some((id) => aIds.has(id))).toBe(false);
    const cliB = JSON.parse((await cli(b, ['--json', 'jobs', 'search', '--limit', '200'])).stdout) as { items: Array<{ id: string }> };
    expect(new Set(cliB.items.map((i) => i.id))).toEqual(bIds);
  });
});
