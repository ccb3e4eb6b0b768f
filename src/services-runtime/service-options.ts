import type { JobInternalSpec } from 'src/jobs/job-model';
import { RESOURCE_BOUNDS } from 'src/domain/container-spec';
import type { ContainerHealthcheck, ContainerResources, TmpfsMount } from 'src/runtime/container-runtime.port';
import type { RunOptions } from 'src/services-runtime/container-options';
import { parsePortSpec, parseRunOptions, splitOptions } from 'src/services-runtime/container-options';
import type { HealthcheckSpec, ServiceDefinition as ServiceSpec } from 'src/services-runtime/service-spec';

export { splitOptions };

const MiB = 1024 * 1024;
/** A service's limits unless its options ask otherwise (bounded by RESOURCE_BOUNDS and the policy). */
export const SERVICE_RESOURCES: ContainerResources = { cpus: 1, memoryBytes: 256 * MiB, pidsLimit: 128, tmpBytes: 64 * MiB, workspaceBytes: 64 * MiB, nofile: 1024 };
/** `--ulimit nofile` ceiling: well above what databases ask for, far below the kernel's. */
export const MAX_NOFILE = 65_536;
const DEFAULT_TMPFS_BYTES = 64 * MiB;

/** Options that cannot be applied as written: the message names every flag at fault. */
export class RunOptionsError extends Error {}

/** `10s`, `1m30s`, `500ms`, `2h`; a bare number is seconds (docker run's --health-* accept units). */
export function parseDockerDuration(text: string): number | undefined {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    total += Number(m[1]) * unit;
    consumed += m[0].length;
  }
  return consumed === text.length && consumed > 0 ? total : undefined;
}

function parseOrThrow(text: string | undefined, target: 'container' | 'service', what: string): RunOptions {
  const { options, errors } = parseRunOptions(text ?? '', target);
  if (errors.length) throw new RunOptionsError(`${what}: ${errors.join('; ')}`);
  return options;
}

/** Resource flags against the job bounds; the policy's own maxima are applied at admission. */
function boundErrors(o: RunOptions, memoryBytes: number): string[] {
  const errors: string[] = [];
  const mb = (bytes: number): number => Math.ceil(bytes / MiB);
  const { cpu, memory_mb: memory, pids } = RESOURCE_BOUNDS;
  if (o.cpus !== undefined && (o.cpus < cpu.min || o.cpus > cpu.max)) errors.push(`--cpus ${o.cpus} is outside ${cpu.min}-${cpu.max}`);
  if (o.memoryBytes !== undefined && (mb(o.memoryBytes) < memory.min || mb(o.memoryBytes) > memory.max)) {
    errors.push(`--memory ${mb(o.memoryBytes)} MB is outside ${memory.min}-${memory.max} MB`);
  }
  if (o.pidsLimit !== undefined && (o.pidsLimit < pids.min || o.pidsLimit > pids.max)) errors.push(`--pids-limit ${o.pidsLimit} is outside ${pids.min}-${pids.max}`);
  if (o.shmBytes !== undefined && o.shmBytes > memoryBytes) errors.push(`--shm-size ${mb(o.shmBytes)} MB is above the memory limit of ${mb(memoryBytes)} MB`);
  for (const t of o.tmpfs) {
    if ((t.sizeBytes ?? 0) > memoryBytes) errors.push(`--tmpfs ${t.path} size ${mb(t.sizeBytes!)} MB is above the memory limit of ${mb(memoryBytes)} MB`);
  }
  for (const u of o.ulimits) {
    if (u.name === 'nofile' && u.hard > MAX_NOFILE) errors.push(`--ulimit nofile=${u.hard} is above the maximum ${MAX_NOFILE}`);
    if (u.name === 'core' && u.hard !== 0) errors.push('--ulimit core must be 0 (core dumps stay off)');
  }
  return errors;
}

function ulimitNotes(o: RunOptions, where: string): string[] {
  return o.ulimits.some((u) => u.name === 'nproc') ? [`${where}: --ulimit nproc is not applied; the pids limit bounds processes`] : [];
}

export interface JobContainerOptions {
  /** Merged into the job's `resources` (admitted by the policy and quotas like any job's). */
  resources: { cpu?: number; memory_mb?: number; pids?: number };
  internal: Pick<JobInternalSpec, 'user' | 'tmpfs' | 'tmp_bytes' | 'shm_bytes' | 'nofile'>;
  extraHosts: Record<string, string>;
  notes: string[];
}

/**
 * `container.options` of a job (design §2.3) as typed job fields. The container keeps the strict
 * profile: `--user` must be a numeric non-root uid[:gid]; root is not applied (a note says so).
 */
export function jobContainerOptions(text: string | undefined, defaultMemoryMb: number): JobContainerOptions {
  const o = parseOrThrow(text, 'container', 'container options');
  const memoryBytes = (o.memoryBytes === undefined ? defaultMemoryMb : Math.ceil(o.memoryBytes / MiB)) * MiB;
  const errors = boundErrors(o, memoryBytes);
  const notes = ulimitNotes(o, 'container options');
  const internal: JobContainerOptions['internal'] = {};
  if (o.user !== undefined) {
    const user = jobUser(o.user);
    if ('error' in user) errors.push(user.error);
    else if (user.user) internal.user = user.user;
    else notes.push(`container options: --user ${o.user} is not applied; the job container never runs as root (docs/security.md)`);
  }
  if (o.entrypoint !== undefined) notes.push('container options: --entrypoint does not apply to the job container (steps run as execs beside a keepalive process)');
  const tmpfs = o.tmpfs.filter((t) => t.path !== '/tmp');
  if (tmpfs.some((t) => t.path === '/workspace')) errors.push('--tmpfs /workspace: the workspace is already mounted');
  const tmp = o.tmpfs.find((t) => t.path === '/tmp');
  if (tmp?.sizeBytes) internal.tmp_bytes = tmp.sizeBytes;
  if (tmpfs.length) internal.tmpfs = tmpfs.map((t) => ({ path: t.path, size_bytes: t.sizeBytes ?? DEFAULT_TMPFS_BYTES, ...(t.mode ? { mode: t.mode } : {}), exec: t.exec }));
  if (o.shmBytes !== undefined) internal.shm_bytes = o.shmBytes;
  const nofile = o.ulimits.find((u) => u.name === 'nofile');
  if (nofile) internal.nofile = nofile.hard;
  if (errors.length) throw new RunOptionsError(`container options: ${errors.join('; ')}`);
  return {
    resources: {
      ...(o.cpus !== undefined ? { cpu: Math.round(o.cpus * 100) / 100 } : {}),
      ...(o.memoryBytes !== undefined ? { memory_mb: Math.ceil(o.memoryBytes / MiB) } : {}),
      ...(o.pidsLimit !== undefined ? { pids: o.pidsLimit } : {}),
    },
    internal,
    extraHosts: o.addHosts,
    notes,
  };
}

/** `1000` → `1000:1000`; root → no user (not applied); names → an error (not resolved in the image). */
function jobUser(text: string): { user?: string } | { error: string } {
  const [uid, gid] = text.split(':');
  if (uid === 'root' || uid === '0') return {};
  if (!/^\d+$/.test(uid!) || (gid !== undefined && !/^\d+$/.test(gid))) return { error: `--user ${text}: the job container needs a numeric uid[:gid] (names are not looked up in the image)` };
  if (gid === '0') return { error: `--user ${text}: group 0 (root) is not allowed` };
  return { user: `${uid}:${gid ?? uid}` };
}

export interface ServiceContainerOptions {
  healthcheck?: ContainerHealthcheck;
  user?: string;
  entrypoint?: string;
  resources: ContainerResources;
  tmpfs: TmpfsMount[];
  shmBytes?: number;
  addHosts: Record<string, string>;
  notes: string[];
}

const DEFAULTS = { intervalMs: 30_000, timeoutMs: 30_000, retries: 3, startPeriodMs: 0 };

/** A service's `options` (design §2.6) as typed fields; the health check also comes from `healthcheck:`. */
export function serviceContainerOptions(service: Pick<ServiceSpec, 'id' | 'options' | 'healthcheck'>, evaluatedOptions?: string): ServiceContainerOptions {
  const o = parseOrThrow(evaluatedOptions ?? service.options, 'service', `service ${service.id} options`);
  const resources: ContainerResources = {
    ...SERVICE_RESOURCES,
    ...(o.cpus !== undefined ? { cpus: o.cpus } : {}),
    ...(o.memoryBytes !== undefined ? { memoryBytes: Math.ceil(o.memoryBytes / MiB) * MiB } : {}),
    ...(o.pidsLimit !== undefined ? { pidsLimit: o.pidsLimit } : {}),
  };
  const errors = boundErrors(o, resources.memoryBytes);
  if (errors.length) throw new RunOptionsError(`service ${service.id} options: ${errors.join('; ')}`);
  const nofile = o.ulimits.find((u) => u.name === 'nofile');
  if (nofile) resources.nofile = nofile.hard;
  const tmp = o.tmpfs.find((t) => t.path === '/tmp');
  if (tmp?.sizeBytes) resources.tmpBytes = tmp.sizeBytes;
  const healthcheck = healthFromOptions(o) ?? (service.healthcheck && typeof service.healthcheck === 'object' ? nativeHealthcheck(service.healthcheck) : undefined);
  return {
    ...(healthcheck ? { healthcheck } : {}),
    ...(o.user !== undefined ? { user: o.user } : {}),
    ...(o.entrypoint !== undefined ? { entrypoint: o.entrypoint } : {}),
    resources,
    tmpfs: o.tmpfs.filter((t) => t.path !== '/tmp').map((t) => ({ path: t.path, sizeBytes: t.sizeBytes ?? DEFAULT_TMPFS_BYTES, ...(t.mode ? { mode: t.mode } : {}), exec: t.exec })),
    ...(o.shmBytes !== undefined ? { shmBytes: o.shmBytes } : {}),
    addHosts: o.addHosts,
    notes: ulimitNotes(o, `service ${service.id}`),
  };
}

function healthFromOptions(o: RunOptions): ContainerHealthcheck | undefined {
  const health = o.health;
  if (!health.cmd) return undefined;
  const ms = (v: string | undefined, fallback: number): number => (v ? (parseDockerDuration(v) ?? fallback) : fallback);
  return {
    test: ['CMD-SHELL', health.cmd],
    intervalMs: ms(health.interval, DEFAULTS.intervalMs),
    timeoutMs: ms(health.timeout, DEFAULTS.timeoutMs),
    retries: health.retries ? Math.max(1, Number(health.retries) || DEFAULTS.retries) : DEFAULTS.retries,
    startPeriodMs: ms(health['start-period'], DEFAULTS.startPeriodMs),
  };
}

function nativeHealthcheck(h: HealthcheckSpec): ContainerHealthcheck {
  return {
    test: Array.isArray(h.cmd) ? ['CMD', ...h.cmd] : ['CMD-SHELL', h.cmd],
    intervalMs: h.intervalMs ?? DEFAULTS.intervalMs,
    timeoutMs: h.timeoutMs ?? DEFAULTS.timeoutMs,
    retries: h.retries ?? DEFAULTS.retries,
    startPeriodMs: h.startPeriodMs ?? DEFAULTS.startPeriodMs,
  };
}

/** Container ports declared by `ports:` (`8080:80/tcp` → 80, `6379` → 6379); udp ones are not probed. */
export function declaredTcpPorts(ports: string[]): number[] {
  const result: number[] = [];
  for (const entry of ports) {
    const spec = parsePortSpec(entry);
    if (!('error' in spec) && spec.protocol === 'tcp') result.push(spec.containerPort);
  }
  return [...new Set(result)];
}

/** What one service listens on in a runner-style job: its image's EXPOSE entries and its `ports:`. */
export interface ServiceListenPorts {
  id: string;
  /** Config.ExposedPorts keys (`5432/tcp`; a bare number is tcp). */
  exposedPorts: string[];
  /** `ports:` entries; only the container port counts (nothing is published). */
  declaredPorts: string[];
}

/**
 * Design §3.9.1 (host/pod mode): services share one network namespace, so two of them on the same
 * port cannot both bind it. Returns a message naming every clashing pair, or undefined.
 */
export function podPortConflicts(services: ServiceListenPorts[]): string | undefined {
  const owner = new Map<string, string>();
  const clashes: string[] = [];
  for (const service of services) {
    const ports = new Set<string>();
    for (const entry of [...service.exposedPorts, ...service.declaredPorts]) {
      const spec = parsePortSpec(entry);
      if (!('error' in spec)) ports.add(`${spec.containerPort}/${spec.protocol}`);
    }
    for (const port of ports) {
      const first = owner.get(port);
      if (first === undefined) owner.set(port, service.id);
      else clashes.push(`services '${first}' and '${service.id}' both listen on ${port}`);
    }
  }
  if (!clashes.length) return undefined;
  return `${clashes.join('; ')}; in a runner-style job services share localhost — give one a different port or run the job in a container`;
}
