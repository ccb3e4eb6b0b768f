import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestApp } from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { runCli } from '../support/cli';
import { installationContainers, jobContainers, removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

/**
 * Security policies and approvals through the real front ends (REST and CLI), with the real engine:
 * refusals list every violation, start no container and are audited; approved jobs run, rejected and
 * expired ones never do.
 */
describe('policies and approvals (REST + CLI → Docker)', () => {
  let t: TestApp;
  let ws: SeededWorkspace;
  let dev: Record<string, string>;
  let wsAdmin: Record<string, string>;
  let dir: string;

  const ORG_POLICY = {
    images: { deny: ['orcaops/python'] },
    commands: { deny: ['shutdown now'], deny_patterns: ['rm\\s+-rf\\s+/'] },
    resources: { max_memory_mb: 1024 },
  };

  const setWorkspacePolicy = (body: unknown) => api(t.app, 'PUT', `/v1/workspaces/${ws.id}/policy`, { token: ws.tokens.admin.token, body });
  const audit = async (action: string) =>
    (await api(t.app, 'GET', `/v1/audit?action=${action}&limit=200`, { token: ws.tokens.admin.token })).body.items as any[];
  const containerCount = async () => (await installationContainers(t.databaseUrl)).length;

  beforeAll(async () => {
    t = await createTestApp();
    await t.app.listen(0, '127.0.0.1');
    const url = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    ws = await seedWorkspace(t.app, 'policies');
    dir = mkdtempSync(join(tmpdir(), 'orcaops-policies-'));
    dev = { ORCAOPS_URL: url, ORCAOPS_TOKEN: ws.tokens.developer.token, ORCAOPS_HOME: dir };
    wsAdmin = { ...dev, ORCAOPS_TOKEN: ws.tokens.admin.token };
    const org = await api(t.app, 'PUT', '/v1/policies/organisation', { token: TEST_ADMIN_TOKEN, body: ORG_POLICY });
    expect(org.status).toBe(200);
  });
  afterAll(async () => {
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    expect((await setWorkspacePolicy({})).status).toBe(200);
  });

  describe('refusals', () => {
    it('refuses a job breaking every rule with the full violation list, starts nothing and audits it (REST)', async () => {
      const before = await containerCount();
      const res = await api(t.app, 'POST', '/v1/jobs', {
        token: ws.tokens.developer.token,
        body: { image: 'orcaops/python', command: 'rm -rf /', network: 'egress', resources: { memory_mb: 2048 } },
      });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('policy_denied');
      expect(res.body.error.details.violations.map((v: any) => [v.rule, v.field])).toEqual([
        ['images', 'image'],
        ['commands', 'steps.0.command'],
        ['network', 'network'],
        ['resources', 'resources.memory_mb'],
      ]);
      expect((await api(t.app, 'GET', '/v1/jobs', { token: ws.tokens.developer.token })).body.items).toEqual([]);
      expect(await containerCount()).toBe(before);
      const denied = await audit('policy.denied');
      expect(denied[0]).toMatchObject({ outcome: 'denied', resource_type: 'job', actor_id: ws.tokens.developer.id });
      expect(denied[0].details.violations).toHaveLength(4);
    });

    it('refuses the same through the CLI with exit code 4 and the violations', async () => {
      const run = await runCli(['--json', 'run', '--memory', '2g', '--network', 'egress', 'orcaops/python', '--', 'shutdown', 'now'], dev);
      expect(run.exitCode).toBe(4);
      const error = JSON.parse(run.stdout).error;
      expect(error.code).toBe('policy_denied');
      expect(error.details.violations.map((v: any) => v.rule)).toEqual(['images', 'commands', 'network', 'resources']);
    });

    it('refuses a sandbox asking for egress before any container, and a blocked command in a live sandbox (REST and CLI)', async () => {
      const before = await containerCount();
      const egress = await api(t.app, 'POST', '/v1/sandboxes', { token: ws.tokens.developer.token, body: { image: 'orcaops/busybox', network: 'egress' } });
      expect(egress.status).toBe(403);
      expect(egress.body.error.details.violations).toEqual([expect.objectContaining({ rule: 'network', field: 'network', effect: 'deny' })]);
      expect(await containerCount()).toBe(before);

      const sandbox = await api(t.app, 'POST', '/v1/sandboxes', { token: ws.tokens.developer.token, body: { image: 'orcaops/busybox' } });
      expect(sandbox.status).toBe(201);
      const id = sandbox.body.id as string;
      const blocked = await api(t.app, 'POST', `/v1/sandboxes/${id}/exec`, { token: ws.tokens.developer.token, body: { command: 'rm -rf /workspace' } });
      expect(blocked.status).toBe(403);
      expect(blocked.body.error.details.violations).toEqual([expect.objectContaining({ rule: 'commands', field: 'command' })]);
      const cli = await runCli(['--json', 'sandbox', 'exec', id, '--', 'sh', '-c', 'rm -rf /tmp'], dev);
      expect(cli.exitCode).toBe(4);
      expect(JSON.parse(cli.stdout).error.details.violations[0]).toMatchObject({ rule: 'commands', field: 'args' });
      const allowed = await api(t.app, 'POST', `/v1/sandboxes/${id}/exec`, { token: ws.tokens.developer.token, body: { command: 'echo fine' } });
      expect(allowed.body).toMatchObject({ exit_code: 0, stdout: 'fine\n' });
      expect((await audit('policy.denied')).filter((e) => e.resource_id === id)).toHaveLength(2);
      expect((await setWorkspacePolicy({ resources: { max_ttl_seconds: 600 } })).status).toBe(200);
      const tooLong = await api(t.app, 'POST', `/v1/sandboxes/${id}/extend`, { token: ws.tokens.developer.token, body: { ttl_seconds: 3600 } });
      expect(tooLong.status).toBe(403);
      expect(tooLong.body.error.details.violations).toEqual([expect.objectContaining({ rule: 'resources', field: 'ttl_seconds' })]);
      expect((await api(t.app, 'POST', `/v1/sandboxes/${id}/extend`, { token: ws.tokens.developer.token, body: { ttl_seconds: 300 } })).status).toBe(200);
      await api(t.app, 'DELETE', `/v1/sandboxes/${id}`, { token: ws.tokens.developer.token });
    });
  });

  describe('workspace policies', () => {
    it('cannot widen the organisation policy: 400 names each field (REST and CLI)', async () => {
      const wide = await setWorkspacePolicy({ network: { egress: 'allow' }, resources: { max_memory_mb: 4096 }, commands: { deny_patterns: ['(open'] } });
      expect(wide.status).toBe(400);
      expect(wide.body.error.details.fields.map((f: any) => f.field)).toEqual(['commands.deny_patterns.0', 'network.egress', 'resources.max_memory_mb']);
      const file = join(dir, 'wide.yaml');
      writeFileSync(file, 'network:\n  published_ports: true\n');
      const cli = await runCli(['--json', 'policies', 'set', file], wsAdmin);
      expect(cli.exitCode).toBe(2);
      expect(JSON.parse(cli.stdout).error.details.fields[0].field).toBe('network.published_ports');
      expect((await runCli(['policies', 'set', file], dev)).exitCode).toBe(4);
    });

    it("answers 404 for another workspace's policy and approvals, exactly like a missing one", async () => {
      const other = await seedWorkspace(t.app, 'policies-other');
      const token = other.tokens.admin.token;
      expect((await api(t.app, 'GET', `/v1/workspaces/${ws.id}/policy`, { token })).status).toBe(404);
      expect((await api(t.app, 'PUT', `/v1/workspaces/${ws.id}/policy`, { token, body: {} })).status).toBe(404);
      expect((await setWorkspacePolicy({ resources: { approval_above: { memory_mb: 256 } } })).status).toBe(200);
      const held = await api(t.app, 'POST', '/v1/jobs', { token: ws.tokens.developer.token, body: { image: 'orcaops/busybox', command: 'true', resources: { memory_mb: 300 } } });
      const approvalId = held.body.approval.id as string;
      expect((await api(t.app, 'GET', `/v1/approvals/${approvalId}`, { token })).status).toBe(404);
      expect((await api(t.app, 'POST', `/v1/approvals/${approvalId}/approve`, { token, body: {} })).status).toBe(404);
      expect((await api(t.app, 'GET', '/v1/approvals', { token })).body.items).toEqual([]);
      expect((await api(t.app, 'POST', `/v1/jobs/${held.body.id}/cancel`, { token: ws.tokens.developer.token })).body).toMatchObject({ status: 'cancelled' });
      const late = await api(t.app, 'POST', `/v1/approvals/${approvalId}/approve`, { token: ws.tokens.admin.token, body: {} });
      expect(late.status).toBe(409);
      expect(await jobContainers(t.databaseUrl, held.body.id)).toEqual([]);
    });

    it('accepts a narrowing policy and decides with the intersection (CLI get/set, evaluate)', async () => {
      const jobsBefore = (await api(t.app, 'GET', '/v1/jobs', { token: ws.tokens.developer.token })).body.items.length;
      const file = join(dir, 'narrow.yaml');
      writeFileSync(file, 'images:\n  allow: ["orcaops/*"]\nresources:\n  max_memory_mb: 256\n');
      expect((await runCli(['policies', 'set', file], wsAdmin)).exitCode).toBe(0);
      const got = JSON.parse((await runCli(['--json', 'policies', 'get'], dev)).stdout);
      expect(got.effective).toMatchObject({ images: { allow: [['orcaops/*']], deny: ['orcaops/python'] }, resources: { max_memory_mb: 256 }, network: { egress: 'deny' } });

      const evaluated = await api(t.app, 'POST', '/v1/policies/evaluate', {
        token: ws.tokens.developer.token,
        body: { job: { image: 'alpine', command: 'echo hi', resources: { memory_mb: 512 } } },
      });
      expect(evaluated.status).toBe(200);
      expect(evaluated.body).toEqual({
        decision: 'denied',
        violations: [
          expect.objectContaining({ rule: 'images', field: 'image', effect: 'deny' }),
          expect.objectContaining({ rule: 'resources', field: 'resources.memory_mb', message: 'resources.memory_mb 512 is above the maximum 256' }),
        ],
      });
      const sandbox = await api(t.app, 'POST', '/v1/policies/evaluate', { token: ws.tokens.developer.token, body: { sandbox: { image: 'orcaops/busybox', resources: { memory_mb: 128 } } } });
      expect(sandbox.body).toEqual({ decision: 'allowed', violations: [] });
      const ok = await runCli(['policies', 'evaluate', '--memory', '128m', 'orcaops/busybox', '--', 'echo', 'hi'], dev);
      expect(ok).toMatchObject({ exitCode: 0, stdout: 'allowed\n' });
      const no = await runCli(['policies', 'evaluate', 'alpine', '--', 'echo', 'hi'], dev);
      expect(no.exitCode).toBe(4);
      expect(no.stdout).toContain('denied');
      expect((await api(t.app, 'GET', '/v1/jobs', { token: ws.tokens.developer.token })).body.items).toHaveLength(jobsBefore);
    });
  });

  describe('approvals', () => {
    const submitHeld = async () => {
      const res = await api(t.app, 'POST', '/v1/jobs', {
        token: ws.tokens.developer.token,
        body: { image: 'orcaops/busybox', command: 'echo approved-run', resources: { memory_mb: 300 } },
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        status: 'awaiting_approval',
        approval: { status: 'pending', reasons: [expect.objectContaining({ rule: 'resources', field: 'resources.memory_mb' })] },
      });
      return res.body as { id: string; approval: { id: string } };
    };

    it('holds a job above the threshold; approved (CLI) → it runs to success on the engine', async () => {
      expect((await setWorkspacePolicy({ resources: { approval_above: { memory_mb: 256 } } })).status).toBe(200);
      const job = await submitHeld();
      expect(await jobContainers(t.databaseUrl, job.id)).toEqual([]);
      const pending = JSON.parse((await runCli(['--json', 'approvals', 'list'], wsAdmin)).stdout);
      expect(pending.items.map((a: any) => a.id)).toContain(job.approval.id);
      expect((await runCli(['approvals', 'list'], dev)).exitCode).toBe(4);

      const approved = await runCli(['--json', 'approvals', 'approve', job.approval.id, '-m', 'looks fine'], wsAdmin);
      expect(approved.exitCode).toBe(0);
      expect(JSON.parse(approved.stdout)).toMatchObject({ status: 'approved', comment: 'looks fine', decided_by: ws.tokens.admin.id });
      const done = await api(t.app, 'GET', `/v1/jobs/${job.id}/wait?timeout_seconds=60`, { token: ws.tokens.developer.token });
      expect(done.body).toMatchObject({ status: 'succeeded', approval: { status: 'approved', comment: 'looks fine' } });
      const logs = await api(t.app, 'GET', `/v1/jobs/${job.id}/logs`, { token: ws.tokens.developer.token });
      expect(logs.body.items.map((c: any) => c.data).join('')).toContain('approved-run');
      const again = await api(t.app, 'POST', `/v1/approvals/${job.approval.id}/reject`, { token: ws.tokens.admin.token, body: {} });
      expect(again.status).toBe(409);
      expect((await audit('approval.*')).filter((e) => e.resource_id === job.approval.id).map((e) => e.action).sort()).toEqual(['approval.approve', 'approval.request']);
    });

    it('rejected (REST) → the job is cancelled with approval_rejected and never runs', async () => {
      expect((await setWorkspacePolicy({ resources: { approval_above: { memory_mb: 256 } } })).status).toBe(200);
      const job = await submitHeld();
      const rejected = await api(t.app, 'POST', `/v1/approvals/${job.approval.id}/reject`, { token: ws.tokens.admin.token, body: { comment: 'too big' } });
      expect(rejected.status).toBe(200);
      const seen = await api(t.app, 'GET', `/v1/jobs/${job.id}`, { token: ws.tokens.developer.token });
      expect(seen.body).toMatchObject({ status: 'cancelled', reason: 'approval_rejected', started_at: null, approval: { status: 'rejected', comment: 'too big' } });
      expect(await jobContainers(t.databaseUrl, job.id)).toEqual([]);
      const approveLate = await api(t.app, 'POST', `/v1/approvals/${job.approval.id}/approve`, { token: ws.tokens.admin.token, body: {} });
      expect(approveLate.status).toBe(409);
      expect((await audit('approval.reject')).map((e) => e.resource_id)).toContain(job.approval.id);
    });

    it('expired → the job is cancelled with approval_expired and never runs', async () => {
      expect((await setWorkspacePolicy({ resources: { approval_above: { memory_mb: 256 } }, approvals: { expire_after_seconds: 1 } })).status).toBe(200);
      const job = await submitHeld();
      const done = await api(t.app, 'GET', `/v1/jobs/${job.id}/wait?timeout_seconds=15`, { token: ws.tokens.developer.token });
      expect(done.body).toMatchObject({ status: 'cancelled', reason: 'approval_expired', started_at: null, approval: { status: 'expired' } });
      expect(await jobContainers(t.databaseUrl, job.id)).toEqual([]);
      const late = await api(t.app, 'POST', `/v1/approvals/${job.approval.id}/approve`, { token: ws.tokens.admin.token, body: {} });
      expect(late.status).toBe(409);
      const expiredEvents = await audit('approval.expire');
      expect(expiredEvents.find((e) => e.resource_id === job.approval.id)).toMatchObject({ actor_type: 'system' });
    });
  });
});
