import { DataSource } from 'typeorm';
import { PoliciesService } from 'src/policies/policies.service';
import { QuotasService } from 'src/quotas/quotas.service';
import { SandboxExecService } from 'src/sandboxes/interaction/sandbox-exec.service';
import { SandboxReaperService } from 'src/sandboxes/sandbox-reaper.service';
import { SandboxesService } from 'src/sandboxes/sandboxes.service';
import { EngineHealth } from 'src/runtime/engine-health.service';
import type { FastWorkspace } from './support/fast-app';
import { errorCodeOf, FastApp } from './support/fast-app';

/** Sandboxes through SandboxesService, exec and the reaper on a real Postgres with the fake engine. */
describe('sandboxes (fast tier)', () => {
  let t: FastApp;
  let sandboxes: SandboxesService;
  let exec: SandboxExecService;
  let seq = 0;

  beforeAll(async () => {
    t = await FastApp.start();
    sandboxes = t.get(SandboxesService);
    exec = t.get(SandboxExecService);
  });
  afterAll(() => t?.close());

  const workspace = (): Promise<FastWorkspace> => t.workspace(`sandboxes-${++seq}`);
  const containerOf = (sandboxId: string) => [...t.fake.containers.values()].find((c) => c.state.name === `orcaops-sandbox-${sandboxId}`);
  const audited = async (action: string, resourceId: string): Promise<number> => {
    const rows: Array<{ n: string }> = await t.get(DataSource).query('SELECT count(*) AS n FROM audit_events WHERE action = $1 AND resource_id = $2', [action, resourceId]);
    return Number(rows[0]?.n);
  };

  it('creates a ready sandbox, runs a command in it, extends it and deletes it', async () => {
    const ws = await workspace();
    const created = await sandboxes.create(ws.as.developer, { image: 'orcaops/python', ttl_seconds: 600, env: { GREETING: 'hi' } });
    expect(created).toMatchObject({ status: 'ready', image: 'orcaops/python', env_keys: ['GREETING'], pooled: false });
    const container = containerOf(created.id);
    expect(container?.state.status).toBe('running');
    expect(container?.createOptions.HostConfig).toMatchObject({ CapDrop: ['ALL'], ReadonlyRootfs: true, NetworkMode: 'none' });

    t.fake.scriptExec(['/bin/sh', '-c', 'echo "$GREETING"'], { output: [['stdout', 'hi\n'], ['stderr', 'warn\n']], exitCode: 4 });
    const result = await exec.collect(ws.as.developer, created.id, { command: 'echo "$GREETING"' });
    expect(result).toMatchObject({ exit_code: 4, stdout: 'hi\n', stderr: 'warn\n', timed_out: false, stdout_truncated: false });
    expect(container?.execs.at(-1)).toMatchObject({ env: { GREETING: 'hi' }, cwd: '/workspace' });
    expect(await audited('sandbox.exec', created.id)).toBe(1);

    const before = Date.parse(created.expires_at);
    const extended = await sandboxes.extend(ws.as.developer, created.id, 3600);
    expect(Date.parse(extended.expires_at)).toBeGreaterThan(before);
    expect(await audited('sandbox.extend', created.id)).toBe(1);

    const deleted = await sandboxes.delete(ws.as.developer, created.id);
    expect(deleted).toMatchObject({ status: 'stopped', exit_reason: 'deleted' });
    expect(containerOf(created.id)).toBeUndefined();
    expect(await errorCodeOf(exec.collect(ws.as.developer, created.id, { command: 'true' }))).toBe('conflict');
    expect(await errorCodeOf(sandboxes.extend(ws.as.developer, created.id, 600))).toBe('conflict');
    // Deleting an ended sandbox answers it unchanged.
    expect((await sandboxes.delete(ws.as.developer, created.id)).status).toBe('stopped');
  });

  it('expires a sandbox past its TTL and fails one whose container exited, in one reaper pass', async () => {
    const ws = await workspace();
    const old = await sandboxes.create(ws.as.developer, { image: 'orcaops/busybox' });
    const crashed = await sandboxes.create(ws.as.developer, { image: 'orcaops/busybox' });
    const gone = await sandboxes.create(ws.as.developer, { image: 'orcaops/busybox' });
    const fine = await sandboxes.create(ws.as.developer, { image: 'orcaops/busybox' });
    await t.get(DataSource).query(`UPDATE sandboxes SET expires_at = now() - interval '1 second' WHERE id = $1`, [old.id]);
    t.fake.exitContainer(containerOf(crashed.id)!.id, 1);
    await t.fake.remove(containerOf(gone.id)!.id);

    await t.get(SandboxReaperService).tick();

    expect(await sandboxes.get(ws.as.viewer, old.id)).toMatchObject({ status: 'expired', exit_reason: 'ttl' });
    expect(containerOf(old.id)).toBeUndefined();
    expect(await sandboxes.get(ws.as.viewer, crashed.id)).toMatchObject({ status: 'failed', exit_reason: 'container_exited' });
    expect(await sandboxes.get(ws.as.viewer, gone.id)).toMatchObject({ status: 'lost', exit_reason: 'engine_lost' });
    expect(await sandboxes.get(ws.as.viewer, fine.id)).toMatchObject({ status: 'ready' });
    await sandboxes.delete(ws.as.developer, fine.id);
  });

  it('refuses over quota, against policy, without permission, and for a missing image', async () => {
    const ws = await workspace();
    const other = await workspace();
    await t.get(QuotasService).setLimits(t.org, ws.id, { limits: { concurrent_sandboxes: 1 } });
    const held = await sandboxes.create(ws.as.developer, { image: 'orcaops/busybox' });
    expect(await errorCodeOf(sandboxes.create(ws.as.developer, { image: 'orcaops/busybox' }))).toBe('quota_exceeded');

    await t.get(PoliciesService).setWorkspace(t.org, ws.id, { images: { deny: ['orcaops/python'] }, commands: { deny_patterns: ['^rm '] } });
    expect(await errorCodeOf(sandboxes.create(ws.as.developer, { image: 'orcaops/python' }))).toBe('policy_denied');
    const execs = containerOf(held.id)!.execs.length;
    expect(await errorCodeOf(exec.collect(ws.as.developer, held.id, { command: 'rm -rf /workspace' }))).toBe('policy_denied');
    expect(containerOf(held.id)!.execs.length).toBe(execs);

    expect(await errorCodeOf(sandboxes.create(ws.as.viewer, { image: 'orcaops/busybox' }))).toBe('forbidden');
    expect(await errorCodeOf(exec.collect(ws.as.viewer, held.id, { command: 'true' }))).toBe('forbidden');
    expect(await errorCodeOf(sandboxes.get(other.as.admin, held.id))).toBe('not_found');
    expect(await errorCodeOf(exec.collect(other.as.admin, held.id, { command: 'true' }))).toBe('not_found');
    expect(await errorCodeOf(sandboxes.delete(other.as.admin, held.id))).toBe('not_found');
    await sandboxes.delete(ws.as.developer, held.id);

    expect(await errorCodeOf(sandboxes.create(ws.as.developer, { image: 'orcaops/not-built' }))).toBe('validation_failed');
    const listed = await sandboxes.list(ws.as.viewer, { labels: [], limit: 10 });
    expect(listed.items.map((s) => [s.image, s.status, s.exit_reason])).toEqual([
      ['orcaops/not-built', 'failed', 'image_not_found'],
      ['orcaops/busybox', 'stopped', 'deleted'],
    ]);
  });

  it('answers engine_unavailable while the engine is down, recording nothing', async () => {
    const ws = await workspace();
    t.fake.available = false;
    t.get(EngineHealth).invalidate();
    try {
      expect(await errorCodeOf(sandboxes.create(ws.as.developer, { image: 'orcaops/busybox' }))).toBe('engine_unavailable');
    } finally {
      t.fake.available = true;
      t.get(EngineHealth).invalidate();
    }
    expect((await sandboxes.list(ws.as.viewer, { labels: [], limit: 10 })).items).toEqual([]);
  });
});
