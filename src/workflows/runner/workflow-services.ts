import { Inject, Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { CONTAINER_RUNTIME, ContainerAttachment, ContainerRuntime, ContainerSpec } from 'src/runtime/container-runtime.port';
import { declaredTcpPorts, serviceRunOptions } from 'src/workflows/runner/service-options';

const MiB = 1024 * 1024;
/** Holds the shared network namespace of a runner-style job and its services (design §3.9.1). */
export const POD_IMAGE = 'orcaops/busybox';
const DEFAULT_READINESS_MS = 5 * 60_000;
const LOG_TAIL_BYTES = 8 * 1024;

export interface EvaluatedService {
  id: string;
  image: string;
  env: Record<string, string>;
  ports: string[];
  options?: string;
  healthcheck?: import('src/workflows/engine/model').ServiceSpec['healthcheck'];
  command?: string | string[];
  readinessTimeoutMs?: number;
}

export interface ServiceSetupRequest {
  /** Names: orcaops-<run8>-<hash8>-… */
  namePrefix: string;
  jobId: string;
  /** Container mode (job declares container/image): per-instance network, alias = service id. Else pod mode. */
  containerMode: boolean;
  services: EvaluatedService[];
  labels: Record<string, string>;
  signal: AbortSignal;
  /** Notes for the instance's record (hints, ignored flags). */
  note: (text: string) => void;
}

export interface ServiceSetup {
  /** How the job container joins (undefined: no services, keep the job's default network). */
  attach?: ContainerAttachment;
  network?: string;
  containers: string[];
  /** `job.services.<id>` context. */
  context: Record<string, { id: string; network: string; ports: Record<string, string> }>;
}

export class ServiceNotReadyError extends Error {}

/** Service containers and networks of one instance attempt: start, wait for readiness, tear down. */
@Injectable()
export class WorkflowServices {
  private readonly logger = new Logger('WorkflowServices');

  constructor(@Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime) {}

  /**
   * Starts every service (in parallel) and waits until all are ready. On failure everything started
   * is removed and ServiceNotReadyError carries a message with the service's logs.
   */
  async setUp(request: ServiceSetupRequest): Promise<ServiceSetup> {
    const services = request.services.filter((s) => s.image !== '');
    const setup: ServiceSetup = { containers: [], context: {} };
    if (!services.length) return setup;
    try {
      let target: ContainerAttachment;
      if (request.containerMode) {
        setup.network = `${request.namePrefix}-net`;
        await this.runtime.createNetwork(setup.network, { ...request.labels, 'orcaops.role': 'network' });
        setup.attach = { network: setup.network, aliases: [request.jobId] };
        target = setup.attach;
      } else {
        const pod = await this.runtime.createContainer({
          ...this.baseSpec(`${request.namePrefix}-pod`, POD_IMAGE, { ...request.labels, 'orcaops.kind': 'workflow_pod', 'orcaops.role': 'pod' }),
          command: ['sleep', '2147483647'],
          extraHosts: Object.fromEntries(services.map((s) => [s.id, '127.0.0.1'])),
        });
        setup.containers.push(pod);
        await this.runtime.startContainer(pod);
        setup.attach = { container: pod };
        target = setup.attach;
      }
      const started = await Promise.all(services.map((s) => this.startService(request, s, target, setup)));
      await Promise.all(started.map((s) => this.waitReady(request, s.service, s.id)));
      return setup;
    } catch (error) {
      await this.tearDown(setup);
      throw error;
    }
  }

  async tearDown(setup: ServiceSetup): Promise<void> {
    for (const id of [...setup.containers].reverse()) await this.runtime.remove(id).catch((err) => this.logger.warn({ msg: 'service removal failed', id, err: String(err) }));
    if (setup.network) await this.removeNetworkWhenFree(setup.network);
  }

  /** Everything labelled with the run (or one instance): containers first, then networks. */
  async removeLabelled(labels: Record<string, string>): Promise<void> {
    for (const c of await this.runtime.listContainers(labels)) await this.runtime.remove(c.id).catch(() => undefined);
    for (const n of await this.runtime.listNetworks(labels)) await this.removeNetworkWhenFree(n.name);
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
      resources: { cpus: 1, memoryBytes: 256 * MiB, pidsLimit: 128, tmpBytes: 64 * MiB, workspaceBytes: 64 * MiB, nofile: 1024 },
      network: 'none',
    };
  }

  private async startService(request: ServiceSetupRequest, service: EvaluatedService, target: ContainerAttachment, setup: ServiceSetup): Promise<{ service: EvaluatedService; id: string }> {
    const options = serviceRunOptions(service, service.options);
    if (options.ignored.length) request.note(`service ${service.id}: options not applied by OrcaOps: ${options.ignored.join(' ')}`);
    const command = service.command === undefined ? [] : Array.isArray(service.command) ? service.command : ['/bin/sh', '-c', service.command];
    const attach: ContainerAttachment = 'network' in target ? { network: target.network, aliases: [service.id] } : target;
    const id = await this.runtime.createContainer({
      ...this.baseSpec(`${request.namePrefix}-svc-${service.id}`.slice(0, 200), service.image, {
        ...request.labels,
        'orcaops.kind': 'workflow_service',
        'orcaops.role': 'service',
        'orcaops.service': service.id,
      }),
      command,
      env: service.env,
      attach,
      ...(options.healthcheck ? { healthcheck: options.healthcheck } : {}),
    });
    setup.containers.push(id);
    await this.runtime.startContainer(id);
    const ports = Object.fromEntries(declaredTcpPorts(service.ports).map((p) => [String(p), String(p)]));
    setup.context[service.id] = { id, network: 'network' in target ? target.network : `container:${target.container}`, ports };
    return { service, id };
  }

  /**
   * Design §3.9.2: a health check decides (bounded by readiness-timeout, default 5 min); without one,
   * declared ports are probed from inside the service's namespace; with neither it is ready at once.
   */
  private async waitReady(request: ServiceSetupRequest, service: EvaluatedService, id: string): Promise<void> {
    const limit = service.readinessTimeoutMs ?? DEFAULT_READINESS_MS;
    const deadline = Date.now() + limit;
    const hasHealth = !!serviceRunOptions(service, service.options).healthcheck;
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
