import { Client } from 'pg';
import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import type { ConnectedClient } from '../support/mcp';
import { httpClient, listen } from '../support/mcp';
import { seedRuns } from '../support/run-records';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';
import { runCli } from '../support/cli';
import { api } from '../support/http';
import { sql } from '../support/sql';
import { submitWorkflow, waitForRun } from '../support/workflows';

// MCP: list_workflows, and run clean-up by age (delete_runs) for workspace admins, audited; another
// workspace's runs are never seen or touched. Fake engine (REST and CLI fronts: run-search specs).
interface ToolResult {
  isError?: boolean;
  content: Array<{ type: string; text: string }>;
  structuredContent?: any;
}

const FINISHED = 'status:succeeded,failed,timed_out,cancelled';

describe('MCP: list_workflows and delete_runs (jobs and workflow runs; REST and CLI for workflow runs)', () => {
  let t: TestApp;
  let url: string;
  let a: SeededWorkspace;
  let b: SeededWorkspace;
  const clients: ConnectedClient[] = [];

  const client = async (token: string): Promise<ConnectedClient> => {
    const c = await httpClient(url, token);
    clients.push(c);
    return c;
  };
  const call = async (c: ConnectedClient, name: string, args: Record<string, unknown>): Promise<ToolResult> => (await c.client.callTool({ name, arguments: args })) as ToolResult;
  const count = async (c: ConnectedClient, query: string): Promise<number> => (await call(c, 'search_runs', { query, limit: 200 })).structuredContent.items.length;

  beforeAll(async () => {
    t = await createTestApp({ ORCAOPS_RUNTIME: 'fake' });
    url = await listen(t);
    a = await seedWorkspace(t.app, 'cleanup-a');
    b = await seedWorkspace(t.app, 'cleanup-b');
    await seedRuns(t.databaseUrl, a.id, { jobs: 60, chunksPerJob: 1 });
    await seedRuns(t.databaseUrl, b.id, { jobs: 60, chunksPerJob: 1 });
  });
  afterAll(async () => {
    for (const c of clients) await c.client.close();
    await t?.close();
  });

  it('delete_runs: admins delete finished runs older than an age, audited; newer runs and other workspaces stay', async () => {
    const adminA = await client(a.tokens.admin.token);
    const viewerB = await client(b.tokens.viewer.token);
    const oldFinished = await count(adminA, `${FINISHED} until:30m`);
    const newer = await count(adminA, 'since:30m');
    const inB = await count(viewerB, '');
    expect(oldFinished).toBeGreaterThan(0);

    const dry = await call(adminA, 'delete_runs', { query: 'until:30m', dry_run: true });
    expect(dry.structuredContent).toEqual({ deleted: oldFinished, more: false, dry_run: true });
    expect(await count(adminA, `${FINISHED} until:30m`)).toBe(oldFinished);

    const done = await call(adminA, 'delete_runs', { query: 'until:30m' });
    expect(done.isError).toBeFalsy();
    expect(done.structuredContent).toEqual({ deleted: oldFinished, more: false, dry_run: false });
    expect(await count(adminA, `${FINISHED} until:30m`)).toBe(0);
    expect(await count(adminA, 'since:30m')).toBe(newer);
    expect(await count(viewerB, '')).toBe(inB);

    const db = new Client({ connectionString: t.databaseUrl });
    await db.connect();
    try {
      const rows = await db.query("SELECT workspace_id, details FROM audit_events WHERE action = 'job.bulk_delete'");
      expect(rows.rows).toEqual([{ workspace_id: a.id, details: expect.objectContaining({ query: 'until:30m', deleted: oldFinished }) }]);
    } finally {
      await db.end();
    }
  });

  it('delete_runs: refused for developers and without a condition', async () => {
    const dev = await client(a.tokens.developer.token);
    const refused = await call(dev, 'delete_runs', { query: 'until:1d' });
    expect(refused.isError).toBe(true);
    expect(refused.content[0]!.text).toMatch(/forbidden|permission/i);
    const admin = await client(a.tokens.admin.token);
    const everything = await call(admin, 'delete_runs', { query: ' ' });
    expect(everything.isError).toBe(true);
    expect(everything.content[0]!.text).toContain('needs at least one filter');
  });

  it("list_workflows: this workspace's runs, newest first, limited; never another's", async () => {
    const yaml = 'name: listed\njobs:\n  one:\n    image: orcaops/busybox\n    steps: [{run: "true"}]\n';
    const first = await submitWorkflow(t.app, a.tokens.developer.token, yaml);
    const second = await submitWorkflow(t.app, a.tokens.developer.token, yaml);
    const viewerA = await client(a.tokens.viewer.token);
    const listed = await call(viewerA, 'list_workflows', {});
    expect(listed.isError).toBeFalsy();
    expect(listed.structuredContent.items.map((r: any) => r.run_id)).toEqual([second.id, first.id]);
    expect(listed.structuredContent.items[0]).toMatchObject({ name: 'listed', session_id: null });
    const viewerB = await client(b.tokens.viewer.token);
    expect((await call(viewerB, 'list_workflows', {})).structuredContent.items).toEqual([]);
    const limited = await call(viewerA, 'list_workflows', { limit: 1 });
    expect(limited.structuredContent.items).toHaveLength(1);
  });

  it('workflow runs by age: delete_runs kind=workflow_runs (MCP), POST /v1/workflows/delete-by-query (REST), orcaops runs cleanup (CLI); admins only, audited', async () => {
    const yaml = 'name: aged\njobs:\n  one:\n    image: orcaops/busybox\n    steps: [{run: "true"}]\n';
    const submit = async (ws: SeededWorkspace): Promise<string> => {
      const run = await submitWorkflow(t.app, ws.tokens.developer.token, yaml);
      await waitForRun(t.app, ws.tokens.developer.token, run.id);
      return run.id;
    };
    const [oldA, oldA2, newA, oldB] = [await submit(a), await submit(a), await submit(a), await submit(b)];
    await sql(t.databaseUrl, "UPDATE workflow_runs SET created_at = now() - interval '40 days' WHERE id = ANY($1::uuid[])", [[oldA, oldA2, oldB]]);
    const exists = async (ws: SeededWorkspace, id: string): Promise<boolean> => (await api(t.app, 'GET', `/v1/workflows/${id}`, { token: ws.tokens.viewer.token })).status === 200;

    const admin = await client(a.tokens.admin.token);
    const dry = await call(admin, 'delete_runs', { kind: 'workflow_runs', query: 'until:30d', dry_run: true });
    expect(dry.structuredContent).toEqual({ deleted: 2, more: false, dry_run: true });
    const unsupported = await call(admin, 'delete_runs', { kind: 'workflow_runs', query: 'until:30d image:orcaops/busybox' });
    expect(unsupported.isError).toBe(true);
    expect(unsupported.content[0]!.text).toContain('cannot be filtered by image');
    const refused = await api(t.app, 'POST', '/v1/workflows/delete-by-query', { token: a.tokens.developer.token, body: { q: 'until:30d' } });
    expect(refused.status).toBe(403);

    const one = await api(t.app, 'POST', '/v1/workflows/delete-by-query', { token: a.tokens.admin.token, body: { q: `until:30d fp:${'0'.repeat(8)}`, dry_run: true } });
    expect(one.body).toEqual({ deleted: 0, more: false, dry_run: true });
    const viaMcp = await call(admin, 'delete_runs', { kind: 'workflow_runs', query: 'until:30d status:succeeded,failed,cancelled' });
    expect(viaMcp.isError).toBeFalsy();
    expect(viaMcp.structuredContent).toEqual({ deleted: 2, more: false, dry_run: false });
    expect([await exists(a, oldA), await exists(a, oldA2), await exists(a, newA), await exists(b, oldB)]).toEqual([false, false, true, true]);

    // The CLI over REST: B's admin cleans B's history (jobs and workflow runs), nothing of A's.
    const env = { ORCAOPS_URL: url, ORCAOPS_TOKEN: b.tokens.admin.token, ORCAOPS_HOME: t.home };
    const cli = await runCli(['--json', 'runs', 'cleanup', '--older-than', '30d', '--kind', 'workflows'], env);
    expect(cli.exitCode).toBe(0);
    expect(JSON.parse(cli.stdout)).toEqual({ query: 'until:30d', workflow_runs: { deleted: 1, more: false, dry_run: false } });
    expect([await exists(b, oldB), await exists(a, newA)]).toEqual([false, true]);

    const rows = await sql<{ workspace_id: string; via: string; details: any }>(t.databaseUrl, "SELECT workspace_id, via, details FROM audit_events WHERE action = 'workflow.bulk_delete' ORDER BY occurred_at");
    expect(rows).toEqual([
      { workspace_id: a.id, via: 'mcp', details: expect.objectContaining({ deleted: 2 }) },
      { workspace_id: b.id, via: 'rest', details: expect.objectContaining({ deleted: 1, query: 'until:30d' }) },
    ]);
  });
});
