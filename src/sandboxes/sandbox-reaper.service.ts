import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import { InstallationService } from 'src/database/installation.service';
import { CONTAINER_RUNTIME, ContainerRuntime, ContainerSummary } from 'src/runtime/container-runtime.port';
import { SandboxEntity } from 'src/sandboxes/entities/sandbox.entity';
import { SandboxActivity } from 'src/sandboxes/sandbox-activity';
import { SandboxLifecycle } from 'src/sandboxes/sandbox-lifecycle.service';
import type { SandboxStatus } from 'src/sandboxes/sandbox-model';
import { SandboxNode } from 'src/sandboxes/sandbox-node';
import { sandboxesConfig } from 'src/sandboxes/sandboxes.config';
import { QuotasService } from 'src/quotas/quotas.service';

const NOT_ENDED: SandboxStatus[] = ['starting', 'ready', 'stopping'];

/**
 * Enforces sandbox lifecycles across every workspace (a system task: it reads all tenants' sandboxes,
 * the documented exemption from scoped repositories, and acts on each row within its own workspace):
 * - TTL (expires_at passed → expired/ttl) and idle timeout (no API call AND no running process for the
 *   idle period → expired/idle) and the workspace's daily and monthly sandbox-seconds quotas (reached → its live
 *   sandboxes expired/quota), each recorded with its reason and audited as the system;
 * - containers that vanished → lost/engine_lost; exited (OOM or otherwise) → failed;
 * - on start and each pass: sandboxes of a server that is gone are re-adopted when their container
 *   survived, else lost; stray sandbox and pool containers of this installation are removed.
 */
@Injectable()
export class SandboxReaperService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('SandboxReaper');
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly flushedAt = new Map<string, number>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
    @Inject(sandboxesConfig.KEY) private readonly config: ConfigType<typeof sandboxesConfig>,
    private readonly lifecycle: SandboxLifecycle,
    private readonly activity: SandboxActivity,
    private readonly node: SandboxNode,
    private readonly installation: InstallationService,
    private readonly quotas: QuotasService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.node.hold();
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.config.reaperIntervalMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    await this.node.release();
  }

  /** One pass, never two at once (tests may call it directly to avoid waiting for the timer). */
  tick(): Promise<void> {
    this.running ??= this.reconcile().finally(() => (this.running = undefined));
    return this.running;
  }

  private async reconcile(): Promise<void> {
    const rows = await this.dataSource.getRepository(SandboxEntity).find({ where: { status: In(NOT_ENDED) } });
    const containers = await this.engineContainers();
    const overQuota = await this.quotas.sandboxSecondsExhausted([...new Set(rows.map((r) => r.workspaceId))]).catch((error) => {
      this.logger.warn({ msg: 'sandbox quota check failed; quotas not enforced this pass', err: String(error) });
      return new Set<string>();
    });
    for (const sandbox of rows) {
      try {
        await this.check(sandbox, containers, overQuota);
      } catch (error) {
        this.logger.warn({ msg: 'sandbox check failed', sandboxId: sandbox.id, err: String(error) });
      }
    }
    if (containers) await this.removeStrays(containers).catch((error) => this.logger.warn({ msg: 'stray removal failed', err: String(error) }));
  }

  /** Every container of this installation by id, or undefined when the engine does not answer (then nothing is declared lost). */
  private async engineContainers(): Promise<Map<string, ContainerSummary> | undefined> {
    try {
      const install = await this.installation.installationId();
      const list = await this.runtime.listContainers({ 'orcaops.install': install });
      return new Map(list.map((c) => [c.id, c]));
    } catch (error) {
      this.logger.warn({ msg: 'engine unreachable; sandbox container checks skipped this pass', err: String(error) });
      return undefined;
    }
  }

  private async check(sandbox: SandboxEntity, containers: Map<string, ContainerSummary> | undefined, overQuota: Set<string>): Promise<void> {
    if (sandbox.runnerId !== this.node.id) {
      // Managed by a live other server: its own reaper is in charge.
      if (!(await this.node.isGone(sandbox.runnerId))) return;
      if (!(await this.takeOver(sandbox, containers))) return;
    }
    if (sandbox.status === 'stopping') return this.lifecycle.finishStopping(sandbox.workspaceId, sandbox.id);
    if (sandbox.status === 'starting') {
      // Being provisioned by this process; only a stuck start (creator died mid-way) is failed here.
      if (Date.now() - sandbox.createdAt.getTime() > this.config.startingGraceMs) {
        await this.lifecycle.end(sandbox, ['starting'], 'failed', 'start_failed', 'the sandbox did not become ready');
      }
      return;
    }
    if (containers && (await this.containerEnded(sandbox, containers))) return;
    const now = Date.now();
    if (sandbox.expiresAt.getTime() <= now) {
      await this.lifecycle.stop(sandbox, 'ttl', 'system', `its time to live ended at ${sandbox.expiresAt.toISOString()}`);
      return;
    }
    if (overQuota.has(sandbox.workspaceId)) {
      await this.lifecycle.stop(sandbox, 'quota', 'system', 'the workspace used its sandbox-seconds for today or this month (UTC)');
      return;
    }
    const last = Math.max(sandbox.lastActivityAt.getTime(), this.activity.lastActivity(sandbox.id) ?? 0);
    if (this.activity.running(sandbox.id) === 0 && last + sandbox.spec.idle_timeout_seconds * 1000 <= now) {
      await this.lifecycle.stop(sandbox, 'idle', 'system', `no API call or running process for ${sandbox.spec.idle_timeout_seconds}s`);
      return;
    }
    await this.flushActivity(sandbox, last);
  }

  /** A sandbox whose server is gone: re-adopted if its container survived; otherwise lost. */
  private async takeOver(sandbox: SandboxEntity, containers: Map<string, ContainerSummary> | undefined): Promise<boolean> {
    if (!containers) return false;
    const container = sandbox.containerId ? containers.get(sandbox.containerId) : undefined;
    if (sandbox.status === 'ready' && container?.status !== 'running') {
      await this.lifecycle.end(sandbox, ['ready'], 'lost', 'engine_lost', 'its container vanished while no server managed it');
      return false;
    }
    if (!(await this.lifecycle.adopt(sandbox))) return false;
    this.logger.log({ msg: 'sandbox re-adopted', sandboxId: sandbox.id, from: sandbox.runnerId });
    sandbox.runnerId = this.node.id;
    return true;
  }

  /** Lost (container gone) or failed (exited: OOM or otherwise); true when the sandbox ended. */
  private async containerEnded(sandbox: SandboxEntity, containers: Map<string, ContainerSummary>): Promise<boolean> {
    const lost = (): Promise<boolean> => this.lifecycle.end(sandbox, ['ready'], 'lost', 'engine_lost', 'its container disappeared from the engine');
    const container = sandbox.containerId ? containers.get(sandbox.containerId) : undefined;
    if (!container || container.status === 'removing') return lost();
    if (container.status === 'running' || container.status === 'paused' || container.status === 'restarting') return false;
    const state = await this.runtime.inspect(container.id).catch(() => undefined);
    if (!state) return lost();
    if (state.oomKilled) return this.lifecycle.end(sandbox, ['ready'], 'failed', 'oom_killed', 'its main process was killed: out of memory');
    return this.lifecycle.end(sandbox, ['ready'], 'failed', 'container_exited', `its container stopped (exit code ${state.exitCode ?? 'unknown'})`);
  }

  /** last_activity_at follows the in-memory activity at a coarse interval (enough for restarts and listings). */
  private async flushActivity(sandbox: SandboxEntity, last: number): Promise<void> {
    if (this.activity.running(sandbox.id) > 0) last = Date.now();
    if (last - sandbox.lastActivityAt.getTime() < this.config.activityFlushMs) return;
    if (Date.now() - (this.flushedAt.get(sandbox.id) ?? 0) < this.config.activityFlushMs) return;
    this.flushedAt.set(sandbox.id, Date.now());
    await this.dataSource
      .getRepository(SandboxEntity)
      .update({ id: sandbox.id, workspaceId: sandbox.workspaceId, status: 'ready' }, { lastActivityAt: new Date(last) });
  }

  /**
   * Sandbox containers whose sandbox ended or is unknown; pool containers whose server is gone and that
   * no live sandbox took. A live other server's containers are left alone.
   */
  private async removeStrays(containers: Map<string, ContainerSummary>): Promise<void> {
    const candidates = [...containers.values()].filter((c) => c.labels['orcaops.kind'] === 'sandbox' || c.labels['orcaops.kind'] === 'pool');
    if (!candidates.length) return;
    const live = await this.dataSource.getRepository(SandboxEntity).find({ where: { status: In(NOT_ENDED) }, select: { id: true, containerId: true } });
    const liveIds = new Set(live.map((s) => s.id));
    const liveContainers = new Set(live.map((s) => s.containerId));
    for (const c of candidates) {
      if (liveContainers.has(c.id)) continue;
      if (c.labels['orcaops.kind'] === 'sandbox') {
        // A sandbox being created may not have stored its container id yet.
        if (liveIds.has(c.labels['orcaops.sandbox_id'] ?? '')) continue;
      } else if (!(await this.node.isGone(c.labels['orcaops.pool_owner'] ?? null))) continue;
      await this.runtime.remove(c.id).catch(() => undefined);
    }
  }
}
