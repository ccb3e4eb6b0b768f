import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestApp } from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { runCli } from '../support/cli';
import { removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import { sql } from '../support/sql';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';
import { removeWorkflowLeftovers } from '../support/workflows';

const LONG_YAML = `name: long
jobs:
  long:
    image: orcaops/busybox
    steps:
      - run: echo started; sleep 300
`;

/**
 * Governance on the real engine, through REST and the CLI: suspending a workspace and revoking a token
 * stop the work already running (not only new requests), audited; four eyes on approvals.
 */
describe('governance: suspend, revoke, four eyes', () => {
  let t: TestApp;
  let dir: string;
  let url: string;

  beforeAll(async () => {
    t = await createTestApp({ ORCAOPS_MAX_CONCURRENT_JOBS: '8' });
    await t.app.listen(0, '127.0.0.1');
    url = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    dir = mkdtempSync(join(tmpdir(), 'orcaops-governance-'));
  });
  afterAll(async () => {
    await removeWorkflowLeftovers(t.databaseUrl);
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = (token: string, args: string[]): ReturnType<typeof runCli> => runCli(args, { ORCAOPS_URL: url, ORCAOPS_TOKEN: token, ORCAOPS_HOME: dir });

  async function startJob(token: string): Promise<string> {
    const res = await api(t.app, 'POST', '/v1/jobs', { token, body: { image: 'orcaops/busybox', command: 'echo started; sleep 300' } });
    expect(res.status).toBe(201);
    return res.body.id;
  }

  async function startSandbox(token: string): Promise<string> {
    const res = await api(t.app, 'POST', '/v1/sandboxes', { token, body: { image: 'orcaops/busybox', ttl_seconds: 600 } });
    expect(res.status).toBe(201);
    return res.body.id;
  }

  async function startRun(token: string): Promise<string> {
    const res = await api(t.app, 'POST', '/v1/workflows', { token, body: { yaml: LONG_YAML } });
    expect(res.status).toBe(201);
    return res.body.id;
  }

  /** Polls the database (the workspace's own tokens no longer work) until the row matches. */
  async function eventually(query: string, id: string, ok: (row: any) => boolean): Promise<any> {
    let row: any;
    for (let i = 0; i < 300; i++) {
      [row] = await sql<any>(t.databaseUrl, query, [id]);
      if (row && ok(row)) return row;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${query} (${id}) did not settle: ${JSON.stringify(row)}`);
  }

  const jobRow = (id: string, ok: (row: any) => boolean): Promise<any> => eventually('SELECT status, reason FROM jobs WHERE id = $1', id, ok);
  const sandboxRow = (id: string, ok: (row: any) => boolean): Promise<any> => eventually('SELECT status, exit_reason FROM sandboxes WHERE id = $1', id, ok);
  const runRow = (id: string, ok: (row: any) => boolean): Promise<any> => eventually('SELECT status, conclusion FROM workflow_runs WHERE id = $1', id, ok);

  it('suspending a workspace (CLI) cancels its jobs and workflow runs and stops its sandboxes, audited; another workspace goes on', async () => {
    const a = await seedWorkspace(t.app, 'gov-suspend-a');
    const b = await seedWorkspace(t.app, 'gov-suspend-b');
    const dev = a.tokens.developer.token;
    const job = await startJob(dev);
    const sandbox = await startSandbox(dev);
    const run = await startRun(dev);
    const other = await startJob(b.tokens.developer.token);
    await jobRow(job, (r) => r.status === 'running');

    const suspended = await cli(TEST_ADMIN_TOKEN, ['workspaces', 'suspend', a.id]);
    expect(suspended.exitCode).toBe(0);

    expect(await jobRow(job, (r) => r.status === 'cancelled')).toMatchObject({ status: 'cancelled' });
    expect(await sandboxRow(sandbox, (r) => r.status === 'stopped')).toMatchObject({ exit_reason: 'workspace_suspended' });
    expect(await runRow(run, (r) => r.status === 'completed')).toMatchObject({ conclusion: 'cancelled' });
    const [audit] = await sql<any>(t.databaseUrl, `SELECT actor_id, details FROM audit_events WHERE action = 'workspace.work_stopped' AND workspace_id = $1`, [a.id]);
    expect(audit.details).toMatchObject({ reason: 'workspace_suspended', sandboxes_stopped: 1, workflow_runs_cancelled: 1 });
    expect(audit.details.jobs_cancelled).toBeGreaterThanOrEqual(1);
    // The tokens are refused too, and the other workspace's job still runs.
    expect((await api(t.app, 'GET', `/v1/jobs/${job}`, { token: dev })).status).toBe(403);
    const otherJob = await api(t.app, 'GET', `/v1/jobs/${other}`, { token: b.tokens.developer.token });
    expect(otherJob.body.status).toBe('running');
    await api(t.app, 'POST', `/v1/jobs/${other}/cancel`, { token: b.tokens.developer.token });
  }, 240_000);

  it('revoking a token (CLI) cancels the workflow runs and jobs it started and stops its sandboxes; the other tokens\' work goes on', async () => {
    const a = await seedWorkspace(t.app, 'gov-revoke');
    // The developer token is revoked; the ci token's job must go on.
    const leaked = a.tokens.developer;
    const ci = a.tokens.ci.token;
    const run = await startRun(leaked.token);
    const job = await startJob(leaked.token);
    const sandbox = await startSandbox(leaked.token);
    const ciJob = await startJob(ci);
    await runRow(run, (r) => r.status === 'running');
    await jobRow(job, (r) => r.status === 'running');

    const revoked = await cli(a.tokens.admin.token, ['tokens', 'revoke', a.id, leaked.id]);
    expect(revoked.exitCode).toBe(0);

    expect(await runRow(run, (r) => r.status === 'completed')).toMatchObject({ conclusion: 'cancelled' });
    expect(await jobRow(job, (r) => r.status === 'cancelled')).toMatchObject({ status: 'cancelled' });
    expect(await sandboxRow(sandbox, (r) => r.status === 'stopped')).toMatchObject({ exit_reason: 'token_revoked' });
    // The run keeps naming its submitter for audit.
    const [row] = await sql<any>(t.databaseUrl, 'SELECT created_by FROM workflow_runs WHERE id = $1', [run]);
    expect(row.created_by).toBe(leaked.id);
    const [audit] = await sql<any>(t.databaseUrl, `SELECT actor_id, details FROM audit_events WHERE action = 'workspace.work_stopped' AND workspace_id = $1`, [a.id]);
    expect(audit).toMatchObject({ actor_id: a.tokens.admin.id, details: { reason: 'token_revoked', token_id: leaked.id, workflow_runs_cancelled: 1, sandboxes_stopped: 1 } });
    const other = await api(t.app, 'GET', `/v1/jobs/${ciJob}`, { token: ci });
    expect(other.body.status).toBe('running');
    await api(t.app, 'POST', `/v1/jobs/${ciJob}/cancel`, { token: ci });
  }, 240_000);

  it('four eyes: the requester cannot approve their own held job (REST 403, CLI exit 4) until the organisation policy allows it', async () => {
    const a: SeededWorkspace = await seedWorkspace(t.app, 'gov-four-eyes');
    const admin = a.tokens.admin.token;
    expect((await api(t.app, 'PUT', `/v1/workspaces/${a.id}/policy`, { token: admin, body: { resources: { approval_above: { timeout_seconds: 30 } } } })).status).toBe(200);
    // A workspace admin cannot lift four eyes for their own workspace: that widens the organisation policy.
    const widening = await api(t.app, 'PUT', `/v1/workspaces/${a.id}/policy`, { token: admin, body: { approvals: { allow_self_approval: true } } });
    expect(widening.status).toBe(400);
    expect(JSON.stringify(widening.body)).toContain('approvals.allow_self_approval');

    const held = async (): Promise<{ job: string; approval: string }> => {
      const res = await api(t.app, 'POST', '/v1/jobs', { token: admin, body: { image: 'orcaops/busybox', command: 'true', timeout_seconds: 60 } });
      expect(res.body.status).toBe('awaiting_approval');
      return { job: res.body.id, approval: res.body.approval.id };
    };
    const first = await held();
    const rest = await api(t.app, 'POST', `/v1/approvals/${first.approval}/approve`, { token: admin, body: {} });
    expect(rest.status).toBe(403);
    expect(rest.body.error.message).toContain('allow_self_approval');
    const viaCli = await cli(admin, ['approvals', 'approve', first.approval, '-m', 'mine']);
    expect(viaCli.exitCode).toBe(4);
    expect(viaCli.stderr).toContain('cannot approve it yourself');
    const [denied] = await sql<any>(t.databaseUrl, `SELECT outcome, details FROM audit_events WHERE action = 'approval.approve' AND resource_id = $1 ORDER BY occurred_at LIMIT 1`, [first.approval]);
    expect(denied).toMatchObject({ outcome: 'denied', details: { reason: 'self_approval' } });
    // Rejecting one's own request stays allowed.
    expect((await api(t.app, 'POST', `/v1/approvals/${first.approval}/reject`, { token: admin, body: {} })).status).toBe(200);

    // The organisation opts out of four eyes: the requester may approve.
    expect((await api(t.app, 'PUT', '/v1/policies/organisation', { token: TEST_ADMIN_TOKEN, body: { approvals: { allow_self_approval: true } } })).status).toBe(200);
    try {
      const second = await held();
      const ok = await cli(admin, ['approvals', 'approve', second.approval, '-m', 'allowed by policy']);
      expect(ok.exitCode).toBe(0);
      const done = await api(t.app, 'GET', `/v1/jobs/${second.job}/wait?timeout_seconds=120`, { token: admin });
      expect(done.body.status).toBe('succeeded');
    } finally {
      await api(t.app, 'PUT', '/v1/policies/organisation', { token: TEST_ADMIN_TOKEN, body: {} });
    }
  }, 240_000);
});
