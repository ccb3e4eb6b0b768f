import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunBaselines } from 'src/learning/run-baselines.service';
import { CONTAINER_RUNTIME } from 'src/runtime/container-runtime.port';
import type { FakeRuntime } from 'src/runtime/fake/fake.runtime';
import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { runCli } from '../support/cli';
import { api } from '../support/http';
import type { ConnectedClient } from '../support/mcp';
import { httpClient, listen } from '../support/mcp';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

interface ToolResult {
  isError?: boolean;
  content: Array<{ type: string; text: string }>;
  structuredContent?: { items: Array<Record<string, unknown>>; next_cursor: string | null };
}

// Baselines (issue 16 part 1) through REST, CLI and MCP: real PostgreSQL, the fake engine. A finished job
// updates its fingerprint's baseline off the finish path; RunBaselines.settled() awaits those updates.
describe('run baselines: REST, CLI and MCP', () => {
  let t: TestApp;
  let url: string;
  let fake: FakeRuntime;
  let a: SeededWorkspace;
  let b: SeededWorkspace;
  let mcpA: ConnectedClient;
  let mcpB: ConnectedClient;
  let dir: string;
  let fingerprint: string;

  const COMMAND = 'echo baseline';
  const cli = (token: string, args: string[]) => runCli(args, { ORCAOPS_URL: url, ORCAOPS_TOKEN: token, ORCAOPS_HOME: dir });
  const tool = async (m: ConnectedClient, args: Record<string, unknown>): Promise<ToolResult> =>
    (await m.client.callTool({ name: 'get_baselines', arguments: args })) as ToolResult;

  async function runJob(ws: SeededWorkspace, exitCode: number): Promise<{ fingerprint: string; status: string }> {
    fake.scriptMain(['/bin/sh', '-c', COMMAND], { exitCode });
    const submitted = await api(t.app, 'POST', '/v1/jobs', { token: ws.tokens.developer.token, body: { image: 'orcaops/busybox', command: COMMAND } });
    expect(submitted.status).toBe(201);
    const done = await api(t.app, 'GET', `/v1/jobs/${submitted.body.id}/wait?timeout_seconds=30`, { token: ws.tokens.developer.token });
    return { fingerprint: done.body.record.fingerprint, status: done.body.status };
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orcaops-baselines-'));
    t = await createTestApp({ ORCAOPS_RUNTIME: 'fake' });
    fake = t.app.get<FakeRuntime>(CONTAINER_RUNTIME);
    fake.addImage('orcaops/busybox');
    url = await listen(t);
    a = await seedWorkspace(t.app, 'baselines-a');
    b = await seedWorkspace(t.app, 'baselines-b');
    const runs = [];
    for (const exit of [0, 0, 1, 0, 0, 0]) runs.push(await runJob(a, exit));
    expect(runs[0]!.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(runs.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'failed', 'succeeded', 'succeeded', 'succeeded']);
    fingerprint = runs[0]!.fingerprint;
    expect(new Set(runs.map((r) => r.fingerprint))).toEqual(new Set([fingerprint]));
    await t.app.get(RunBaselines).settled();
    mcpA = await httpClient(url, a.tokens.viewer.token);
    mcpB = await httpClient(url, b.tokens.viewer.token);
  });
  afterAll(async () => {
    await mcpA?.client.close();
    await mcpB?.client.close();
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('REST: a finished job updates its fingerprint’s baseline: counts, success rates, quantiles, established after 5 successes', async () => {
    const one = await api(t.app, 'GET', `/v1/insights/baselines/${fingerprint}`, { token: a.tokens.viewer.token });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ fingerprint, runs: 6, succeeded: 5, failed: 1, success_rate: 0.833, established: true, established_after: 5 });
    expect(one.body.recent_success_rate).toBeGreaterThan(0.7);
    expect(one.body.duration_ms.samples).toBe(5);
    expect(one.body.duration_ms.p50).toBeGreaterThanOrEqual(0);
    expect(one.body.duration_ms.p99).toBeGreaterThanOrEqual(one.body.duration_ms.p50);
    const list = await api(t.app, 'GET', '/v1/insights/baselines?limit=10', { token: a.tokens.viewer.token });
    expect(list.body).toEqual({ items: [one.body], next_cursor: null });
  });

  it('REST: another workspace’s baseline is a 404 identical to a missing one, and its list is its own', async () => {
    const foreign = await api(t.app, 'GET', `/v1/insights/baselines/${fingerprint}`, { token: b.tokens.admin.token });
    const missing = 'f'.repeat(64);
    const absent = await api(t.app, 'GET', `/v1/insights/baselines/${missing}`, { token: b.tokens.admin.token });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.message.replace(fingerprint, 'X')).toBe(absent.body.error.message.replace(missing, 'X'));
    expect((await api(t.app, 'DELETE', `/v1/insights/baselines/${fingerprint}`, { token: b.tokens.admin.token })).status).toBe(404);
    expect((await api(t.app, 'GET', '/v1/insights/baselines', { token: b.tokens.viewer.token })).body.items).toEqual([]);
    expect((await api(t.app, 'GET', '/v1/insights/baselines/not-a-fingerprint', { token: a.tokens.viewer.token })).status).toBe(404);
    expect((await api(t.app, 'GET', '/v1/insights/baselines?limit=201', { token: a.tokens.viewer.token })).status).toBe(400);
    expect((await api(t.app, 'GET', '/v1/insights/baselines', {})).status).toBe(401);
  });

  it('MCP: get_baselines answers one fingerprint or the list; another workspace gets not_found', async () => {
    const one = await tool(mcpA, { fingerprint });
    expect(one.isError).toBeFalsy();
    expect(one.structuredContent!.items[0]).toMatchObject({ fingerprint, runs: 6, established: true });
    expect(one.content[0]!.text).toContain('6 run(s), success 83%');
    expect((await tool(mcpA, {})).structuredContent!.items).toHaveLength(1);
    const foreign = await tool(mcpB, { fingerprint });
    expect(foreign.isError).toBe(true);
    expect(foreign.content[0]!.text).toContain('not_found');
  });

  it('CLI: baselines lists (table and --json) and shows one; reset needs a workspace admin, is audited, and starts over', async () => {
    const table = await cli(a.tokens.viewer.token, ['baselines']);
    expect(table.exitCode).toBe(0);
    expect(table.stdout).toMatch(/FINGERPRINT\s+RUNS\s+SUCCESS/);
    expect(table.stdout).toContain(`${fingerprint.slice(0, 12)}  6     83%`);
    const json = await cli(a.tokens.viewer.token, ['--json', 'baselines', 'show', fingerprint]);
    expect(JSON.parse(json.stdout)).toMatchObject({ fingerprint, runs: 6 });
    const denied = await cli(a.tokens.developer.token, ['baselines', 'reset', fingerprint]);
    expect(denied.exitCode).not.toBe(0);
    expect(denied.stderr).toContain('lacks the permission "workspace:admin"');
    const reset = await cli(a.tokens.admin.token, ['--json', 'baselines', 'reset', fingerprint]);
    expect(reset.exitCode).toBe(0);
    expect((await api(t.app, 'GET', `/v1/insights/baselines/${fingerprint}`, { token: a.tokens.viewer.token })).status).toBe(404);
    const audit = await api(t.app, 'GET', '/v1/audit?action=baseline.reset', { token: a.tokens.admin.token });
    expect(audit.body.items.map((e: { resource_id: string }) => e.resource_id)).toEqual([fingerprint]);
    // The next run starts a new baseline.
    await runJob(a, 0);
    await t.app.get(RunBaselines).settled();
    expect((await api(t.app, 'GET', `/v1/insights/baselines/${fingerprint}`, { token: a.tokens.viewer.token })).body).toMatchObject({ runs: 1, established: false });
  });

  it('anomalies: a run far above its established baseline is recorded with its evidence, audited, listed on REST, MCP and CLI; admins change its state', async () => {
    const baselines = t.app.get(RunBaselines);
    const slowFingerprint = 'a'.repeat(64);
    const jobId = '00000000-0000-4000-8000-00000000a001';
    const synthetic = (durationMs: number, id?: string) => ({
      workspaceId: a.id,
      jobId: id,
      fingerprint: slowFingerprint,
      outcome: 'succeeded' as const,
      durationMs,
      memoryPeakBytes: 50 * 1024 * 1024,
      cpuSeconds: 1,
      finishedAt: new Date(),
    });
    for (const d of [1000, 1100, 900, 1050, 950, 1000]) await baselines.record(synthetic(d));
    await baselines.record(synthetic(10_000, jobId));
    const list = await api(t.app, 'GET', '/v1/insights/anomalies?state=open', { token: a.tokens.viewer.token });
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(1);
    const anomaly = list.body.items[0];
    expect(anomaly).toMatchObject({ fingerprint: slowFingerprint, job_id: jobId, kind: 'duration', severity: 'critical', state: 'open', state_changed_at: null });
    expect(anomaly.evidence).toMatchObject({ value: 10_000, baseline_runs: 6 });
    expect(anomaly.evidence.threshold).toBeLessThan(5_000);
    const detected = await api(t.app, 'GET', '/v1/audit?action=anomaly.detected', { token: a.tokens.admin.token });
    expect(detected.body.items.map((e: { resource_id: string; actor_type: string }) => [e.resource_id, e.actor_type])).toEqual([[anomaly.id, 'system']]);
    // Another workspace sees none, and cannot change it (404 like a missing one).
    expect((await api(t.app, 'GET', '/v1/insights/anomalies', { token: b.tokens.viewer.token })).body.items).toEqual([]);
    const foreign = await api(t.app, 'PATCH', `/v1/insights/anomalies/${anomaly.id}`, { token: b.tokens.admin.token, body: { state: 'resolved' } });
    expect(foreign.status).toBe(404);
    expect((await api(t.app, 'PATCH', `/v1/insights/anomalies/${anomaly.id}`, { token: a.tokens.developer.token, body: { state: 'resolved' } })).status).toBe(403);
    expect((await api(t.app, 'PATCH', `/v1/insights/anomalies/${anomaly.id}`, { token: a.tokens.admin.token, body: { state: 'gone' } })).status).toBe(400);
    // MCP for agents.
    const viaMcp = (await mcpA.client.callTool({ name: 'list_anomalies', arguments: { state: 'open' } })) as ToolResult;
    expect(viaMcp.structuredContent!.items.map((i) => i.id)).toEqual([anomaly.id]);
    expect(viaMcp.content[0]!.text).toContain('1 anomaly(ies), 1 critical');
    // CLI: list, then an admin acknowledges and resolves it.
    const table = await cli(a.tokens.viewer.token, ['anomalies', '--state', 'open']);
    expect(table.stdout).toMatch(/ID\s+DETECTED_AT\s+KIND/);
    expect(table.stdout).toContain(anomaly.id);
    expect((await cli(a.tokens.admin.token, ['--json', 'anomalies', 'ack', anomaly.id])).exitCode).toBe(0);
    const resolved = await cli(a.tokens.admin.token, ['--json', 'anomalies', 'resolve', anomaly.id]);
    expect(JSON.parse(resolved.stdout)).toMatchObject({ id: anomaly.id, state: 'resolved' });
    expect((await api(t.app, 'GET', '/v1/insights/anomalies?state=open', { token: a.tokens.viewer.token })).body.items).toEqual([]);
    const changes = await api(t.app, 'GET', '/v1/audit?action=anomaly.state', { token: a.tokens.admin.token });
    expect(changes.body.items.map((e: { details: { to: string } }) => e.details.to).sort()).toEqual(['acknowledged', 'resolved']);
  });
});
