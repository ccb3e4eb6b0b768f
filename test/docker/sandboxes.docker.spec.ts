import { SandboxActivity } from 'src/sandboxes/sandbox-activity';
import { SandboxNode } from 'src/sandboxes/sandbox-node';
import { SandboxReaperService } from 'src/sandboxes/sandbox-reaper.service';
import { WarmPoolService } from 'src/sandboxes/warm-pool.service';
import type { TestApp } from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { runCli } from '../support/cli';
import { docker, installationContainers, installationId, removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import { sql } from '../support/sql';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

const MiB = 1024 * 1024;

/** Sandbox lifecycle on the real Docker engine and a real Postgres, through the REST API. */
describe('sandboxes on the real engine', () => {
  let t: TestApp;
  let seq = 0;

  beforeAll(async () => {
    t = await createTestApp({ ORCAOPS_SANDBOX_REAPER_MS: '200', ORCAOPS_SANDBOX_POOL: 'orcaops/busybox=2' });
  });
  afterAll(async () => {
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
  });

  const workspace = (): Promise<SeededWorkspace> => seedWorkspace(t.app, `sbx-${++seq}`);

  async function create(token: string, body: Record<string, unknown>): Promise<any> {
    const res = await api(t.app, 'POST', '/v1/sandboxes', { token, body });
    expect(res.status).toBe(201);
    return res.body;
  }

  async function containerIdOf(id: string): Promise<string | null> {
    const [row] = await sql<{ container_id: string | null }>(t.databaseUrl, 'SELECT container_id FROM sandboxes WHERE id = $1', [id]);
    return row?.container_id ?? null;
  }

  async function exists(containerId: string): Promise<boolean> {
    return docker.getContainer(containerId).inspect().then(() => true, () => false);
  }

  /** Polls the API until the sandbox reaches `status` (bounded). */
  async function waitForStatus(token: string, id: string, status: string, ms = 10_000): Promise<any> {
    const until = Date.now() + ms;
    for (;;) {
      const res = await api(t.app, 'GET', `/v1/sandboxes/${id}`, { token });
      if (res.body.status === status || Date.now() > until) return res.body;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('creates a ready, hardened sandbox; get, list by label and status', async () => {
    const ws = await workspace();
    const dev = ws.tokens.developer.token;
    const sbx = await create(dev, { image: 'orcaops/busybox', resources: { memory_mb: 256 }, env: { GREETING: 'hi' }, labels: { team: 'a' } });
    expect(sbx).toMatchObject({ status: 'ready', pooled: false, env_keys: ['GREETING'], labels: { team: 'a' }, resources: { memory_mb: 256 } });
    expect(sbx).not.toHaveProperty('container_id');
    await create(dev, { image: 'orcaops/busybox', labels: { team: 'b' } });

    const info = await docker.getContainer((await containerIdOf(sbx.id))!).inspect();
    expect(info.State.Running).toBe(true);
    expect(info.Config.User).toBe('65534:65534');
    expect(info.Config.Env.some((e) => e.startsWith('GREETING='))).toBe(false); // env is per exec, never baked in
    expect(info.Config.Labels).toMatchObject({ 'orcaops.kind': 'sandbox', 'orcaops.sandbox_id': sbx.id, 'orcaops.workspace_id': ws.id });
    expect(info.HostConfig).toMatchObject({
      NetworkMode: 'none',
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges:true'],
      Privileged: false,
      ReadonlyRootfs: true,
      Memory: 256 * MiB,
      MemorySwap: 256 * MiB,
      PidsLimit: 128,
      Init: true,
    });
    expect(info.HostConfig.Tmpfs?.['/workspace']).toMatch(/size=/);

    const got = await api(t.app, 'GET', `/v1/sandboxes/${sbx.id}`, { token: ws.tokens.viewer.token });
    expect(got.body).toMatchObject({ id: sbx.id, status: 'ready' });
    const byLabel = await api(t.app, 'GET', '/v1/sandboxes?label=team=a&status=ready', { token: dev });
    expect(byLabel.body.items.map((s: any) => s.id)).toEqual([sbx.id]);
    const page = await api(t.app, 'GET', '/v1/sandboxes?limit=1', { token: dev });
    expect(page.body.items).toHaveLength(1);
    const next = await api(t.app, 'GET', `/v1/sandboxes?limit=1&cursor=${page.body.next_cursor}`, { token: dev });
    expect(next.body.items[0].id).toBe(sbx.id);
  });

  it('extends the TTL and deletes: the container is removed and the sandbox is stopped', async () => {
    const ws = await workspace();
    const dev = ws.tokens.developer.token;
    const sbx = await create(dev, { image: 'orcaops/busybox', ttl_seconds: 60 });
    const extended = await api(t.app, 'POST', `/v1/sandboxes/${sbx.id}/extend`, { token: dev, body: { ttl_seconds: 7200 } });
    expect(extended.status).toBe(200);
    expect(new Date(extended.body.expires_at).getTime()).toBeGreaterThan(Date.now() + 7100_000);
    const containerId = (await containerIdOf(sbx.id))!;
    const viewerDelete = await api(t.app, 'DELETE', `/v1/sandboxes/${sbx.id}`, { token: ws.tokens.viewer.token });
    expect(viewerDelete.status).toBe(403);
    const deleted = await api(t.app, 'DELETE', `/v1/sandboxes/${sbx.id}`, { token: dev });
    expect(deleted.body).toMatchObject({ status: 'stopped', exit_reason: 'deleted' });
    expect(await exists(containerId)).toBe(false);
    const again = await api(t.app, 'POST', `/v1/sandboxes/${sbx.id}/extend`, { token: dev, body: { ttl_seconds: 60 } });
    expect(again.status).toBe(409);
    const audit = await sql(t.databaseUrl, "SELECT action FROM audit_events WHERE resource_id = $1 ORDER BY occurred_at", [sbx.id]);
    expect(audit.map((a) => a.action)).toEqual(['sandbox.create', 'sandbox.extend', 'sandbox.delete']);
  });

  it('expires at its TTL (recorded with the reason and audited as the system)', async () => {
    const ws = await workspace();
    const dev = ws.tokens.developer.token;
    const sbx = await create(dev, { image: 'orcaops/busybox', ttl_seconds: 2 });
    const containerId = (await containerIdOf(sbx.id))!;
    const done = await waitForStatus(dev, sbx.id, 'expired');
    expect(done).toMatchObject({ status: 'expired', exit_reason: 'ttl' });
    expect(await exists(containerId)).toBe(false);
    const audit = await sql(t.databaseUrl, "SELECT actor_type, details FROM audit_events WHERE resource_id = $1 AND action = 'sandbox.expire'", [sbx.id]);
    expect(audit).toEqual([{ actor_type: 'system', details: { reason: 'ttl' } }]);
  });

  it('does not idle-expire while a process runs; expires once it ends and the idle period passes', async () => {
    const ws = await workspace();
    const dev = ws.tokens.developer.token;
    const sbx = await create(dev, { image: 'orcaops/busybox', idle_timeout_seconds: 1 });
    const activity = t.app.get(SandboxActivity);
    const end = activity.begin(sbx.id);
    await new Promise((r) => setTimeout(r, 2_500));
    const [row] = await sql(t.databaseUrl, 'SELECT status FROM sandboxes WHERE id = $1', [sbx.id]);
    expect(row!.status).toBe('ready');
    end();
    const [still] = await sql(t.databaseUrl, 'SELECT status FROM sandboxes WHERE id = $1', [sbx.id]);
    expect(still!.status).toBe('ready');
    // Poll the database, not the API: a GET is an API call and would count as activity.
    const until = Date.now() + 8_000;
    let status = 'ready';
    while ((status === 'ready' || status === 'stopping') && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await sql<{ status: string }>(t.databaseUrl, 'SELECT status FROM sandboxes WHERE id = $1', [sbx.id]))[0]!.status;
    }
    const done = await api(t.app, 'GET', `/v1/sandboxes/${sbx.id}`, { token: dev });
    expect(done.body).toMatchObject({ status: 'expired', exit_reason: 'idle' });
  });

  it('hands out pre-started pool containers once each, refills, and never reuses one across tenants', async () => {
    const pool = t.app.get(WarmPoolService);
    expect(await pool.whenFull(30_000)).toBe(true);
    const a = await workspace();
    const b = await workspace();
    const used = new Set<string>();
    const take = async (ws: SeededWorkspace): Promise<any> => {
      const started = Date.now();
      const sbx = await create(ws.tokens.developer.token, { image: 'orcaops/busybox:latest' });
      expect(sbx).toMatchObject({ status: 'ready', pooled: true });
      expect(Date.now() - started).toBeLessThan(1_000);
      const containerId = (await containerIdOf(sbx.id))!;
      expect(used.has(containerId)).toBe(false);
      used.add(containerId);
      return sbx;
    };
    const first = await take(a);
    await api(t.app, 'DELETE', `/v1/sandboxes/${first.id}`, { token: a.tokens.developer.token });
    await take(b);
    expect(await pool.whenFull(30_000)).toBe(true);
    await take(b);
    await take(a);
    expect(await pool.whenFull(30_000)).toBe(true);
    expect(pool.stats()['orcaops/busybox:latest']).toMatchObject({ target: 2, idle: 2 });
    const poolContainers = (await installationContainers(t.databaseUrl)).filter((c) => c.Labels['orcaops.kind'] === 'pool');
    for (const c of poolContainers) expect(c.Labels['orcaops.workspace_id']).toBeUndefined();
    // Non-matching requests (resources, network) do not take from the pool.
    const custom = await create(a.tokens.developer.token, { image: 'orcaops/busybox', resources: { memory_mb: 128 } });
    expect(custom.pooled).toBe(false);
  });

  it('hands each pooled sandbox its own pre-opened default shell, which sees the sandbox env in the first command', async () => {
    const pool = t.app.get(WarmPoolService);
    expect(await pool.whenFull(30_000)).toBe(true);
    const a = await workspace();
    const b = await workspace();
    const tricky = `it's "quoted" $HOME \`id\` \\ ;\nsecond line`;
    const sa = await create(a.tokens.developer.token, { image: 'orcaops/busybox', env: { GREETING: tricky, EMPTY: '' } });
    const sb = await create(b.tokens.developer.token, { image: 'orcaops/busybox', env: { ONLY_B: 'b' } });
    expect([sa.pooled, sb.pooled]).toEqual([true, true]);
    /** Running /bin/sh execs (argv ends in it: the port wraps it in a process group) in a sandbox's container. */
    const shellExecs = async (sandboxId: string): Promise<string[]> => {
      const info = await docker.getContainer((await containerIdOf(sandboxId))!).inspect();
      const execs = await Promise.all((info.ExecIDs ?? []).map((e) => docker.getExec(e).inspect()));
      return execs.filter((e) => e.Running && e.ProcessConfig.arguments[e.ProcessConfig.arguments.length - 1] === '/bin/sh').map((e) => e.ID);
    };
    const before = await shellExecs(sa.id);
    expect(before).toHaveLength(1);
    const run = async (ws: SeededWorkspace, id: string, command: string): Promise<any> => {
      const res = await api(t.app, 'POST', `/v1/sandboxes/${id}/shells/main/run`, { token: ws.tokens.developer.token, body: { command, timeout_seconds: 10 } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'completed', exit_code: 0 });
      return res.body;
    };
    // The first command sees the env exactly (quotes, $, backticks, backslash, newline all literal).
    const first = await run(a, sa.id, 'printf "%s|" "$GREETING" "${EMPTY-unset}" "${ONLY_B-unset}"; env | grep -c "^GREETING="');
    expect(first.output).toBe(`${tricky}||unset|1\n`);
    // ...in the shell that was already open (no second shell exec was started for it).
    expect(await shellExecs(sa.id)).toEqual(before);
    await run(a, sa.id, 'export MARK=a; cd /tmp');
    // The other tenant's pooled sandbox has its own shell: none of A's env or state.
    const other = await run(b, sb.id, 'printf "%s|" "${GREETING-unset}" "${MARK-unset}" "$ONLY_B" "$PWD"');
    expect(other.output).toBe('unset|unset|b|/workspace|');
    // The export that applied the env is not the shell's "latest command".
    const shells = await api(t.app, 'GET', `/v1/sandboxes/${sb.id}/shells`, { token: b.tokens.developer.token });
    expect(shells.body.items).toEqual([expect.objectContaining({ name: 'main', busy: false })]);
  });

  it('after a restart re-adopts sandboxes whose containers survived and marks the others lost', async () => {
    const ws = await workspace();
    const dev = ws.tokens.developer.token;
    const survivor = await create(dev, { image: 'orcaops/busybox', resources: { memory_mb: 128 } });
    const vanished = await create(dev, { image: 'orcaops/busybox', resources: { memory_mb: 128 } });
    const dead = 'gone-host:1:00000000-0000-0000-0000-000000000000';
    await sql(t.databaseUrl, 'UPDATE sandboxes SET runner_id = $1 WHERE id = ANY($2)', [dead, [survivor.id, vanished.id]]);
    await docker.getContainer((await containerIdOf(vanished.id))!).remove({ force: true });
    await t.app.get(SandboxReaperService).tick();
    await t.app.get(SandboxReaperService).tick();
    const rows = await sql<{ id: string; status: string; exit_reason: string | null; runner_id: string }>(
      t.databaseUrl,
      'SELECT id, status, exit_reason, runner_id FROM sandboxes WHERE id = ANY($1)',
      [[survivor.id, vanished.id]],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(survivor.id)).toMatchObject({ status: 'ready', runner_id: t.app.get(SandboxNode).id });
    expect(byId.get(vanished.id)).toMatchObject({ status: 'lost', exit_reason: 'engine_lost' });
  });

  it('marks a sandbox whose container disappeared as lost', async () => {
    const ws = await workspace();
    const dev = ws.tokens.developer.token;
    const sbx = await create(dev, { image: 'orcaops/busybox', resources: { memory_mb: 128 } });
    await docker.getContainer((await containerIdOf(sbx.id))!).remove({ force: true });
    expect(await waitForStatus(dev, sbx.id, 'lost')).toMatchObject({ status: 'lost', exit_reason: 'engine_lost' });
  });

  it('marks a sandbox whose container stopped as failed, with the reason', async () => {
    const ws = await workspace();
    const dev = ws.tokens.developer.token;
    const sbx = await create(dev, { image: 'orcaops/busybox', resources: { memory_mb: 128 } });
    const containerId = (await containerIdOf(sbx.id))!;
    await docker.getContainer(containerId).kill();
    expect(await waitForStatus(dev, sbx.id, 'failed')).toMatchObject({ status: 'failed', exit_reason: 'container_exited' });
    // The end state is recorded first (hardening.md §4: exit facts before removal); the removal follows.
    const until = Date.now() + 5_000;
    while ((await exists(containerId)) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(await exists(containerId)).toBe(false);
  });

  it('answers another tenant exactly like a missing sandbox', async () => {
    const a = await workspace();
    const b = await workspace();
    const sbx = await create(a.tokens.developer.token, { image: 'orcaops/busybox', resources: { memory_mb: 128 } });
    const missing = '00000000-0000-4000-8000-000000000000';
    for (const [method, suffix, body] of [['GET', '', undefined], ['POST', '/extend', { ttl_seconds: 60 }], ['DELETE', '', undefined]] as const) {
      const other = await api(t.app, method, `/v1/sandboxes/${sbx.id}${suffix}`, { token: b.tokens.admin.token, body });
      const none = await api(t.app, method, `/v1/sandboxes/${missing}${suffix}`, { token: b.tokens.admin.token, body });
      expect(other.status).toBe(404);
      expect(none.status).toBe(404);
      expect(other.body.error.code).toBe(none.body.error.code);
      expect(other.body.error.message.replace(sbx.id, 'X')).toBe(none.body.error.message.replace(missing, 'X'));
    }
    const list = await api(t.app, 'GET', '/v1/sandboxes', { token: b.tokens.developer.token });
    expect(list.body.items).toEqual([]);
    const still = await api(t.app, 'GET', `/v1/sandboxes/${sbx.id}`, { token: a.tokens.developer.token });
    expect(still.body.status).toBe('ready');
  });

  it('enforces the per-workspace limit with 429 quota_exceeded; only an org admin may raise it; egress needs policy', async () => {
    const ws = await workspace();
    const dev = ws.tokens.developer.token;
    const byWsAdmin = await api(t.app, 'PATCH', `/v1/workspaces/${ws.id}`, { token: ws.tokens.admin.token, body: { settings: { max_sandboxes: 50 } } });
    expect(byWsAdmin.status).toBe(403);
    const patched = await api(t.app, 'PATCH', `/v1/workspaces/${ws.id}`, { token: TEST_ADMIN_TOKEN, body: { settings: { max_sandboxes: 2 } } });
    expect(patched.status).toBe(200);
    const results = await Promise.all(
      [1, 2, 3].map(() => api(t.app, 'POST', '/v1/sandboxes', { token: dev, body: { image: 'orcaops/busybox', resources: { memory_mb: 128 } } })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 201, 429]);
    const refused = results.find((r) => r.status === 429)!;
    expect(refused.body.error).toMatchObject({ code: 'quota_exceeded', details: { quota: 'concurrent_sandboxes', limit: 2, current: 2 } });
    const first = results.find((r) => r.status === 201)!;
    await api(t.app, 'DELETE', `/v1/sandboxes/${first.body.id}`, { token: dev });
    await create(dev, { image: 'orcaops/busybox', resources: { memory_mb: 128 } });
    const egress = await api(t.app, 'POST', '/v1/sandboxes', { token: dev, body: { image: 'orcaops/busybox', network: 'egress' } });
    expect(egress.status).toBe(403);
    expect(egress.body.error.code).toBe('policy_denied');
  });

  it('lists profiles, creates a sandbox from one and runs one as a job', async () => {
    const ws = await workspace();
    const dev = ws.tokens.developer.token;
    const profiles = await api(t.app, 'GET', '/v1/sandbox-profiles', { token: ws.tokens.viewer.token });
    expect(profiles.status).toBe(200);
    expect(profiles.body.items.map((p: any) => p.name)).toEqual(['busybox', 'python', 'python-small']);
    const fromProfile = await create(dev, { profile: 'python-small' });
    expect(fromProfile).toMatchObject({ status: 'ready', image: 'orcaops/python', profile: 'python-small', resources: { memory_mb: 256, pids: 64 } });
    const unknown = await api(t.app, 'POST', '/v1/sandboxes', { token: dev, body: { profile: 'nope' } });
    expect(unknown.status).toBe(404);
    const run = await api(t.app, 'POST', '/v1/sandbox-profiles/busybox/run', { token: dev, body: {} });
    expect(run.status).toBe(201);
    expect(run.body).toMatchObject({ image: 'orcaops/busybox', cleanup_policy: 'always_remove', metadata: { sandbox_profile: 'busybox' } });
    const done = await api(t.app, 'GET', `/v1/jobs/${run.body.id}/wait?timeout_seconds=60`, { token: dev });
    expect(done.body).toMatchObject({ status: 'succeeded', exit_code: 0 });
    const out = await api(t.app, 'GET', `/v1/jobs/${run.body.id}/logs?format=text`, { token: dev });
    expect(out.body).toContain('hello from busybox');
  });
});

describe('sandbox pool housekeeping and the CLI', () => {
  let t: TestApp;
  let install: string;
  let env: Record<string, string>;
  let closed = false;

  beforeAll(async () => {
    t = await createTestApp({ ORCAOPS_SANDBOX_REAPER_MS: '200', ORCAOPS_SANDBOX_POOL: 'orcaops/busybox=1' });
    await t.app.listen(0, '127.0.0.1');
    install = (await installationId(t.databaseUrl))!;
    const ws = await seedWorkspace(t.app, 'sbx-cli');
    env = { ORCAOPS_URL: (await t.app.getUrl()).replace('[::1]', '127.0.0.1'), ORCAOPS_TOKEN: ws.tokens.developer.token };
  });
  afterAll(async () => {
    if (!closed) await t.close();
    for (const c of await docker.listContainers({ all: true, filters: { label: [`orcaops.install=${install}`] } })) {
      await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    }
  });

  it('creates, lists, extends and removes a sandbox with --json', async () => {
    const created = await runCli(['--json', 'sandbox', 'create', 'orcaops/busybox', '--ttl', '600', '--label', 'who=cli', '-e', 'A=1'], env);
    expect(created.exitCode).toBe(0);
    const sbx = JSON.parse(created.stdout);
    expect(sbx).toMatchObject({ status: 'ready', ttl_seconds: 600, labels: { who: 'cli' }, env_keys: ['A'] });
    const listed = JSON.parse((await runCli(['--json', 'sandbox', 'list', '--label', 'who=cli'], env)).stdout);
    expect(listed.items.map((s: any) => s.id)).toEqual([sbx.id]);
    const extended = JSON.parse((await runCli(['--json', 'sandbox', 'extend', sbx.id, '--ttl', '900'], env)).stdout);
    expect(new Date(extended.expires_at).getTime()).toBeGreaterThan(Date.now() + 800_000);
    const removed = JSON.parse((await runCli(['--json', 'sandbox', 'rm', sbx.id], env)).stdout);
    expect(removed).toMatchObject({ status: 'stopped', exit_reason: 'deleted' });
    const missing = await runCli(['--json', 'sandbox', 'get', '00000000-0000-4000-8000-000000000000'], env);
    expect(JSON.parse(missing.stdout).error.code).toBe('not_found');
    expect(missing.exitCode).toBe(5);
    const profiles = JSON.parse((await runCli(['--json', 'sandbox', 'profiles'], env)).stdout);
    expect(profiles.items.length).toBeGreaterThan(0);
    const job = JSON.parse((await runCli(['--json', 'sandbox', 'run-profile', 'busybox'], env)).stdout);
    // Started at once when this server has a free slot (claimed as it is admitted), else queued.
    expect(job).toMatchObject({ status: expect.stringMatching(/^(queued|running)$/), image: 'orcaops/busybox' });
  });

  it('removes stray pool containers of a server that is gone, and its own pool on shutdown', async () => {
    const pool = t.app.get(WarmPoolService);
    expect(await pool.whenFull(30_000)).toBe(true);
    const stray = await docker.createContainer({
      Image: 'orcaops/busybox',
      Cmd: ['sleep', '600'],
      Labels: { 'orcaops.managed': 'true', 'orcaops.install': install, 'orcaops.kind': 'pool', 'orcaops.pool_owner': 'gone-host:1:dead' },
      HostConfig: { NetworkMode: 'none' },
    });
    await t.app.get(SandboxReaperService).tick();
    await expect(stray.inspect()).rejects.toBeDefined();
    const poolLabel = { label: [`orcaops.install=${install}`, 'orcaops.kind=pool'] };
    expect(await docker.listContainers({ all: true, filters: poolLabel })).toHaveLength(1);
    closed = true;
    await t.close();
    expect(await docker.listContainers({ all: true, filters: poolLabel })).toEqual([]);
  });
});
