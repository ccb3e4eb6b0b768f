import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DataVolumeMount, TmpfsMount } from 'src/runtime/container-runtime.port';
import { CONTAINER_RUNTIME, ContainerAttachment, ContainerRuntime, ContainerSpec } from 'src/runtime/container-runtime.port';
import { parsePortSpec, splitOptions } from 'src/services-runtime/container-options';
import type { ServiceDefinition } from 'src/services-runtime/service-spec';
import type { PlannedMount, VolumeMounter, VolumePlan } from 'src/services-runtime/volumes';
import { planVolumes } from 'src/services-runtime/volumes';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import { readEnv } from 'src/config/orcaops.config';
import { QuotasService } from 'src/quotas/quotas.service';
import { ImagePullError, RuntimeError } from 'src/runtime/runtime.errors';
import type { TenantContext } from 'src/tenancy/tenant-context';
import { ImagePuller } from 'src/registries/image-puller.service';
import { pinImage } from 'src/services-runtime/image-pins';
import { declaredTcpPorts, podPortConflicts, RunOptionsError, SERVICE_RESOURCES, ServiceContainerOptions, serviceContainerOptions } from 'src/services-runtime/service-options';

const MiB = 1024 * 1024;
/** Holds the shared network namespace of a runner-style job and its services (design §3.9.1). */
export const POD_IMAGE = 'orcaops/busybox';
const DEFAULT_READINESS_MS = 5 * 60_000;
/** The longest readiness wait a workflow file can ask for (`readiness-timeout`); the policy's max_timeout_seconds lowers it. */
export const MAX_READINESS_MS = 15 * 60_000;
/** How often an instance whose services are over a concurrency cap asks again. */
const ADMISSION_RETRY_MS = 1_000;
/** Service containers this server runs at once, across workspaces: four per job slot (the server's concurrency). */
const SERVICE_CONTAINERS_PER_JOB_SLOT = 4;
const LOG_TAIL_BYTES = 8 * 1024;

/** A service with any `${{ }}` evaluated, as the machinery runs it. */
export type EvaluatedService = ServiceDefinition;

/** Service counts held by a reservation (quotas workflow_service_containers and workflow_service_memory_mb). */
export interface ServiceCounts {
  containers: number;
  memoryMb: number;
}

/** What a service asks of the security policy (image, command, resources), checked before it starts. */
export interface ServiceAdmission {
  serviceId: string;
  image: string;
  command: string;
  cpus: number;
  memoryMb: number;
  pids: number;
}

export interface ServiceSetupRequest {
  /** Whose CPU quotas the services' CPU time counts against. */
  workspaceId: string;
  /** Names: orcaops-<run8>-<hash8>-… */
  namePrefix: string;
  jobId: string;
  /** Container mode (job declares container/image): per-instance network, alias = service id. Else pod mode. */
  containerMode: boolean;
  services: EvaluatedService[];
  /** `--add-host` of the job container: in pod mode they belong on the namespace's owner. */
  jobExtraHosts?: Record<string, string>;
  /** The job container's `container.volumes` (evaluated), its memory limit and its user (owns the volumes it mounts). */
  jobVolumes?: { entries: string[]; memoryBytes: number; user: string };
  labels: Record<string, string>;
  signal: AbortSignal;
  /** Notes for the instance's record (hints, ignored flags). */
  note: (text: string) => void;
  /** The policy admission of one service (throws policy_denied). */
  admit: (request: ServiceAdmission) => Promise<void>;
  /**
   * The row that holds the services' quota reservation (workflow_service_containers,
   * workflow_service_memory_mb, and the CPU-seconds quotas), taken before any container starts:
   * `write` stores the counts on it (in the admitting transaction; with 0s at teardown, no manager).
   */
  reservation?: { ctx: TenantContext; write: (counts: ServiceCounts, manager?: EntityManager) => Promise<void> };
  /** Each service as it is started and once it is ready (environments show the services' states). */
  onServiceState?: (serviceId: string, state: 'starting' | 'ready') => void;
  /** `orcaops.kind` of the service and pod containers (the reconcilers' and operators' view). */
  kinds?: { service: string; pod: string };
  /** Upper bound of any readiness wait (the policy's max_timeout_seconds), on top of MAX_READINESS_MS. */
  maxReadinessMs?: number;
  /** The run's image digests (reference as written → digest): a reference the run resolved before is pinned to it (reruns). */
  imagePins?: Record<string, string>;
}

/** A service with its options parsed and its image inspected, before anything is created. */
interface PreparedService {
  service: EvaluatedService;
  options: ServiceContainerOptions;
  /** What the container is created from: the pulled reference, pinned by digest when it came from a registry. */
  image: string;
  /** The image's VOLUME paths: tmpfs on the read-only root (disk-backed anonymous volumes otherwise). */
  imageVolumes: string[];
  /** The image's EXPOSE ports (`5432/tcp`): in pod mode they share one namespace with the others'. */
  exposedPorts: string[];
}

export interface ServiceSetup {
  workspaceId: string;
  /** How the job container joins (undefined: no services, keep the job's default network). */
  attach?: ContainerAttachment;
  network?: string;
  containers: string[];
  /** Engine names of the instance's volumes (removed after the containers). */
  volumes: string[];
  /** The job container's `container.volumes`, created before it starts (JobInternalSpec.volumes). */
  jobVolumes: DataVolumeMount[];
  /** `job.services.<id>` context. */
  context: Record<string, { id: string; network: string; ports: Record<string, string> }>;
  /** The quota reservation and server slots to release at teardown. */
  reserved?: { write?: (counts: ServiceCounts) => Promise<void>; containers: number };
  /** Registry digests the services' images resolved to (reference as written → digest), for the run's pins. */
  imageDigests: Record<string, string>;
}

export class ServiceNotReadyError extends Error {}

/**
 * Start order: each wave's services depend only on earlier waves' (all started and ready first).
 * Without `dependsOn` (workflows) it is one wave: everything in parallel. Definitions are checked for
 * unknown names and cycles before they get here; a leftover is started last rather than never.
 */
export function startWaves<T extends { service: { id: string; dependsOn?: string[] } }>(items: T[]): T[][] {
  const waves: T[][] = [];
  const done = new Set<string>();
  let pending = items;
  while (pending.length) {
    const ready = pending.filter((p) => (p.service.dependsOn ?? []).every((d) => done.has(d) || !items.some((i) => i.service.id === d)));
    const wave = ready.length ? ready : pending;
    waves.push(wave);
    for (const p of wave) done.add(p.service.id);
    pending = pending.filter((p) => !wave.includes(p));
  }
  return waves;
}

function mergeHosts(tables: Array<Record<string, string>>): Record<string, string> {
  return tables.reduce<Record<string, string>>((all, table) => ({ ...all, ...table }), {});
}

/** Engine object names: orcaops-…-vol-<name> or orcaops-…-anon-<owner>-<n>-<path>, within the engine's 200 characters. */
function volumeName(prefix: string, key: string): string {
  return `${prefix}-${key}`.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 200);
}

/**
 * Service containers, networks and volumes of one group (a workflow instance attempt, an environment):
 * start in dependency order, wait for readiness, tear down. The one implementation behind workflow
 * `services:` and environments.
 */
@Injectable()
export class ServiceContainers {
  private readonly logger = new Logger('ServiceContainers');
  /** Service containers admitted on this server and not yet torn down. */
  private localContainers = 0;
  private readonly localCap = readEnv().ORCAOPS_MAX_CONCURRENT_JOBS * SERVICE_CONTAINERS_PER_JOB_SLOT;

  constructor(
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly quotas: QuotasService,
    private readonly images: ImagePuller,
  ) {}

  /**
   * Starts every service (in parallel) and waits until all are ready. On failure everything started
   * is removed and ServiceNotReadyError carries a message with the service's logs.
   */
  async setUp(request: ServiceSetupRequest): Promise<ServiceSetup> {
    const services = request.services.filter((s) => s.image !== '');
    const setup: ServiceSetup = { workspaceId: request.workspaceId, containers: [], volumes: [], jobVolumes: [], context: {}, imageDigests: {} };
    if (!services.length && !request.jobVolumes?.entries.length) return setup;
    // Every service's options, the volumes, images and policy first: a mistake fails before anything starts.
    const parsed = services.map((service) => ({ service, options: serviceContainerOptions(service, service.options) }));
    const plan = this.planVolumes(request, parsed);
    const prepared: PreparedService[] = [];
    for (const { service, options } of parsed) prepared.push(await this.prepare(request, service, options, setup));
    if (!request.containerMode) {
      const conflict = podPortConflicts(prepared.map((p) => ({ id: p.service.id, exposedPorts: p.exposedPorts, declaredPorts: p.service.ports })));
      // The workflow's mistake (no infra retry would fix it), found before anything is created.
      if (conflict) throw new RunOptionsError(conflict);
    }
    // Counted before anything is created: the workspace's quotas, then this server's slots.
    if (services.length) await this.reserve(request, prepared, setup);
    try {
      // Before any container that mounts them (the engine would otherwise make unsized, disk-backed ones).
      const mounts = await this.createVolumes(request, plan, setup);
      setup.jobVolumes = mounts(plan.job);
      if (!services.length) return setup;
      let target: ContainerAttachment;
      if (request.containerMode) {
        setup.network = `${request.namePrefix}-net`;
        await this.runtime.createNetwork(setup.network, { ...request.labels, 'orcaops.role': 'network' });
        setup.attach = { network: setup.network, aliases: [request.jobId] };
        target = setup.attach;
      } else {
        const pod = await this.runtime.createContainer({
          ...this.baseSpec(`${request.namePrefix}-pod`, POD_IMAGE, { ...request.labels, 'orcaops.kind': request.kinds?.pod ?? 'workflow_pod', 'orcaops.role': 'pod' }),
          command: ['sleep', '2147483647'],
          // Containers sharing the namespace cannot have their own hosts file: every --add-host goes here.
          extraHosts: { ...request.jobExtraHosts, ...mergeHosts(prepared.map((p) => p.options.addHosts)), ...Object.fromEntries(services.map((s) => [s.id, '127.0.0.1'])) },
        });
        setup.containers.push(pod);
        await this.runtime.startContainer(pod);
        setup.attach = { container: pod };
        target = setup.attach;
      }
      for (const wave of startWaves(prepared)) {
        const started = await Promise.all(wave.map((p) => this.startService(request, p, target, setup, mounts(plan.services[p.service.id] ?? []))));
        started.forEach((s) => request.onServiceState?.(s.service.id, 'starting'));
        await Promise.all(started.map((s) => this.waitReady(request, s.service, s.id).then(() => request.onServiceState?.(s.service.id, 'ready'))));
        if (wave.length < prepared.length) request.note(`services ready: ${wave.map((p) => p.service.id).join(', ')}`);
      }
      return setup;
    } catch (error) {
      await this.tearDown(setup);
      throw error;
    }
  }

  /**
   * Removes the instance's containers, volumes and network. The service containers' CPU time is read
   * first (from their cgroups, gone with them) and counted against the workspace's CPU-seconds quotas
   * like a job's; returns it.
   */
  async tearDown(setup: ServiceSetup): Promise<number> {
    const cpuSeconds = await this.recordCpu(setup);
    for (const id of [...setup.containers].reverse()) await this.runtime.remove(id).catch((err) => this.logger.warn({ msg: 'service removal failed', id, err: String(err) }));
    for (const name of setup.volumes) await this.runtime.removeVolume(name).catch((err) => this.logger.warn({ msg: 'service volume removal failed; label cleanup will retry', name, err: String(err) }));
    if (setup.network) await this.removeNetworkWhenFree(setup.network);
    await this.release(setup);
    return cpuSeconds;
  }

  /**
   * Admits the instance's service containers like jobs, before any is created: the CPU-seconds quotas,
   * the workspace's service caps (reserved on the instance row in the admitting transaction) and this
   * server's slots. Over a cap because of other instances, it waits (queued, nothing started); an
   * instance that alone asks for more than a cap fails with quota_exceeded naming it.
   */
  private async reserve(request: ServiceSetupRequest, prepared: PreparedService[], setup: ServiceSetup): Promise<void> {
    const containers = prepared.length;
    const memoryMb = prepared.reduce((sum, p) => sum + Math.ceil(p.options.resources.memoryBytes / MiB), 0);
    if (containers > this.localCap) {
      throw new RunOptionsError(`the job has ${containers} services; this server runs at most ${this.localCap} service containers at once (ORCAOPS_MAX_CONCURRENT_JOBS × ${SERVICE_CONTAINERS_PER_JOB_SLOT})`);
    }
    const reservation = request.reservation;
    let noted = false;
    const wait = async (why: string): Promise<void> => {
      if (!noted) request.note(`services waiting for admission: ${why}`);
      noted = true;
      await sleep(ADMISSION_RETRY_MS, undefined, { signal: request.signal }).catch(() => undefined);
    };
    while (!request.signal.aborted) {
      if (this.localContainers > 0 && this.localContainers + containers > this.localCap) {
        await wait(`this server runs at most ${this.localCap} service containers at once`);
        continue;
      }
      // Taken before the await so two instances of this server cannot both pass the check above.
      this.localContainers += containers;
      try {
        if (reservation) await this.admitQuotas(request.workspaceId, reservation, containers, memoryMb);
        setup.reserved = { ...(reservation ? { write: reservation.write } : {}), containers };
        return;
      } catch (error) {
        this.localContainers -= containers;
        const details = (error instanceof OrcaOpsError && error.code === 'quota_exceeded' ? error.details : undefined) as { quota?: string; limit?: number; requested?: number } | undefined;
        const concurrency = details?.quota === 'workflow_service_containers' || details?.quota === 'workflow_service_memory_mb';
        if (!concurrency || (details?.requested ?? 0) > (details?.limit ?? 0)) throw error;
        await wait((error as Error).message);
      }
    }
    throw new ServiceNotReadyError('cancelled while waiting for the services to be admitted');
  }

  private admitQuotas(workspaceId: string, reservation: NonNullable<ServiceSetupRequest['reservation']>, containers: number, memoryMb: number): Promise<void> {
    return this.quotas.admitWorkflowServices(reservation.ctx, workspaceId, { containers, memoryMb }, (manager) => reservation.write({ containers, memoryMb }, manager));
  }

  /** Gives back the server's slots and the instance's quota reservation (a failed write is logged; recovery stops counting it). */
  private async release(setup: ServiceSetup): Promise<void> {
    const reserved = setup.reserved;
    if (!reserved) return;
    setup.reserved = undefined;
    this.localContainers -= reserved.containers;
    if (!reserved.write) return;
    await reserved.write({ containers: 0, memoryMb: 0 }).catch((err: unknown) => this.logger.warn({ msg: 'could not release the services\' quota reservation', workspaceId: setup.workspaceId, err: String(err) }));
  }

  /** A container that already stopped has no cgroup left to read and counts 0, as an interrupted job does. */
  private async recordCpu(setup: ServiceSetup): Promise<number> {
    const used = await Promise.all(setup.containers.map((id) => this.runtime.stats(id).then((s) => s.cpuSeconds, () => 0)));
    const cpuSeconds = used.reduce((sum, seconds) => sum + seconds, 0);
    await this.quotas
      .recordJobCpu(this.dataSource.manager, setup.workspaceId, cpuSeconds)
      .catch((err: unknown) => this.logger.warn({ msg: 'could not count the services\' CPU time', workspaceId: setup.workspaceId, cpuSeconds, err: String(err) }));
    return cpuSeconds;
  }

  /** Everything labelled with the run (or one instance): containers first, then volumes and networks. */
  async removeLabelled(labels: Record<string, string>): Promise<void> {
    for (const c of await this.runtime.listContainers(labels)) await this.runtime.remove(c.id).catch(() => undefined);
    for (const v of await this.runtime.listVolumes(labels)) await this.runtime.removeVolume(v.name).catch(() => undefined);
    for (const n of await this.runtime.listNetworks(labels)) await this.removeNetworkWhenFree(n.name);
  }

  /** The values of label `key` on the containers, volumes and networks carrying `labels` (which groups still hold engine objects). */
  async labelValues(labels: Record<string, string>, key: string): Promise<Set<string>> {
    const objects = [...(await this.runtime.listContainers(labels)), ...(await this.runtime.listVolumes(labels)), ...(await this.runtime.listNetworks(labels))];
    return new Set(objects.map((o) => o.labels[key]).filter((v): v is string => !!v));
  }

  /** The instance's volumes: shared by name between the job container and its services (engine/volumes.ts). */
  private planVolumes(request: ServiceSetupRequest, services: Array<Pick<PreparedService, 'service' | 'options'>>): VolumePlan {
    const job = request.jobVolumes;
    const mounters: VolumeMounter[] = [
      ...(job?.entries.length ? [{ kind: 'job' as const, id: request.jobId, entries: job.entries, memoryBytes: job.memoryBytes }] : []),
      ...services.map((p) => ({ kind: 'service' as const, id: p.service.id, entries: p.service.volumes, memoryBytes: p.options.resources.memoryBytes })),
    ];
    const { plan, errors } = planVolumes(mounters);
    if (errors.length) throw new RunOptionsError(errors.join('; '));
    return plan;
  }

  /** Creates every planned volume (labelled for cleanup, recorded in setup.volumes); returns the mount mapper. */
  private async createVolumes(request: ServiceSetupRequest, plan: VolumePlan, setup: ServiceSetup): Promise<(mounts: PlannedMount[]) => DataVolumeMount[]> {
    for (const volume of plan.volumes) {
      const name = volumeName(request.namePrefix, volume.key);
      const labels = { ...request.labels, 'orcaops.role': 'volume', ...(volume.name ? { 'orcaops.volume': volume.name } : {}) };
      // In memory and size-capped like every OrcaOps volume; the job's user owns the ones it mounts.
      await this.runtime.createDataVolume(name, volume.sizeBytes, labels, volume.mountedByJob ? request.jobVolumes?.user : undefined);
      setup.volumes.push(name);
    }
    return (mounts) => mounts.map((m) => ({ name: volumeName(request.namePrefix, m.volume), target: m.target, readOnly: m.readOnly }));
  }

  /** A network still has the job container for a moment after the job ended: retry briefly. */
  private async removeNetworkWhenFree(name: string): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        await this.runtime.removeNetwork(name);
        return;
      } catch {
        await sleep(200 * (attempt + 1));
      }
    }
    this.logger.warn({ msg: 'network removal failed; label cleanup will retry', network: name });
  }

  private baseSpec(name: string, image: string, labels: Record<string, string>): ContainerSpec {
    return {
      name,
      image,
      command: [],
      env: {},
      labels,
      resources: SERVICE_RESOURCES,
      network: 'none',
    };
  }

  /**
   * Checks the service's ports and that the policy admits it (before any engine call), then makes its
   * image usable by the workspace the way a job's is (ImagePuller: policy, the workspace's own registry
   * credentials and pull grant, one shared pull), the last progress line and the digest as notes.
   */
  private async prepare(request: ServiceSetupRequest, service: EvaluatedService, options: ServiceContainerOptions, setup: ServiceSetup): Promise<PreparedService> {
    const problems: string[] = [];
    for (const entry of service.ports) {
      const port = parsePortSpec(entry);
      if ('error' in port) problems.push(port.error);
    }
    if (problems.length) throw new RunOptionsError(`service ${service.id}: ${problems.join('; ')}`);
    await request.admit({
      serviceId: service.id,
      image: service.image,
      command: [...this.entrypointOf(service, options), ...this.commandOf(service)].join(' '),
      cpus: options.resources.cpus,
      memoryMb: Math.ceil(options.resources.memoryBytes / MiB),
      pids: options.resources.pidsLimit,
    });
    const resolved = await this.pull(request, service);
    if (resolved.digest) setup.imageDigests[service.image] = resolved.digest;
    const image = await this.runtime.inspectImage(resolved.reference);
    if (!image) throw new ServiceNotReadyError(`Service '${service.id}': image ${service.image} is not present on this engine (image_not_found)`);
    if (service.hasCredentials) request.note(`service ${service.id}: credentials in the workflow file are not used: pulls use the workspace's registry credentials (orcaops registry login)`);
    for (const note of options.notes) request.note(note);
    const hostPorts = service.ports.map(parsePortSpec).filter((p) => !('error' in p) && p.hostPort !== undefined);
    if (hostPorts.length) {
      request.note(`service ${service.id}: host ports are not published; the service stays on the instance's private network (reach it as ${service.id}:<port> or localhost:<port>)`);
    }
    return { service, options, image: resolved.reference, imageVolumes: image.volumes ?? [], exposedPorts: image.exposedPorts ?? [] };
  }

  private async pull(request: ServiceSetupRequest, service: EvaluatedService): Promise<{ reference: string; digest: string | null }> {
    let last: string | undefined;
    try {
      const resolved = await this.images.ensure(request.workspaceId, pinImage(service.image, request.imagePins), { signal: request.signal, onLine: (line) => (last = line) });
      if (last) request.note(`service ${service.id}: ${last}`);
      if (resolved.digest) request.note(`service ${service.id}: image ${service.image} is ${resolved.digest}`);
      return resolved;
    } catch (error) {
      if (error instanceof ImagePullError) {
        throw new ServiceNotReadyError(`Service '${service.id}': image ${service.image} could not be used: image_pull_failed (${error.reason}): ${error.message}`);
      }
      if (error instanceof RuntimeError && error.code === 'image_not_found') {
        throw new ServiceNotReadyError(`Service '${service.id}': image ${service.image} is not present on this engine (image_not_found): ${error.message}`);
      }
      throw error;
    }
  }

  private commandOf(service: EvaluatedService): string[] {
    return service.command === undefined ? [] : Array.isArray(service.command) ? service.command : ['/bin/sh', '-c', service.command];
  }

  /** Native `entrypoint:` (a string is split into words, as GitLab does), else `--entrypoint`. */
  private entrypointOf(service: EvaluatedService, options: ServiceContainerOptions): string[] {
    if (service.entrypoint !== undefined) return Array.isArray(service.entrypoint) ? service.entrypoint : splitOptions(service.entrypoint);
    return options.entrypoint !== undefined ? [options.entrypoint] : [];
  }

  private async startService(
    request: ServiceSetupRequest,
    prepared: PreparedService,
    target: ContainerAttachment,
    setup: ServiceSetup,
    volumes: DataVolumeMount[],
  ): Promise<{ service: EvaluatedService; id: string }> {
    const { service, options } = prepared;
    const labels = { ...request.labels, 'orcaops.service': service.id };
    const covered = new Set([...volumes.map((v) => v.target), ...options.tmpfs.map((t) => t.path)]);
    const imageVolumes: TmpfsMount[] = prepared.imageVolumes
      .map((path) => path.replace(/(.)\/$/, '$1'))
      .filter((path) => !covered.has(path) && path !== '/tmp')
      .map((path) => ({ path, sizeBytes: options.resources.memoryBytes }));
    const entrypoint = this.entrypointOf(service, options);
    const attach: ContainerAttachment = 'network' in target ? { network: target.network, aliases: [service.id] } : target;
    const id = await this.runtime.createContainer({
      ...this.baseSpec(`${request.namePrefix}-svc-${service.id}`.slice(0, 200), prepared.image, { ...labels, 'orcaops.kind': request.kinds?.service ?? 'workflow_service', 'orcaops.role': 'service' }),
      // docs/security.md "Workflow services": the image's user (root only to set up and drop privileges).
      profile: 'service',
      command: this.commandOf(service),
      ...(entrypoint.length ? { entrypoint } : {}),
      env: service.env,
      resources: options.resources,
      attach,
      ...(options.user !== undefined ? { user: options.user } : {}),
      tmpfs: [...options.tmpfs, ...imageVolumes],
      volumes,
      ...(options.shmBytes !== undefined ? { shmBytes: options.shmBytes } : {}),
      ...('network' in target && Object.keys(options.addHosts).length ? { extraHosts: options.addHosts } : {}),
      ...(options.healthcheck ? { healthcheck: options.healthcheck } : {}),
    });
    setup.containers.push(id);
    await this.runtime.startContainer(id);
    // Design §3.9.1: the container port in both modes (nothing is published to the host).
    const ports = Object.fromEntries(service.ports.map(parsePortSpec).flatMap((p) => ('error' in p ? [] : [[String(p.containerPort), String(p.containerPort)]])));
    setup.context[service.id] = { id, network: 'network' in target ? target.network : `container:${target.container}`, ports };
    return { service, id };
  }

  /**
   * Design §3.9.2: a health check decides (bounded by readiness-timeout, default 5 min); without one,
   * declared ports are probed from inside the service's namespace; with neither it is ready at once.
   */
  private async waitReady(request: ServiceSetupRequest, service: EvaluatedService, id: string): Promise<void> {
    // Clamped: a workflow file cannot hold an instance (and its containers) longer than the server and policy allow.
    const limit = Math.min(service.readinessTimeoutMs ?? DEFAULT_READINESS_MS, MAX_READINESS_MS, request.maxReadinessMs ?? Infinity);
    const deadline = Date.now() + limit;
    const hasHealth = !!serviceContainerOptions(service, service.options).healthcheck;
    const ports = service.healthcheck === 'none' ? [] : declaredTcpPorts(service.ports);
    if (!hasHealth && !ports.length) {
      request.note(`service ${service.id}: no health check and no ports to probe; treated as ready at once`);
      return;
    }
    let delay = 250;
    let last = 'starting';
    while (!request.signal.aborted) {
      const state = await this.runtime.inspect(id);
      if (!state || state.status === 'exited' || state.status === 'dead') {
        throw new ServiceNotReadyError(await this.failure(service, id, `exited${state?.exitCode !== null && state?.exitCode !== undefined ? ` with code ${state.exitCode}` : ''} before it became ready`));
      }
      if (hasHealth) {
        last = `health ${state.health ?? 'none'}`;
        if (state.health === 'healthy') return;
        if (state.health === 'unhealthy') throw new ServiceNotReadyError(await this.failure(service, id, 'reported unhealthy'));
      } else {
        const closed = await this.closedPorts(id, ports);
        if (closed === undefined) {
          request.note(`service ${service.id}: its image has no nc to probe ports; treated as ready`);
          return;
        }
        if (!closed.length) return;
        last = `port${closed.length > 1 ? 's' : ''} ${closed.join(', ')} not accepting connections`;
      }
      if (Date.now() >= deadline) throw new ServiceNotReadyError(await this.failure(service, id, `did not become ready within ${Math.round(limit / 1000)}s (${last})`));
      await sleep(Math.min(delay, Math.max(1, deadline - Date.now())), undefined, { signal: request.signal }).catch(() => undefined);
      delay = Math.min(delay * 2, 2000);
    }
    throw new ServiceNotReadyError(`service ${service.id}: cancelled while waiting for readiness`);
  }

  /** Ports not yet accepting connections; undefined when the image cannot probe (no nc). */
  private async closedPorts(id: string, ports: number[]): Promise<number[] | undefined> {
    const closed: number[] = [];
    for (const port of ports) {
      // busybox nc has no -z: connect with stdin closed; a refused connection exits 1.
      const probe = await this.runtime
        .exec(id, { command: ['/bin/sh', '-c', `command -v nc >/dev/null || exit 127; nc -w 1 127.0.0.1 ${port} </dev/null >/dev/null 2>&1`], timeoutMs: 5_000 })
        .catch(() => undefined);
      // An exec that fails (the service just exited) counts as closed: the next inspect reports the exit.
      if (!probe) {
        closed.push(port);
        continue;
      }
      if (probe.exitCode === 126 || probe.exitCode === 127) {
        // 126/127 also come back when the exec raced the container's exit: only a running container
        // without nc means "cannot probe"; otherwise the next inspect reports the exit.
        const state = await this.runtime.inspect(id).catch(() => undefined);
        if (state?.status === 'running') return undefined;
        closed.push(port);
        continue;
      }
      if (probe.exitCode !== 0) closed.push(port);
    }
    return closed;
  }

  private async failure(service: EvaluatedService, id: string, what: string): Promise<string> {
    const logs = await this.runtime.logs(id, LOG_TAIL_BYTES).catch(() => '');
    return `Service '${service.id}' (${service.image}) ${what}.${logs.trim() ? `\nLast service logs:\n${logs.trimEnd()}` : ' It wrote no logs.'}`;
  }
}
