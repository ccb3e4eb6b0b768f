import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestApp } from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { runCli } from '../support/cli';
import { docker, installationId, removeInstallationContainers } from '../support/docker';
import { expectError } from '../support/errors';
import { api } from '../support/http';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

/**
 * Operator views on the real engine (issue 20 item 4): what OrcaOps manages, orphans, and gc removing
 * orphans and nothing else, through REST (organisation admin) and `orcaops admin` (operator context).
 */
describe('operator views of the engine (REST, CLI)', () => {
  const RUN = randomUUID();
  /** Every object this spec creates by hand carries it, for clean-up. */
  const TEST_LABEL = { 'orcaops-test.operator': RUN };
  let t: TestApp;
  let a: SeededWorkspace;
  let install: string;
  let cliEnv: Record<string, string>;
  const goneInstall = randomUUID();
  const goneHome = join(tmpdir(), `orcaops-gone-home-${RUN}`);
  let liveHome: string;
  const ids = {} as { gonePool: string; lostJob: string; liveForeign: string; foreign: string; pool: string };
  const goneVolume = `orcaops-test-gone-vol-${RUN}`;
  const goneNetwork = `orcaops-test-gone-net-${RUN}`;

  async function container(name: string, labels: Record<string, string>, script = 'sleep 600'): Promise<string> {
    const c = await docker.createContainer({
      name: `orcaops-test-${name}-${RUN}`,
      Image: 'orcaops/busybox',
      Cmd: ['sh', '-c', script],
      Labels: { ...TEST_LABEL, ...labels },
      HostConfig: { NetworkMode: 'none', Init: true },
    });
    await c.start();
    return c.id;
  }

  const exists = async (id: string): Promise<boolean> => docker.getContainer(id).inspect().then(() => true, () => false);
  const admin = (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) => api(t.app, method, path, { token: TEST_ADMIN_TOKEN, body });

  beforeAll(async () => {
    t = await createTestApp({ ORCAOPS_SANDBOX_POOL: 'orcaops/busybox=1' });
    a = await seedWorkspace(t.app, 'operator');
    liveHome = mkdtempSync(join(tmpdir(), 'orcaops-live-home-'));
    cliEnv = { DATABASE_URL: t.databaseUrl, ORCAOPS_HOME: t.home, ORCAOPS_ENV: 'test', ORCAOPS_LOG_LEVEL: 'error' };
    expect((await admin('GET', '/v1/admin/engine/objects')).status).toBe(200);
    install = (await installationId(t.databaseUrl)) as string;
    const managed = { 'orcaops.managed': 'true' };
    const gone = { ...managed, 'orcaops.install': goneInstall, 'orcaops.home': goneHome, 'orcaops.host': hostname() };
    // A server of another installation stopped for good: its data directory is gone, its pool still runs.
    ids.gonePool = await container('gone-pool', { ...gone, 'orcaops.kind': 'pool', 'orcaops.pool_owner': randomUUID() });
    await docker.createVolume({ Name: goneVolume, Labels: { ...TEST_LABEL, ...gone, 'orcaops.role': 'volume' } });
    await docker.createNetwork({ Name: goneNetwork, Internal: true, Labels: { ...TEST_LABEL, ...gone, 'orcaops.role': 'network' } });
    // This installation's job container whose record no longer exists.
    ids.lostJob = await container('lost-job', { ...managed, 'orcaops.install': install, 'orcaops.kind': 'job', 'orcaops.job_id': randomUUID(), 'orcaops.workspace_id': a.id }, 'echo hello-operator; sleep 600');
    // A neighbour installation that is alive (its data directory exists): never an orphan.
    ids.liveForeign = await container('live-foreign', { ...managed, 'orcaops.install': randomUUID(), 'orcaops.home': liveHome, 'orcaops.host': hostname(), 'orcaops.kind': 'pool', 'orcaops.pool_owner': randomUUID() });
    // Not OrcaOps's at all (no orcaops.managed label): never seen, never touched.
    ids.foreign = await container('unlabelled', { 'orcaops.install': goneInstall });
    // This server's own warm pool: alive, not an orphan (awaited: the pool fills in the background).
    const deadline = Date.now() + 60_000;
    let pool: string | undefined;
    while (!pool && Date.now() < deadline) {
      const list = await docker.listContainers({ all: true, filters: { label: [`orcaops.install=${install}`, 'orcaops.kind=pool'] } });
      if (list[0]) pool = list[0].Id;
      else await new Promise((resolve) => setTimeout(resolve, 250));
    }
    if (!pool) throw new Error('the warm pool did not fill within 60 s');
    ids.pool = pool;
  });

  afterAll(async () => {
    for (const c of await docker.listContainers({ all: true, filters: { label: [`orcaops-test.operator=${RUN}`] } })) {
      await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    }
    await docker.getVolume(goneVolume).remove().catch(() => undefined);
    await docker.getNetwork(goneNetwork).remove().catch(() => undefined);
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
    rmSync(liveHome, { recursive: true, force: true });
  });

  it('lists managed objects with kind, workspace, age and orphans, and never an unlabelled one', async () => {
    const res = await admin('GET', '/v1/admin/engine/objects');
    expect(res.status).toBe(200);
    const byId = new Map<string, any>(res.body.items.map((o: any) => [o.id, o]));
    expect(byId.get(ids.gonePool)).toMatchObject({ type: 'container', kind: 'pool', orphan: true, orphan_reason: 'installation_gone', this_installation: false });
    expect(byId.get(ids.lostJob)).toMatchObject({ kind: 'job', workspace_id: a.id, orphan: true, orphan_reason: 'record_gone', this_installation: true });
    expect(byId.get(ids.lostJob).age_seconds).toEqual(expect.any(Number));
    expect(byId.get(ids.pool)).toMatchObject({ kind: 'pool', orphan: false, this_installation: true });
    expect(byId.get(ids.liveForeign)).toMatchObject({ orphan: false, this_installation: false });
    expect(byId.get(goneVolume)).toMatchObject({ type: 'volume', kind: 'workflow_volume', orphan_reason: 'installation_gone' });
    expect(byId.get(goneNetwork)).toMatchObject({ type: 'network', kind: 'workflow_network', orphan_reason: 'installation_gone' });
    expect(byId.has(ids.foreign)).toBe(false);
    const orphans = await admin('GET', '/v1/admin/engine/objects?orphans=true&type=container');
    expect(orphans.body.items.map((o: any) => o.id)).toEqual(expect.arrayContaining([ids.gonePool, ids.lostJob]));
    expect(orphans.body.items.every((o: any) => o.orphan && o.type === 'container')).toBe(true);
  });

  it('refuses workspace admins (403) and answers 404 for an object without OrcaOps labels', async () => {
    for (const [method, path] of [['GET', '/v1/admin/engine/objects'], ['POST', '/v1/admin/engine/gc']] as const) {
      expectError(await api(t.app, method, path, { token: a.tokens.admin.token, body: method === 'POST' ? { dry_run: true } : undefined }), 403, 'forbidden');
    }
    expectError(await admin('GET', `/v1/admin/engine/containers/${ids.foreign}`), 404, 'not_found');
    expectError(await admin('DELETE', `/v1/admin/engine/containers/${ids.foreign}`), 404, 'not_found');
    expect(await exists(ids.foreign)).toBe(true);
  });

  it('shows logs and inspects a managed container (REST and CLI)', async () => {
    const logs = await admin('GET', `/v1/admin/engine/containers/${ids.lostJob.slice(0, 12)}/logs`);
    expect(logs.status).toBe(200);
    expect(logs.body.logs).toContain('hello-operator');
    const cli = await runCli(['admin', 'logs', ids.lostJob], cliEnv);
    expect(cli.stdout).toContain('hello-operator');
    const inspected = await runCli(['--json', 'admin', 'inspect', ids.lostJob.slice(0, 12)], cliEnv);
    expect(JSON.parse(inspected.stdout)).toMatchObject({ id: ids.lostJob, status: 'running', kind: 'job', orphan_reason: 'record_gone' });
  });

  it('gc --dry-run lists the orphans and removes nothing; gc removes them and nothing else; all audited', async () => {
    const dry = await runCli(['--json', 'admin', 'gc', '--dry-run'], cliEnv);
    expect(dry.exitCode).toBe(0);
    const planned = JSON.parse(dry.stdout);
    expect(planned.dry_run).toBe(true);
    const plannedIds = planned.removed.map((o: any) => o.id);
    expect(plannedIds).toEqual(expect.arrayContaining([ids.gonePool, ids.lostJob, goneVolume, goneNetwork]));
    expect(plannedIds).not.toEqual(expect.arrayContaining([ids.pool]));
    for (const id of [ids.gonePool, ids.lostJob]) expect(await exists(id)).toBe(true);

    const res = await admin('POST', '/v1/admin/engine/gc', { dry_run: false });
    expect(res.status).toBe(200);
    expect(res.body.failed).toEqual([]);
    const removed = res.body.removed.map((o: any) => o.id);
    expect(removed).toEqual(expect.arrayContaining([ids.gonePool, ids.lostJob, goneVolume, goneNetwork]));
    for (const id of [ids.gonePool, ids.lostJob]) expect(await exists(id)).toBe(false);
    expect(await docker.getVolume(goneVolume).inspect().then(() => true, () => false)).toBe(false);
    expect(await docker.getNetwork(goneNetwork).inspect().then(() => true, () => false)).toBe(false);
    // Nothing else: the unlabelled container, the live neighbour and this server's pool survive.
    for (const id of [ids.foreign, ids.liveForeign, ids.pool]) expect(await exists(id)).toBe(true);

    const audit = await admin('GET', '/v1/audit?action=engine.gc');
    const [latest, earlier] = audit.body.items;
    expect(latest).toMatchObject({ action: 'engine.gc', actor_type: 'organisation', via: 'rest', outcome: 'success' });
    expect(latest.details).toMatchObject({ dry_run: false, failed: 0 });
    // At least ours (orphans other runs on this engine left behind are collected too).
    for (const kind of ['pool', 'job', 'workflow_volume', 'workflow_network']) expect(latest.details.removed[kind]).toBeGreaterThanOrEqual(1);
    expect(earlier).toMatchObject({ action: 'engine.gc', via: 'cli', details: expect.objectContaining({ dry_run: true }) });
  });

  it('stops and removes one managed container through the CLI, audited', async () => {
    const ps = await runCli(['--json', 'admin', 'ps', '--type', 'container'], cliEnv);
    expect(JSON.parse(ps.stdout).items.map((o: any) => o.id)).toContain(ids.liveForeign);
    const stopped = await runCli(['--json', 'admin', 'stop', ids.liveForeign], cliEnv);
    expect(stopped.exitCode).toBe(0);
    expect((await docker.getContainer(ids.liveForeign).inspect()).State.Running).toBe(false);
    expect((await runCli(['--json', 'admin', 'rm', ids.liveForeign], cliEnv)).exitCode).toBe(0);
    expect(await exists(ids.liveForeign)).toBe(false);
    const missing = await runCli(['--json', 'admin', 'rm', ids.foreign], cliEnv);
    expect(JSON.parse(missing.stdout).error.code).toBe('not_found');
    expect(await exists(ids.foreign)).toBe(true);
    const audit = await admin('GET', '/v1/audit?resource_id=' + ids.liveForeign.slice(0, 64));
    expect(audit.body.items.map((e: any) => e.action)).toEqual(expect.arrayContaining(['engine.container_stopped', 'engine.container_removed']));
  });
});
