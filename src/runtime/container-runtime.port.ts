import type { Readable } from 'node:stream';

export const CONTAINER_RUNTIME = Symbol('ContainerRuntime');

/** Set by the adapter on a container that mounts a workspace volume, so remove() can delete it too. */
export const WORKSPACE_VOLUME_LABEL = 'orcaops.workspace_volume';

/** The conventional workspace volume name of a container; remove() also tries it when the label is absent. */
export function workspaceVolumeName(containerName: string): string {
  return `${containerName}-workspace`;
}

/** The default identity containers run as: nobody:nogroup. */
export const SANDBOX_USER = '65534:65534';

export interface EngineInfo {
  version: string;
  apiVersion: string;
  os: string;
  cgroupVersion: string;
  runtime: string;
  /** Version of the default OCI runtime when the engine reports it (docker version's components). */
  runtimeVersion?: string;
}

export interface ImageInfo {
  id: string;
  tags: string[];
  sizeBytes: number;
  createdAt: string;
  /** Config.User of the image ('' when unset). */
  user?: string;
  /** Config.Volumes of the image (VOLUME paths). */
  volumes?: string[];
  /** Config.ExposedPorts of the image (EXPOSE), as `5432/tcp`. */
  exposedPorts?: string[];
  /** RepoDigests (`repo@sha256:…`): where the image was pulled from; empty for images built or imported here. */
  repoDigests?: string[];
  /** Config.Labels of the image. */
  labels?: Record<string, string>;
}

/** One image on the engine as the image list shows it (docker image ls), with the containers that use it. */
export interface ImageSummary {
  id: string;
  /** `repo:tag` names (none for a dangling image). */
  tags: string[];
  /** `repo@sha256:…`: the registry digests the image was pulled as or pushed to. */
  repoDigests: string[];
  sizeBytes: number;
  /** Epoch ms. */
  createdAt: number;
  labels: Record<string, string>;
  /** Containers of any state (any owner) created from this image, and those of them running. */
  containers: number;
  runningContainers: number;
}

/** Basic credentials for one registry host (never logged; the adapter passes them as X-Registry-Auth). */
export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

/** One compact progress event of a pull (the engine's per-layer lines, folded). */
export interface PullProgress {
  /** Layers seen so far and those finished (downloaded and extracted, or already present). */
  layers: number;
  layersDone: number;
  /** Bytes downloaded so far of the layers whose size the engine reported. */
  downloadedBytes: number;
  totalBytes: number;
  /**
   * Only on the pull's last word: the engine names layers as it reaches them, so "every layer seen is
   * done" can hold early (the first layer already present), and only the end of the pull says done.
   */
  complete?: boolean;
}

export interface PullOptions {
  auth?: RegistryAuth;
  /** Called for progress events (at most a few per second; the caller may throttle further). */
  onProgress?: (progress: PullProgress) => void;
  /** Aborting cancels the pull (the engine stops downloading when the request goes away). */
  signal?: AbortSignal;
  /**
   * Liveness: a pull with no progress event for this long is abandoned as registry_unreachable (a
   * pull has no total deadline: a large image on a slow registry may take long while it progresses).
   */
  idleTimeoutMs?: number;
}

/**
 * The only capabilities a `service`-profile container gets back after CapDrop ALL: what an official
 * image's entrypoint needs to prepare its data directory as root and drop to its own user (chown, then
 * gosu/su-exec/setpriv). docs/security.md, "Workflow services".
 */
export const SERVICE_CAPABILITIES = ['CHOWN', 'SETUID', 'SETGID', 'FOWNER', 'DAC_OVERRIDE'] as const;

/**
 * `strict` (the default): hardening.md §1.1, a numeric non-root user. `service`: workflow service
 * containers: the image's own user (root when it declares none) with SERVICE_CAPABILITIES; everything
 * else (no-new-privileges, read-only root, limits, private network) stays.
 */
export type ContainerProfile = 'strict' | 'service';

/** A size-capped tmpfs at `path` (workflow `--tmpfs`, a service image's VOLUME paths). */
export interface TmpfsMount {
  path: string;
  sizeBytes: number;
  /** Octal, default 1777. */
  mode?: string;
  /** Default false (noexec). */
  exec?: boolean;
}

/** A volume from createDataVolume mounted at `target`. */
export interface DataVolumeMount {
  name: string;
  target: string;
  readOnly: boolean;
}

/**
 * One Dockerfile build on the engine (issue 13 part 3). The adapter adds the hardening: RUN steps get no
 * network, these CPU/memory/shm limits, no host mounts (the classic builder has none), intermediate
 * containers always removed, and nothing pulled (base images were made usable by the ImagePuller first).
 */
export interface ImageBuildOptions {
  /** `repository:tag` the image gets. */
  tag: string;
  /** Path of the Dockerfile inside the context. */
  dockerfile: string;
  /** Set after the Dockerfile's own labels, so they win. */
  labels: Record<string, string>;
  cpus: number;
  memoryBytes: number;
  shmBytes: number;
  /** Aborting cancels the build (the engine stops the running step). */
  signal?: AbortSignal;
  /** The build's output as it comes (step lines, RUN output, the error). */
  onOutput?: (text: string) => void;
}

/** A build that ran: its image, or why a step failed (engine trouble throws RuntimeError instead). */
export type ImageBuildResult = { status: 'succeeded'; image: ImageInfo } | { status: 'failed'; error: string };

/** Network a container may use. `none` is the default; `egress` only when policy allows it. */
export type ContainerNetwork = 'none' | 'egress';

/**
 * Where a container's network comes from when it is not `none`/`egress` (workflows, design §3.9.1):
 * join an internal network made by createNetwork under DNS aliases, or share another container's
 * network namespace (services of a runner-style job reach each other on localhost).
 */
export type ContainerAttachment = { network: string; aliases: string[] } | { container: string };

/** A container health check (HEALTHCHECK), from a workflow service's `--health-*` options or `healthcheck:`. */
export interface ContainerHealthcheck {
  /** ["CMD-SHELL", "pg_isready"] or ["CMD", "argv0", ...]. */
  test: string[];
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
}

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
  /**
   * Profile `strict`: numeric non-root uid:gid, default 65534:65534 (nobody). Profile `service`:
   * user[:group] by name or number, default the image's own user.
   */
  user?: string;
  profile?: ContainerProfile;
  /** Replaces the image's ENTRYPOINT (argv; the command follows it). */
  entrypoint?: string[];
  /** Extra tmpfs mounts besides /tmp and /workspace. */
  tmpfs?: TmpfsMount[];
  /** Data volumes (createDataVolume): a service's `volumes:`, a workflow job's `container.volumes`. */
  volumes?: DataVolumeMount[];
  /** /dev/shm size; default SHM_BYTES (64 MiB). */
  shmBytes?: number;
  /** Defaults to /workspace. */
  workingDir?: string;
  resources: ContainerResources;
  network: ContainerNetwork;
  /**
   * Name of a volume from createWorkspaceVolume, mounted at /workspace (reachable by put/getArchive while
   * the container runs). Without one, /workspace is a sized HostConfig.Tmpfs owned by the container user,
   * which the archive API cannot see: copy files with tar over exec (stdin / stdout) instead.
   */
  workspaceVolume?: string;
  /** Overrides `network`: an internal network (no egress) or another container's namespace. */
  attach?: ContainerAttachment;
  /** Extra /etc/hosts entries, name → IPv4 (not with attach.container: the namespace owner's file is shared). */
  extraHosts?: Record<string, string>;
  healthcheck?: ContainerHealthcheck;
}

export interface ExecOptions {
  /** argv; never a shell string built on the host. */
  command: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Numeric non-root uid:gid; defaults to the container's user. */
  user?: string;
  /**
   * Written to the process's stdin, which is then closed. A Readable is piped in as it produces data
   * and stdin closes when it ends: long-lived execs (persistent shells, background processes) keep one
   * open and write to it over time instead of paying a new exec (≈90 ms) per interaction.
   */
  stdin?: Buffer | string | Readable;
  /**
   * Kills the exec's whole process group after this long. With timeoutMs or signal the argv runs
   * under a small /bin/sh wrapper (docker/process-group.ts), so the image needs a POSIX sh.
   */
  timeoutMs?: number;
  /** Aborting kills the exec's whole process group (cancel). Already aborted: nothing runs. */
  signal?: AbortSignal;
  /** Demultiplexed output as it arrives. */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
}

export interface ExecResult {
  /**
   * The engine's exit code (137 after a timeout/abort kill); null when none was recorded: the exec never
   * started (already aborted) or its processes could not be confirmed dead (the caller should then kill
   * the container).
   */
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
  /** Block I/O since start, summed over devices (blkio io_service_bytes); 0 when the engine reports none. */
  blockReadBytes: number;
  blockWriteBytes: number;
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
  /** Health check status; 'none' when the container has no health check. */
  health?: 'none' | 'starting' | 'healthy' | 'unhealthy';
}

export interface ContainerSummary {
  id: string;
  name: string;
  status: ContainerState['status'];
  labels: Record<string, string>;
  /** When the engine created it (ISO 8601), when it says. */
  createdAt?: string;
}

/** A volume or network as listed by the engine. */
export interface EngineObjectSummary {
  name: string;
  labels: Record<string, string>;
  /** When the engine created it (ISO 8601), when it says. */
  createdAt?: string;
}

/**
 * Labels that say where an installation lives (issue 20): its data directory and host. The adapter adds
 * them to every container, volume and network it creates with an `orcaops.install` label, so an operator
 * can tell an object whose installation is gone (data directory removed) from one of a live neighbour.
 */
export const HOME_LABEL = 'orcaops.home';
export const HOST_LABEL = 'orcaops.host';

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
  /**
   * Pulls `reference` (normalised, e.g. `127.0.0.1:5000/app:v1` or `repo@sha256:…`) from its registry.
   * Throws ImagePullError (code image_pull_failed) with reason unauthorized, not_found or
   * registry_unreachable; engine trouble stays engine_unavailable.
   */
  pullImage(reference: string, options?: PullOptions): Promise<void>;
  /** Every image on the engine (one entry per image id), with how many containers use each. */
  listImages(): Promise<ImageSummary[]>;
  /**
   * Removes one reference (`repo:tag` or `repo@sha256:…`, or an image id) of an image: the image itself
   * goes with its last reference. A missing reference is not an error. Not forced (the image cache): a
   * reference whose image a container uses (the engine refuses to drop its last name) throws 'conflict'.
   * `force` (a deleted workspace build, checked unused by running containers first): removes the image
   * even while a stopped container was created from it.
   */
  removeImage(reference: string, options?: { force?: boolean }): Promise<void>;
  /** Creates an image from an uncompressed root filesystem tar (docker import). */
  importImage(rootfsTar: Readable, repository: string, tag: string, changes: string[]): Promise<ImageInfo>;
  /** Builds `context` (an uncompressed tar, already validated) with the classic builder; see ImageBuildOptions. */
  buildImage(context: Buffer, options: ImageBuildOptions): Promise<ImageBuildResult>;

  /**
   * A size-capped tmpfs-backed volume for /workspace (works with the archive API, unlike HostConfig.Tmpfs),
   * owned by `owner` (uid:gid, default 65534:65534, which must match the container's user), mode 0700.
   */
  createWorkspaceVolume(name: string, sizeBytes: number, labels: Record<string, string>, owner?: string): Promise<void>;
  /**
   * A size-capped tmpfs-backed volume, mode 1777 (a service's user chowns it, as official images do with
   * their data directory), for one workflow instance's volumes; removed with the instance. `owner`
   * (numeric non-root uid:gid) owns its root directory: a job container's user, which mounts it under
   * the strict profile (the same tmpfs uid/gid options as createWorkspaceVolume); default root.
   */
  createDataVolume(name: string, sizeBytes: number, labels: Record<string, string>, owner?: string): Promise<void>;
  /** Missing volumes are not an error; a volume still in use throws 'conflict'. */
  removeVolume(name: string): Promise<void>;
  /** Volumes carrying every given label (at least one label is required). */
  listVolumes(labels: Record<string, string>): Promise<EngineObjectSummary[]>;

  /** Creates (does not start) a hardened container; returns its id. */
  createContainer(spec: ContainerSpec): Promise<string>;
  startContainer(id: string): Promise<void>;
  /**
   * Attaches to the main process's stdout/stderr (demultiplexed). Call it before start so no output is
   * missed; `ended` settles when the stream closes (the process exited or the container was killed).
   * Attached to a started container, the engine first replays its output from the start (bounded by the
   * log driver). Aborting `signal` closes the stream and leaves the process running (a server detaching).
   */
  attach(id: string, onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => void, options?: { signal?: AbortSignal }): Promise<{ ended: Promise<void> }>;
  exec(id: string, options: ExecOptions): Promise<ExecResult>;
  /**
   * Uncompressed tar only (compressed archives made the daemon run a decompressor from the container);
   * throws 'invalid_argument' for a compressed one or a read-only destination. Entries keep the
   * uid/gid/mode of their tar headers (use 65534 so the sandbox user can write them).
   * The workspace volume is a tmpfs that holds data only while the container runs, so archives go in
   * after start (with a keepalive main process and before any exec, no untrusted process runs yet) and
   * come out before stop; on a stopped container this throws 'conflict' instead of losing the files.
   */
  putArchive(id: string, destinationDir: string, tar: Buffer): Promise<void>;
  /** A tar stream of `path` (hostile content: parse in memory). Missing path: 'path_not_found'. Same 'conflict' rule. */
  getArchive(id: string, path: string): Promise<Readable>;
  stats(id: string): Promise<ContainerStats>;
  /** Waits until the container is not running (returns at once for a created or exited one). */
  wait(id: string): Promise<WaitResult>;
  inspect(id: string): Promise<ContainerState | undefined>;
  /** Default SIGKILL; a container that is not running is not an error. */
  kill(id: string, signal?: string): Promise<void>;
  /**
   * Force-removes the container (and its anonymous volumes), then its workspace volume (named by
   * WORKSPACE_VOLUME_LABEL, which the adapter sets whenever it mounts one); missing ones are not an error.
   */
  remove(id: string): Promise<void>;
  /** Containers in any state carrying every given label (at least one label is required). */
  listContainers(labels: Record<string, string>): Promise<ContainerSummary[]>;
  /** The last `tailBytes` of a container's main-process output (stdout and stderr interleaved), as text. */
  logs(id: string, tailBytes: number): Promise<string>;

  /** An internal bridge network (no egress, no host ports), labelled; an existing one with our labels is reused. */
  createNetwork(name: string, labels: Record<string, string>): Promise<void>;
  /** Missing networks are not an error. */
  removeNetwork(name: string): Promise<void>;
  /**
   * The egress network (issue 14): makes sure it exists with its host firewall, and answers the host
   * address on it where the egress gateway must listen (the only destination its containers reach).
   */
  prepareEgressGateway(): Promise<{ address: string }>;
  /** Lets egress containers reach the gateway on this TCP port (and only there). */
  openEgressPort(port: number): Promise<void>;
  closeEgressPort(port: number): Promise<void>;
  /**
   * Removes host firewall rules left by servers that died: gateway-port openings no live gateway listens
   * on, and rules of internal bridges that no longer exist. Answers what it removed.
   */
  reconcileHostFirewall(): Promise<{ gatewayPorts: number[]; internalBridges: string[] }>;
  /** Networks carrying every given label (at least one label is required). */
  listNetworks(labels: Record<string, string>): Promise<EngineObjectSummary[]>;
}
