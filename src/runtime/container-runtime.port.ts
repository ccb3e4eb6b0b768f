import type { Readable } from 'node:stream';

export const CONTAINER_RUNTIME = Symbol('ContainerRuntime');

export interface EngineInfo {
  version: string;
  apiVersion: string;
  os: string;
  cgroupVersion: string;
  runtime: string;
}

export interface ImageInfo {
  id: string;
  tags: string[];
  sizeBytes: number;
  createdAt: string;
  /** Config.User of the image ('' when unset). */
  user?: string;
}

/** Network a container may use. `none` is the default; `egress` only when policy allows it. */
export type ContainerNetwork = 'none' | 'egress';

/** Typed resource limits; the adapter turns them into HostConfig (see docker/hardening.ts). */
export interface ContainerResources {
  /** CPUs (e.g. 1, 0.5). */
  cpus: number;
  memoryBytes: number;
  pidsLimit: number;
  /** Size of the /tmp tmpfs. */
  tmpBytes: number;
  /** Size of the /workspace volume (tmpfs-backed, size-capped); also the fsize ulimit. */
  workspaceBytes: number;
  nofile: number;
}

/**
 * Everything a caller may decide about a container. The hardening profile (caps dropped,
 * no-new-privileges, read-only root, no mounts, private namespaces, init, bounded logs...) is applied
 * by the adapter and cannot be changed from here: no raw engine options pass through.
 */
export interface ContainerSpec {
  /** Server-generated, e.g. orcaops-job-<uuid>. */
  name: string;
  image: string;
  /** argv of the main process (runs under docker-init). */
  command: string[];
  env: Record<string, string>;
  /** orcaops.* labels; values are server-generated. */
  labels: Record<string, string>;
  /** uid:gid; defaults to 65534:65534 (nobody). */
  user?: string;
  /** Defaults to /workspace. */
  workingDir?: string;
  resources: ContainerResources;
  network: ContainerNetwork;
  /** Name of a volume from createWorkspaceVolume, mounted at /workspace. */
  workspaceVolume?: string;
}

export interface ExecOptions {
  /** argv; never a shell string built on the host. */
  command: string[];
  env?: Record<string, string>;
  cwd?: string;
  user?: string;
  /** Written to the process's stdin, which is then closed. */
  stdin?: Buffer | string;
  /** Kills the exec's whole process group after this long. */
  timeoutMs?: number;
  /** Aborting kills the exec's whole process group (cancel). */
  signal?: AbortSignal;
  /** Demultiplexed output as it arrives. */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
}

export interface ExecResult {
  /** null when the process was killed before reporting one. */
  exitCode: number | null;
  timedOut: boolean;
  aborted: boolean;
  durationMs: number;
}

export interface ContainerStats {
  cpuSeconds: number;
  memoryBytes: number;
  /** Peak memory since start when the engine exposes it (cgroup v1 max_usage, v2 memory.peak). */
  memoryPeakBytes: number | null;
  pids: number;
}

export interface WaitResult {
  exitCode: number;
  oomKilled: boolean;
}

export interface ContainerState {
  id: string;
  name: string;
  status: 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';
  exitCode: number | null;
  oomKilled: boolean;
  labels: Record<string, string>;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface ContainerSummary {
  id: string;
  name: string;
  status: ContainerState['status'];
  labels: Record<string, string>;
}

/**
 * The container engine, one method per engine operation. Only src/runtime/docker implements it
 * against the real engine (and is the only code that imports dockerode); FakeRuntime serves unit tests.
 * Every method throws RuntimeError with a typed code (engine_unavailable, image_not_found, ...).
 */
export interface ContainerRuntime {
  /** Engine facts; throws RuntimeError('engine_unavailable') when no engine answers. */
  ping(): Promise<EngineInfo>;
  /** undefined when the image is not present locally (never pulls). */
  inspectImage(reference: string): Promise<ImageInfo | undefined>;
  /** Creates an image from an uncompressed root filesystem tar (docker import). */
  importImage(rootfsTar: Readable, repository: string, tag: string, changes: string[]): Promise<ImageInfo>;

  /** A size-capped tmpfs-backed volume for /workspace (works with the archive API, unlike HostConfig.Tmpfs). */
  createWorkspaceVolume(name: string, sizeBytes: number, labels: Record<string, string>): Promise<void>;
  removeVolume(name: string): Promise<void>;
  listVolumes(labels: Record<string, string>): Promise<Array<{ name: string; labels: Record<string, string> }>>;

  /** Creates (does not start) a hardened container; returns its id. */
  createContainer(spec: ContainerSpec): Promise<string>;
  startContainer(id: string): Promise<void>;
  exec(id: string, options: ExecOptions): Promise<ExecResult>;
  /** Uncompressed tar only (compressed archives made the daemon run a decompressor from the container). */
  putArchive(id: string, destinationDir: string, tar: Buffer): Promise<void>;
  getArchive(id: string, path: string): Promise<Readable>;
  stats(id: string): Promise<ContainerStats>;
  wait(id: string): Promise<WaitResult>;
  inspect(id: string): Promise<ContainerState | undefined>;
  kill(id: string, signal?: string): Promise<void>;
  /** Force-removes the container (and its anonymous volumes); missing containers are not an error. */
  remove(id: string): Promise<void>;
  listContainers(labels: Record<string, string>): Promise<ContainerSummary[]>;
}
