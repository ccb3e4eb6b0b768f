import type { ContainerState, ContainerStats, ContainerSummary, ImageInfo, ImageSummary } from 'src/runtime/container-runtime.port';

/**
 * Engine responses → port types. Engine payloads are validated shapes we only read defensively
 * (hardening.md API10: validate Engine API responses too), so every field is optional here.
 */

const STATUSES: ReadonlyArray<ContainerState['status']> = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'];

export function toStatus(value: unknown): ContainerState['status'] {
  return STATUSES.find((s) => s === value) ?? 'dead';
}

/** The engine's zero time means "never". */
function toTime(value: unknown): string | null {
  return typeof value === 'string' && value && !value.startsWith('0001-01-01') ? value : null;
}

function toLabels(value: unknown): Record<string, string> {
  return value && typeof value === 'object' ? { ...(value as Record<string, string>) } : {};
}

export interface InspectPayload {
  Id?: string;
  Name?: string;
  State?: { Status?: string; ExitCode?: number; OOMKilled?: boolean; StartedAt?: string; FinishedAt?: string; Health?: { Status?: string } };
  Config?: { Labels?: Record<string, string> | null };
}

export function toContainerState(info: InspectPayload): ContainerState {
  const status = toStatus(info.State?.Status);
  // The engine reports 0 for containers that never exited; only an ended container has a real code.
  const ended = status === 'exited' || status === 'dead';
  return {
    id: info.Id ?? '',
    name: (info.Name ?? '').replace(/^\//, ''),
    status,
    exitCode: ended && typeof info.State?.ExitCode === 'number' ? info.State.ExitCode : null,
    oomKilled: info.State?.OOMKilled === true,
    labels: toLabels(info.Config?.Labels),
    startedAt: toTime(info.State?.StartedAt),
    finishedAt: toTime(info.State?.FinishedAt),
    health: toHealth(info.State?.Health?.Status),
  };
}

function toHealth(value: unknown): NonNullable<ContainerState['health']> {
  return value === 'starting' || value === 'healthy' || value === 'unhealthy' ? value : 'none';
}

export interface ListPayload {
  Id?: string;
  Names?: string[];
  State?: string;
  Labels?: Record<string, string> | null;
  /** Unix seconds. */
  Created?: number;
}

export function toContainerSummary(item: ListPayload): ContainerSummary {
  return {
    id: item.Id ?? '',
    name: (item.Names?.[0] ?? '').replace(/^\//, ''),
    status: toStatus(item.State),
    labels: toLabels(item.Labels),
    ...(typeof item.Created === 'number' ? { createdAt: new Date(item.Created * 1000).toISOString() } : {}),
  };
}

export interface ImageListPayload {
  Id?: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Size?: number;
  Created?: number;
  Labels?: Record<string, string> | null;
}

/**
 * An image list entry with its container counts, from the container list (`ImageID` of every container,
 * and the running ones): the image list's own `Containers` field is -1 unless the engine is asked for
 * the (slow) shared sizes.
 */
export function toImageSummary(item: ImageListPayload, containers: Array<{ ImageID?: string; State?: string }>): ImageSummary {
  const using = containers.filter((c) => c.ImageID === item.Id);
  return {
    id: item.Id ?? '',
    // An untagged image lists `<none>:<none>` / `<none>@<none>` on older engines.
    tags: (item.RepoTags ?? []).filter((t) => !t.startsWith('<none>')),
    repoDigests: (item.RepoDigests ?? []).filter((d) => !d.startsWith('<none>')),
    sizeBytes: num(item.Size),
    createdAt: num(item.Created) * 1000,
    labels: toLabels(item.Labels),
    containers: using.length,
    runningContainers: using.filter((c) => c.State === 'running').length,
  };
}

/** A volume's CreatedAt or a network's Created (RFC 3339), as ISO 8601; undefined when absent or unparsable. */
export function toCreatedAt(value: unknown): string | undefined {
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

export interface StatsPayload {
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
  memory_stats?: {
    usage?: number;
    max_usage?: number;
    /** Not sent by Docker 20.10; read if a newer engine reports cgroup v2 memory.peak. */
    peak?: number;
    stats?: Record<string, number>;
  };
  pids_stats?: { current?: number };
  blkio_stats?: { io_service_bytes_recursive?: Array<{ op?: string; value?: number }> | null };
}

/** Bytes read and written, summed over devices (cgroup v1 says Read/Write, v2 read/write). */
function blockIo(s: StatsPayload): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const entry of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = (entry.op ?? '').toLowerCase();
    if (op === 'read') read += num(entry.value);
    else if (op === 'write') write += num(entry.value);
  }
  return { read, write };
}

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

export function toContainerStats(s: StatsPayload): ContainerStats {
  const memory = s.memory_stats ?? {};
  // Same as `docker stats`: page cache that can be dropped (inactive file) is not the job's memory.
  const inactiveFile = num(memory.stats?.total_inactive_file ?? memory.stats?.inactive_file);
  const usage = num(memory.usage);
  const peak = num(memory.max_usage) || num(memory.peak);
  return {
    cpuSeconds: num(s.cpu_stats?.cpu_usage?.total_usage) / 1e9,
    memoryBytes: Math.max(0, usage - inactiveFile),
    memoryPeakBytes: peak > 0 ? peak : null,
    pids: num(s.pids_stats?.current),
    blockReadBytes: blockIo(s).read,
    blockWriteBytes: blockIo(s).write,
  };
}

export interface ImagePayload {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Size?: number;
  Created?: string;
  Config?: { User?: string; Volumes?: Record<string, unknown> | null; ExposedPorts?: Record<string, unknown> | null; Labels?: Record<string, string> | null } | null;
}

export function toImageInfo(image: ImagePayload): ImageInfo {
  return {
    id: image.Id,
    tags: image.RepoTags ?? [],
    sizeBytes: num(image.Size),
    createdAt: image.Created ?? '',
    user: image.Config?.User ?? '',
    volumes: Object.keys(image.Config?.Volumes ?? {}),
    exposedPorts: Object.keys(image.Config?.ExposedPorts ?? {}),
    repoDigests: image.RepoDigests ?? [],
    labels: image.Config?.Labels ?? {},
  };
}

/** The default OCI runtime's `name version` from `docker version`'s components (runc is listed by name). */
export function runtimeVersionOf(components: Array<{ Name?: string; Version?: string }> | undefined, runtime: string): string | undefined {
  const wanted = runtime === 'io.containerd.runc.v2' ? 'runc' : runtime;
  const found = (components ?? []).find((c) => (c.Name ?? '').toLowerCase() === wanted.toLowerCase());
  return found?.Version ? `${wanted} ${found.Version}`.slice(0, 64) : undefined;
}
