import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { invalidField, OrcaOpsError } from 'src/common/errors/orcaops.error';
import { InstallationService } from 'src/database/installation.service';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { CONTAINER_RUNTIME, ContainerRuntime } from 'src/runtime/container-runtime.port';
import { EngineHealth } from 'src/runtime/engine-health.service';
import { ImagePullError, RuntimeError, toOrcaOpsError } from 'src/runtime/runtime.errors';
import { ImagePuller, ResolvedImage } from 'src/registries/image-puller.service';
import { SandboxEntity } from 'src/sandboxes/entities/sandbox.entity';
import { SandboxActivity } from 'src/sandboxes/sandbox-activity';
import { sandboxContainerSpec, sandboxLabels } from 'src/sandboxes/sandbox-container';
import type { SandboxExitReason, SandboxStatus } from 'src/sandboxes/sandbox-model';
import { SandboxNode } from 'src/sandboxes/sandbox-node';
import { EgressGateway, EgressLease } from 'src/egress/egress-gateway.service';
import { WarmPoolService } from 'src/sandboxes/warm-pool.service';
import type { TenantContext } from 'src/tenancy/tenant-context';

/** Where a stop ends, by its reason (the reason is stored when stopping starts). */
export function finalStatusFor(reason: SandboxExitReason): SandboxStatus {
  switch (reason) {
    case 'deleted':
    case 'workspace_suspended':
    case 'token_revoked':
      return 'stopped';
    case 'ttl':
    case 'idle':
    case 'quota':
    case 'session_ended':
      return 'expired';
    case 'engine_lost':
      return 'lost';
    case 'oom_killed':
    case 'container_exited':
    case 'start_failed':
    case 'image_not_found':
    case 'image_pull_failed':
      return 'failed';
  }
}

const LIVE: SandboxStatus[] = ['starting', 'ready'];

/**
 * The sandbox state machine's side of the engine. Every transition is a compare-and-set on `status`,
 * committed before the side effect it announces (stopping → the container is removed → stopped), so a
 * crash at any point leaves a row the reaper can finish, and two actors (a delete and the reaper) can
 * never both act on one sandbox.
 */
@Injectable()
export class SandboxLifecycle {
  private readonly logger = new Logger('SandboxLifecycle');
  /** Egress gateway credentials of this server's live sandboxes with network `egress`, released when they stop. */
  private readonly leases = new Map<string, EgressLease>();

  // Eleven: each transition is a compare-and-set audited in its transaction, then the engine call (pool, node, installation labels).
  constructor(
    @InjectScopedRepository(SandboxEntity) private readonly sandboxes: TenantScopedRepository<SandboxEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
    private readonly pool: WarmPoolService,
    private readonly activity: SandboxActivity,
    private readonly audit: AuditService,
    private readonly engine: EngineHealth,
    private readonly installation: InstallationService,
    private readonly node: SandboxNode,
    private readonly egress: EgressGateway,
    private readonly images: ImagePuller,
  ) {}

  /**
   * A warm pool container for this sandbox (WarmPoolService.take), or undefined when none matches. The
   * pool container is already running, so the caller records the sandbox `ready` with it in its create
   * transaction (one commit instead of insert + two updates); if that transaction fails it must call
   * discard(). A crash in between leaves a pool-labelled container the reaper removes as a stray.
   */
  takeWarm(sandboxId: string, spec: SandboxEntity['spec'], imageUsable: boolean): string | undefined {
    return this.pool.take(sandboxId, spec, imageUsable);
  }

  /**
   * Whether this workspace may take a warm pool container of the spec's image: the pool's containers
   * already run the engine's copy of it, so this is the same check as any other use of a local image
   * (policy size limit, this workspace's pull grant for a registry image), with no pull. Undefined: the
   * sandbox starts cold (and pulls, which authorises it).
   */
  async warmImage(workspaceId: string, spec: SandboxEntity['spec']): Promise<ResolvedImage | undefined> {
    if (spec.pull_policy === 'always' || !this.pool.has(spec.image)) return undefined;
    return this.images.usableWithoutPull(workspaceId, spec.image).catch(() => undefined);
  }

  /**
   * starting → ready (updating `sandbox` in place when it gets there): creates and starts a hardened
   * container. The container id is stored (still starting) before the container starts, so a delete or
   * a crash in between finds it.
   */
  async provision(sandbox: SandboxEntity): Promise<void> {
    const { workspaceId, id, spec } = sandbox;
    let containerId: string | undefined;
    try {
      const image = await this.pullImage(sandbox);
      const containerSpec = sandboxContainerSpec(`orcaops-sandbox-${id}`, image, spec.resources, spec.network, sandboxLabels(sandbox, await this.installation.installationId()));
      // An environment's sandbox: on the environment's internal network, where its services are.
      if (spec.attach) containerSpec.attach = spec.attach;
      if (spec.network === 'egress') {
        const lease = await this.egress.lease({ workspaceId, kind: 'sandbox', id, narrowing: spec.egress });
        this.leases.set(id, lease);
        containerSpec.env = { ...containerSpec.env, ...lease.env };
      }
      containerId = await this.runtime.createContainer(containerSpec);
      const claimed = await this.sandboxes.update(workspaceId, { id, status: 'starting' }, { containerId, pooled: false });
      if (!claimed) return await this.discard(containerId);
      await this.runtime.startContainer(containerId);
      const now = new Date();
      const ready = await this.sandboxes.update(workspaceId, { id, status: 'starting' }, { status: 'ready', readyAt: now, lastActivityAt: now, message: sandbox.message });
      if (!ready) return await this.discard(containerId);
      this.activity.touch(id, now.getTime());
      // The caller answers from this (the committed state) instead of reading the row back.
      Object.assign(sandbox, { containerId, pooled: false, status: 'ready', readyAt: now, lastActivityAt: now });
    } catch (error) {
      const reason: SandboxExitReason =
        error instanceof ImagePullError ? 'image_pull_failed' : error instanceof RuntimeError && error.code === 'image_not_found' ? 'image_not_found' : 'start_failed';
      this.releaseEgress(id);
      await this.end(sandbox, LIVE, finalStatusFor(reason), reason, `could not start: ${(error as Error).message}`);
      if (containerId) await this.discard(containerId);
      throw this.startError(error, spec.image);
    }
  }

  /**
   * The pull phase (ImagePuller, as for jobs): policy and this workspace's pull grant checked, the image
   * pulled with the workspace's own credentials when needed. While the sandbox is starting its
   * `message` carries the latest progress line (at most one a second), and the last one stays on the
   * ready sandbox; the digest goes on the record. Returns the reference to create the container from
   * (pinned by digest when it came from a registry).
   */
  private async pullImage(sandbox: SandboxEntity): Promise<string> {
    const { workspaceId, id, spec } = sandbox;
    let written = Promise.resolve();
    const resolved = await this.images.ensure(workspaceId, spec.image, {
      pullPolicy: spec.pull_policy,
      onLine: (line) => {
        sandbox.message = line;
        // Chained so an older line never lands after a newer one; a failed write only loses a progress line.
        written = written.then(() => this.sandboxes.update(workspaceId, { id, status: 'starting' }, { message: line }).then(() => undefined, () => undefined));
      },
    });
    await written;
    sandbox.imageDigest = resolved.digest;
    if (resolved.digest) await this.sandboxes.update(workspaceId, { id, status: 'starting' }, { imageDigest: resolved.digest });
    return resolved.reference;
  }

  private startError(error: unknown, image: string): OrcaOpsError {
    if (error instanceof ImagePullError) return toOrcaOpsError(error);
    if (error instanceof RuntimeError && error.code === 'image_not_found') {
      return invalidField('image', `image ${image} is not present on this server, and it names no registry to pull it from`);
    }
    if (error instanceof RuntimeError && error.code === 'engine_unavailable') {
      this.engine.invalidate();
      return new OrcaOpsError('engine_unavailable', 'The Docker engine became unreachable while starting the sandbox');
    }
    this.logger.error({ msg: 'sandbox start failed', err: String((error as Error)?.stack ?? error) });
    return new OrcaOpsError('internal_error', 'internal error while starting the sandbox');
  }

  /** Removes a container no sandbox keeps (never throws: the reaper removes what is left). */
  async discard(containerId: string): Promise<void> {
    await this.runtime.remove(containerId).catch(() => undefined);
  }

  /**
   * starting|ready → stopping (with its reason, audited in the same transaction) → container removed →
   * stopped|expired. Returns false when another actor got there first. A removal that fails leaves the
   * row stopping; the reaper finishes it.
   */
  async stop(sandbox: SandboxEntity, reason: SandboxExitReason, ctx: TenantContext | 'system', message: string | null = null): Promise<boolean> {
    const { workspaceId, id } = sandbox;
    const moved = await this.dataSource.transaction(async (manager) => {
      const changed = await this.sandboxes.withManager(manager).update(workspaceId, { id, status: In(LIVE) }, { status: 'stopping', exitReason: reason, message });
      if (!changed) return false;
      const record = { action: ctx === 'system' ? 'sandbox.expire' : 'sandbox.delete', resourceType: 'sandbox', resourceId: id, sessionId: sandbox.sessionId ?? undefined, details: { reason } };
      if (ctx === 'system') await this.audit.recordSystem(workspaceId, record, manager);
      else await this.audit.record(ctx, record, manager);
      return true;
    });
    if (!moved) return false;
    await this.finishStopping(workspaceId, id);
    return true;
  }

  /** stopping → (container removed) → its final status. Also the reaper's retry after a crash. */
  private releaseEgress(id: string): void {
    this.leases.get(id)?.release();
    this.leases.delete(id);
  }

  async finishStopping(workspaceId: string, id: string): Promise<void> {
    this.releaseEgress(id);
    const row = await this.sandboxes.findOne(workspaceId, { id });
    if (row?.status !== 'stopping') return;
    if (row.containerId) {
      try {
        await this.runtime.remove(row.containerId);
      } catch (error) {
        this.logger.warn({ msg: 'sandbox container removal failed; the reaper will retry', sandboxId: id, err: String(error) });
        return;
      }
    }
    const status = finalStatusFor(row.exitReason ?? 'deleted');
    await this.sandboxes.update(workspaceId, { id, status: 'stopping' }, { status, stoppedAt: new Date() });
    this.activity.forget(id);
  }

  /**
   * A live sandbox that ended without us (container vanished or exited): the state and reason are
   * recorded (and audited) first, then whatever is left of the container is removed.
   */
  async end(sandbox: SandboxEntity, from: SandboxStatus[], status: SandboxStatus, reason: SandboxExitReason, message: string): Promise<boolean> {
    const { workspaceId, id } = sandbox;
    const moved = await this.dataSource.transaction(async (manager) => {
      const changed = await this.sandboxes
        .withManager(manager)
        .update(workspaceId, { id, status: In(from) }, { status, exitReason: reason, message, stoppedAt: new Date() });
      if (changed) await this.audit.recordSystem(workspaceId, { action: `sandbox.${status}`, resourceType: 'sandbox', resourceId: id, sessionId: sandbox.sessionId, details: { reason, message } }, manager);
      return changed > 0;
    });
    if (moved) {
      this.activity.forget(id);
      const row = await this.sandboxes.findOne(workspaceId, { id });
      if (row?.containerId) await this.discard(row.containerId);
    }
    return moved;
  }

  /** Takes over a live sandbox whose server is gone (compare-and-set on the old runner id). */
  async adopt(sandbox: SandboxEntity): Promise<boolean> {
    const changed = await this.sandboxes.update(sandbox.workspaceId, { id: sandbox.id, status: sandbox.status, runnerId: sandbox.runnerId ?? undefined }, { runnerId: this.node.id });
    return changed > 0;
  }
}
