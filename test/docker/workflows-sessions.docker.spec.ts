import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Client as SdkClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SessionReaperService } from 'src/sessions/session-reaper.service';
import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { runCli } from '../support/cli';
import { jobContainers, removeInstallationContainers } from '../support/docker';
import { expectError } from '../support/errors';
import { api } from '../support/http';
import { listen } from '../support/mcp';
import { sql } from '../support/sql';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';
import { instancesOf, removeWorkflowLeftovers, submitWorkflow, waitForRun, workflowLeftovers } from '../support/workflows';

jest.setTimeout(180_000);

const SESSION_HEADER = 'x-orcaops-session';

const TWO_JOBS_YAML = `name: session-two-jobs
jobs:
  build:
    image: orcaops/busybox
    steps:
      - run: echo built
  use:
    needs: build
    image: orcaops/busybox
    steps:
      - run: echo used
`;

/** Fails once, then waits a minute before its retry: the run is running with no job running. */
const RETRY_LATER_YAML = `name: session-retry-later
jobs:
  flaky:
    image: orcaops/busybox
    retry:
      max: 1
      when: [failure]
      backoff: { delay: 60s }
    steps:
      - run: exit 1
`;

const LONG_YAML = `name: session-long
jobs:
  long:
    image: orcaops/busybox
    steps:
      - run: echo started; sleep 300
`;

/** Workflow runs in agent sessions: linked through REST (body, header), the CLI and MCP; cleanup cancels them. */
describe('workflow runs in agent sessions (real engine)', () => {
  let t: TestApp;
  let a: SeededWorkspace;
  let b: SeededWorkspace;
  let dev: string;
  let baseUrl: string;
  let dir: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    t = await createTestApp();
    baseUrl = await listen(t);
    a = await seedWorkspace(t.app, 'wf-sessions-a');
    b = await seedWorkspace(t.app, 'wf-sessions-b');
    dev = a.tokens.developer.token;
    dir = mkdtempSync(join(tmpdir(), 'orcaops-wf-sessions-'));
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await removeWorkflowLeftovers(t.databaseUrl);
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function openSession(): Promise<string> {
    const res = await api(t.app, 'POST', '/v1/sessions', { token: dev, body: { agent_type: 'claude-code', name: 'workflow session' } });
    expect(res.status).toBe(201);
    return res.body.id;
  }

  const jobIdsOf = (run: any): string[] => Object.values(instancesOf(run)).map((i: any) => i.job_id);

  it('REST: the body or the header links the run and its instance jobs; view, list filter and audit show it', async () => {
    const session = await openSession();
    const byBody = await submitWorkflow(t.app, dev, TWO_JOBS_YAML, { session_id: session });
    expect(byBody.session_id).toBe(session);
    const res = await api(t.app, 'POST', '/v1/workflows', { token: dev, body: { yaml: TWO_JOBS_YAML }, headers: { [SESSION_HEADER]: session } });
    expect(res.status).toBe(201);
    expect(res.body.session_id).toBe(session);
    const unlinked = await submitWorkflow(t.app, dev, TWO_JOBS_YAML);
    expect(unlinked.session_id).toBeNull();

    const runs = await Promise.all([byBody.id, res.body.id, unlinked.id].map((id) => waitForRun(t.app, dev, id)));
    for (const run of runs) expect(run.conclusion).toBe('success');
    const [first, second] = runs;
    const sessionJobs = await api(t.app, 'GET', `/v1/jobs?session_id=${session}&limit=200`, { token: dev });
    expect(sessionJobs.body.items.map((j: any) => j.id).sort()).toEqual([...jobIdsOf(first), ...jobIdsOf(second)].sort());

    const view = await api(t.app, 'GET', `/v1/sessions/${session}`, { token: a.tokens.viewer.token });
    expect(view.body.workflow_runs.map((r: any) => r.id).sort()).toEqual([byBody.id, res.body.id].sort());
    expect(view.body.workflow_runs[0]).toMatchObject({ name: 'session-two-jobs', status: 'completed', conclusion: 'success' });
    expect(view.body.spend.job_count).toBe(4);

    const listed = await api(t.app, 'GET', `/v1/workflows?session_id=${session}`, { token: dev });
    expect(listed.body.items.map((r: any) => r.id).sort()).toEqual([byBody.id, res.body.id].sort());
    expect(listed.body.items[0].session_id).toBe(session);
    expectError(await api(t.app, 'GET', '/v1/workflows?session_id=nope', { token: dev }), 400, 'validation_failed');

    const audit = await sql<{ action: string; resource_id: string }>(t.databaseUrl, "SELECT action, resource_id FROM audit_events WHERE session_id = $1 AND action = 'workflow.create'", [session]);
    expect(audit.map((r) => r.resource_id).sort()).toEqual([byBody.id, res.body.id].sort());

    // Another workspace's session is a 404, as for jobs; nothing is created.
    expectError(await api(t.app, 'POST', '/v1/workflows', { token: b.tokens.developer.token, body: { yaml: TWO_JOBS_YAML, session_id: session } }), 404, 'not_found');
    expect((await api(t.app, 'GET', '/v1/workflows', { token: b.tokens.developer.token })).body.items).toEqual([]);
  });

  it('ending the session with cleanup cancels its running run, stops its job and leaves no container; a rerun is refused', async () => {
    const session = await openSession();
    const run = await submitWorkflow(t.app, dev, LONG_YAML, { session_id: session });
    const running = await waitForRun(t.app, dev, run.id, (r) => typeof instancesOf(r).long?.job_id === 'string' && instancesOf(r).long.status === 'running');
    const jobId = instancesOf(running).long.job_id as string;
    expect((await api(t.app, 'GET', `/v1/jobs/${jobId}`, { token: dev })).body.session_id).toBe(session);

    const ended = await api(t.app, 'POST', `/v1/sessions/${session}/end`, { token: dev, body: { cleanup: true } });
    expect(ended.status).toBe(200);
    expect(ended.body).toMatchObject({ status: 'ended', cleanup: { workflow_runs_cancelled: 1 } });
    const final = (await api(t.app, 'GET', `/v1/workflows/${run.id}/wait?timeout_seconds=60`, { token: dev })).body;
    expect(final).toMatchObject({ status: 'completed', conclusion: 'cancelled', terminal: true });
    expect(instancesOf(final).long).toMatchObject({ status: 'cancelled' });
    expect((await api(t.app, 'GET', `/v1/jobs/${jobId}/wait?timeout_seconds=60`, { token: dev })).body.status).toBe('cancelled');
    expect(await workflowLeftovers(run.id)).toEqual({ containers: [], networks: [], volumes: [] });
    expect(await jobContainers(t.databaseUrl, jobId)).toEqual([]);

    const audit = await sql<{ action: string }>(t.databaseUrl, "SELECT action FROM audit_events WHERE session_id = $1 AND resource_id = $2", [session, run.id]);
    expect(audit.map((r) => r.action)).toEqual(expect.arrayContaining(['workflow.create', 'workflow.cancel']));
    // New work in the ended session, a rerun included, is refused.
    expectError(await api(t.app, 'POST', `/v1/workflows/${run.id}/rerun`, { token: dev }), 409, 'conflict');
    expectError(await api(t.app, 'POST', '/v1/workflows', { token: dev, body: { yaml: TWO_JOBS_YAML }, headers: { [SESSION_HEADER]: session } }), 409, 'conflict');
  });

  it('a run waiting between instances keeps its session from idling out; once it ends, the session expires', async () => {
    const res = await api(t.app, 'POST', '/v1/sessions', { token: dev, body: { agent_type: 'ci', idle_timeout_seconds: 60 } });
    const session = res.body.id as string;
    const run = await submitWorkflow(t.app, dev, RETRY_LATER_YAML, { session_id: session });
    await waitForRun(t.app, dev, run.id, (r) => instancesOf(r).flaky?.status === 'waiting');
    await sql(t.databaseUrl, "UPDATE agent_sessions SET last_activity_at = now() - interval '10 minutes' WHERE id = $1", [session]);
    const reaper = t.app.get(SessionReaperService);
    expect(await reaper.tick()).not.toContain(session);
    expect((await api(t.app, 'GET', `/v1/sessions/${session}`, { token: dev })).body.status).toBe('open');

    // Once the run is over, the idle session expires (cleanup_on_idle: nothing left to cancel).
    expect((await api(t.app, 'POST', `/v1/workflows/${run.id}/cancel`, { token: dev })).status).toBe(200);
    expect((await api(t.app, 'GET', `/v1/workflows/${run.id}/wait?timeout_seconds=60`, { token: dev })).body).toMatchObject({ terminal: true, conclusion: 'cancelled' });
    expect(await reaper.tick()).toContain(session);
    expect(await workflowLeftovers(run.id)).toEqual({ containers: [], networks: [], volumes: [] });
  });

  it('CLI: ORCAOPS_SESSION (or --session) links `workflow run`; `workflow list --session` filters', async () => {
    const session = await openSession();
    const file = join(dir, 'two-jobs.yml');
    writeFileSync(file, TWO_JOBS_YAML);
    const env = { ORCAOPS_URL: baseUrl, ORCAOPS_TOKEN: dev, ORCAOPS_HOME: dir };
    const viaEnv = await runCli(['--json', 'workflow', 'run', file, '--follow'], { ...env, ORCAOPS_SESSION: session });
    expect(viaEnv.exitCode).toBe(0);
    const followed = JSON.parse(viaEnv.stdout);
    expect(followed).toMatchObject({ session_id: session, conclusion: 'success' });
    const viaFlag = await runCli(['--json', 'workflow', 'run', file, '--session', session], env);
    const started = JSON.parse(viaFlag.stdout);
    await waitForRun(t.app, dev, started.id);
    const listed = await runCli(['--json', 'workflow', 'list', '--session', session], env);
    expect(JSON.parse(listed.stdout).items.map((r: any) => r.id).sort()).toEqual([followed.id, started.id].sort());
    const shown = await runCli(['sessions', 'get', session], env);
    expect(shown.stdout).toContain('workflow runs');
    expect(shown.stdout).toContain(followed.id);
  });

  it('MCP: X-OrcaOps-Session on /mcp links run_workflow runs', async () => {
    const session = await openSession();
    const transport = new StreamableHTTPClientTransport(new URL(`${baseUrl}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${dev}`, [SESSION_HEADER]: session } },
    });
    const client = new SdkClient({ name: 'orcaops-wf-session-test', version: '1.0.0' });
    await client.connect(transport);
    clients.push(client);
    const r: any = await client.callTool({ name: 'run_workflow', arguments: { yaml: TWO_JOBS_YAML } }, undefined, { timeout: 120_000 });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent.run).toMatchObject({ session_id: session, status: 'completed', conclusion: 'success' });
    const run = (await api(t.app, 'GET', `/v1/workflows/${r.structuredContent.run.run_id}`, { token: dev })).body;
    for (const jobId of jobIdsOf(run)) expect((await api(t.app, 'GET', `/v1/jobs/${jobId}`, { token: dev })).body.session_id).toBe(session);
    const audit = await sql<{ n: string }>(t.databaseUrl, "SELECT COUNT(*) AS n FROM audit_events WHERE session_id = $1 AND action = 'workflow.create'", [session]);
    expect(audit[0]?.n).toBe('1');
  });
});
