import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { InstallationService } from 'src/database/installation.service';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { EnvironmentEntity } from 'src/environments/entities/environment.entity';
import { SANDBOX_ALIAS } from 'src/environments/environment-definition';
import type { EnvironmentServiceState, EnvironmentStatus } from 'src/environments/environment-model';
import { environmentLabels, MAX_ENVIRONMENT_EVENTS } from 'src/environments/environment-model';
import { PoliciesService } from 'src/policies/policies.service';
import { SandboxesService } from 'src/sandboxes/sandboxes.service';
import type { ServiceAdmission, ServiceCounts, ServiceSetup } from 'src/services-runtime/service-containers';
import { ServiceContainers } from 'src/services-runtime/service-containers';
import type { TenantContext } from 'src/tenancy/tenant-context';

/** The sandbox image when a definition names none. */
export const DEFAULT_ENVIRONMENT_SANDBOX_IMAGE = 'orcaops/busybox';

interface InFlight {
  abort: AbortController;
  done: Promise<void>;
}

/**
 * An environment's side of the engine, through the one service machinery workflows use
 * (ServiceContainers: policy and image pulls per service, quotas, the internal network, volumes,
 * dependency order, readiness, CPU accounting at teardown): services first, then the sandbox on their
 * network. Transitions are compare-and-set on `status`, so a delete, the reaper and a start that
 * finishes late never act twice.
 */
@Injectable()
export class EnvironmentLifecycle implements OnApplicationShutdown {
  private readonly logger = new Logger('EnvironmentLifecycle');
  private readonly inflight = new Map<string, InFlight>();
  /** Setups started by this server (they hold its service slots); after a restart the row's engine objects stand in. */
  private readonly setups = new Map<string, ServiceSetup>();

  constructor(
    @InjectScopedRepository(EnvironmentEntity) private readonly environments: TenantScopedRepository<EnvironmentEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly services: ServiceContainers,
    private readonly sandboxes: SandboxesService,
    private readonly policies: PoliciesService,
    private readonly installation: InstallationService,
    private readonly audit: AuditService,
  ) {}

  /** Starts the environment in the background; its row shows the progress. */
  begin(ctx: TenantContext, environment: EnvironmentEntity): void {
    const abort = new AbortController();
    const done = this.start(ctx, environment, abort.signal)
      // A start cut short by a shutdown cannot record it (the database is closing): the next boot's reaper finishes it.
      .catch((err: unknown) => this.logger.warn({ msg: 'environment start ended without recording it', id: environment.id, err: String(err) }))
      .finally(() => this.inflight.delete(environment.id));
    this.inflight.set(environment.id, { abort, done });
  }

  /** Resolves once the start in flight (if any) has settled. */
  async settled(id: string, abort = false): Promise<void> {
    const run = this.inflight.get(id);
    if (!run) return;
    if (abort) run.abort.abort();
    await run.done;
  }

  onApplicationShutdown(): void {
    // Starts in flight are abandoned: the reaper of the next boot finds them starting and removes them.
    for (const run of this.inflight.values()) run.abort.abort();
  }

  private async start(ctx: TenantContext, environment: EnvironmentEntity, signal: AbortSignal): Promise<void> {
    const { workspaceId, id, definition } = environment;
    const states = new Map<string, EnvironmentServiceState>(environment.services.map((s) => [s.name, { ...s }]));
    try {
      const install = await this.installation.installationId();
      const setup = await this.services.setUp({
        workspaceId,
        namePrefix: `orcaops-env-${id.slice(0, 8)}`,
        // The sandbox's DNS name on the network (the machinery's "job container").
        jobId: SANDBOX_ALIAS,
        containerMode: true,
        services: definition.services,
        labels: environmentLabels(install, environment),
        kinds: { service: 'environment_service', pod: 'environment_pod' },
        signal,
        note: (line) => void this.event(workspaceId, id, line),
        onServiceState: (name, state) => {
          const current = states.get(name);
          if (current) current.status = state;
          void this.patch(workspaceId, id, { services: [...states.values()] });
        },
        admit: (request) => this.admitService(ctx, workspaceId, request),
        reservation: { ctx, write: (counts, manager) => this.reserve(workspaceId, id, counts, manager) },
      });
      this.setups.set(id, setup);
      await this.patch(workspaceId, id, { engineObjects: { network: setup.network, containers: setup.containers, volumes: setup.volumes } });
      if (signal.aborted) return;
      await this.event(workspaceId, id, `services ready; starting the sandbox`);
      const sandbox = await this.sandboxes.create(
        ctx,
        {
          ...(definition.sandbox.profile ? { profile: definition.sandbox.profile } : { image: definition.sandbox.image ?? DEFAULT_ENVIRONMENT_SANDBOX_IMAGE }),
          env: definition.sandbox.env,
          name: environment.name ?? `environment-${id.slice(0, 8)}`,
          labels: { environment: id },
          ttl_seconds: environment.ttlSeconds,
          idle_timeout_seconds: environment.idleTimeoutSeconds,
        },
        setup.attach && 'network' in setup.attach ? { attach: setup.attach } : {},
      );
      await this.patch(workspaceId, id, { sandboxId: sandbox.id });
      const ready = await this.environments.update(workspaceId, { id, status: 'starting' }, { status: 'ready', message: null, services: [...states.values()] });
      if (ready) await this.event(workspaceId, id, 'ready');
    } catch (error) {
      const message = signal.aborted ? 'deleted while starting' : (error as Error).message;
      for (const state of states.values()) if (state.status !== 'ready') state.status = 'failed';
      const failed = await this.environments.update(workspaceId, { id, status: 'starting' }, { status: 'failed', message: message.slice(0, 8000), services: [...states.values()] });
      if (failed) {
        await this.event(workspaceId, id, `failed: ${message.split('\n')[0]}`);
        await this.finish(workspaceId, id, ctx, 'failed');
      }
    }
  }

  /** A service goes through the same policy as a workflow service (image, command, resources). */
  private async admitService(ctx: TenantContext, workspaceId: string, request: ServiceAdmission): Promise<void> {
    await this.policies.admit(ctx, workspaceId, {
      kind: 'workflow_service',
      image: request.image,
      commands: request.command ? [{ field: `services.${request.serviceId}.command`, command: request.command }] : [],
      network: 'none',
      resources: { cpu: request.cpus, memory_mb: request.memoryMb, pids: request.pids, disk_mb: 0 },
    });
  }

  /** The row holds the services' reservation (quota-usage.ts counts live environments' rows). */
  private async reserve(workspaceId: string, id: string, counts: ServiceCounts, manager?: EntityManager): Promise<void> {
    const repo = manager ? this.environments.withManager(manager) : this.environments;
    await repo.update(workspaceId, { id }, { serviceContainers: counts.containers, serviceMemoryMb: counts.memoryMb });
  }

  /**
   * starting|ready → stopping (audited in the same transaction). False when another actor got there
   * first or it already ended.
   */
  async beginStop(workspaceId: string, id: string, actor: TenantContext | 'system', reason: string): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      const changed = await this.environments.withManager(manager).update(workspaceId, { id, status: In(['starting', 'ready']) }, { status: 'stopping', message: reason });
      if (!changed) return false;
      const record = { action: actor === 'system' ? 'environment.end' : 'environment.delete', resourceType: 'environment', resourceId: id, details: { reason } };
      if (actor === 'system') await this.audit.recordSystem(workspaceId, record, manager);
      else await this.audit.record(actor, record, manager);
      return true;
    });
  }

  /**
   * Removes everything the environment made: its sandbox, then its services (their CPU time counted),
   * network and volumes, then whatever else carries its label; releases the reservation and records
   * the final status. Safe to repeat (the reaper finishes one a crash interrupted).
   */
  async finish(workspaceId: string, id: string, actor: TenantContext | 'system', final: Extract<EnvironmentStatus, 'stopped' | 'failed'>): Promise<void> {
    const row = await this.environments.findOne(workspaceId, { id });
    if (!row) return;
    if (row.sandboxId) {
      const stopping = actor === 'system' ? this.sandboxes.stopAsSystem(workspaceId, row.sandboxId, `its environment ${id} ended`) : this.sandboxes.delete(actor, row.sandboxId);
      await stopping.catch((err: unknown) => this.logger.warn({ msg: 'environment sandbox stop failed; the sandbox reaper will finish it', id, err: String(err) }));
    }
    const setup = this.setups.get(id) ?? {
      workspaceId,
      containers: row.engineObjects.containers,
      volumes: row.engineObjects.volumes,
      network: row.engineObjects.network,
      jobVolumes: [],
      context: {},
      imageDigests: {},
    };
    this.setups.delete(id);
    await this.services.tearDown(setup);
    const install = await this.installation.installationId();
    await this.services.removeLabelled({ 'orcaops.install': install, 'orcaops.environment_id': id }).catch(() => undefined);
    const services = row.services.map((s) => ({ ...s, status: s.status === 'failed' ? s.status : ('stopped' as const) }));
    await this.environments.update(
      workspaceId,
      { id, status: In(['stopping', 'failed']) },
      { status: final, services, serviceContainers: 0, serviceMemoryMb: 0, stoppedAt: new Date() },
    );
  }

  /**
   * Removes engine objects of this installation labelled with an environment that is not live (its
   * row ended, or is gone): what a crash between the engine and the database left behind.
   */
  async removeOrphans(live: (ids: string[]) => Promise<Set<string>>): Promise<number> {
    const install = await this.installation.installationId();
    const labelled = [...(await this.services.labelValues({ 'orcaops.install': install }, 'orcaops.environment_id'))];
    if (!labelled.length) return 0;
    const keep = await live(labelled);
    const orphans = labelled.filter((id) => !keep.has(id));
    for (const id of orphans) await this.services.removeLabelled({ 'orcaops.install': install, 'orcaops.environment_id': id });
    return orphans.length;
  }

  private async patch(workspaceId: string, id: string, patch: Partial<EnvironmentEntity>): Promise<void> {
    await this.environments.update(workspaceId, { id }, patch).catch((err: unknown) => this.logger.warn({ msg: 'environment update failed', id, err: String(err) }));
  }

  /** Appends a progress line (bounded; a failed write only loses the line). */
  private async event(workspaceId: string, id: string, line: string): Promise<void> {
    await this.environments
      .updateExpression(
        workspaceId,
        { id },
        { events: () => `(CASE WHEN jsonb_array_length(events) >= ${MAX_ENVIRONMENT_EVENTS} THEN events - 0 ELSE events END) || jsonb_build_array(:line::text)` },
        { line: line.slice(0, 500) },
      )
      .catch(() => undefined);
  }
}
