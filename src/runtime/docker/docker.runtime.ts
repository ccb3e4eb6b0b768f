import Docker from 'dockerode';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import type {
  ContainerRuntime,
  ContainerSpec,
  ContainerState,
  ContainerStats,
  ContainerSummary,
  EngineObjectSummary,
  EngineInfo,
  ExecOptions,
  ExecResult,
  ImageBuildOptions,
  ImageBuildResult,
  ImageInfo,
  ImageSummary,
  PullOptions,
  WaitResult,
} from 'src/runtime/container-runtime.port';
import { WORKSPACE_VOLUME_LABEL } from 'src/runtime/container-runtime.port';
import { engineMessage, statusOf, translateDockerError } from 'src/runtime/docker/docker-errors';
import { DEFAULT_ENGINE_TIMEOUTS, withEngineDeadline } from 'src/runtime/docker/engine-call';
import type { EngineTimeouts } from 'src/runtime/docker/engine-call';
import { runExec } from 'src/runtime/docker/docker-exec';
import { pullThroughEngine } from 'src/runtime/docker/docker-pull';
import { buildThroughEngine } from 'src/runtime/docker/docker-build';
import { throttleStream } from 'src/runtime/docker/stream-throttle';
import { demuxOutput } from 'src/runtime/docker/output-demux';
import { runtimeVersionOf, toContainerState, toContainerStats, toContainerSummary, toCreatedAt, toImageInfo, toImageSummary } from 'src/runtime/docker/docker-mappers';
import {
  assertAbsolutePath,
  assertName,
  buildCreateOptions,
  buildEgressNetworkOptions,
  buildInternalNetworkOptions,
  buildDataVolumeOptions,
  buildWorkspaceVolumeOptions,
  EGRESS_BRIDGE,
  EGRESS_NETWORK,
  isCompressedArchive,
  isSizedTmpfsVolume,
  toLabelFilters,
  WORKSPACE_PATH,
} from 'src/runtime/docker/hardening';
import type { WorkspaceVolumeBody } from 'src/runtime/docker/hardening';
import { RuntimeError } from 'src/runtime/runtime.errors';
import {
  closeGatewayPort,
  installEgressFirewall,
  isolateInternalBridge,
  openGatewayPort,
  releaseInternalBridge,
  removeStaleGatewayPorts,
  removeStaleInternalBridges,
} from 'src/runtime/docker/egress-firewall';

const SIGNAL = /^(SIG)?[A-Z0-9+-]{1,16}$/;
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;

/** The ContainerRuntime on a real Docker engine; the only code that talks to dockerode. */
export class DockerRuntime implements ContainerRuntime {
  private readonly docker: Docker;
  /**
   * Workspace volume (or none) of the containers this process created, so removing them needs no
   * inspect first; containers from before a restart are inspected.
   */
  private readonly volumeOf = new Map<string, string | null>();

  /**
   * `ownerLabels` (HOME_LABEL, HOST_LABEL) are added to every object created with an `orcaops.install`
   * label: where that installation lives, for the operator's orphan check.
   */
  constructor(
    socketPath: string,
    private readonly timeouts: EngineTimeouts = DEFAULT_ENGINE_TIMEOUTS,
    private readonly ownerLabels: Record<string, string> = {},
  ) {
    this.docker = new Docker({ socketPath });
  }

  private stamp(labels: Record<string, string>): Record<string, string> {
    return labels['orcaops.install'] === undefined ? labels : { ...labels, ...this.ownerLabels };
  }

  /** One short engine call under the call deadline (engine-call.ts): a hung engine is engine_unavailable. */
  private call<T>(what: string, fn: (abortSignal: AbortSignal) => Promise<T>, ms = this.timeouts.callMs): Promise<T> {
    return withEngineDeadline(what, ms, fn);
  }

  async ping(): Promise<EngineInfo> {
    try {
      const [version, info] = await this.call(
        'ping',
        // @types/dockerode has no options on version/info (and image/network inspect): the race alone bounds them.
        () => Promise.all([this.docker.version(), this.docker.info() as Promise<Record<string, unknown>>]),
        this.timeouts.pingMs,
      );
      return {
        version: version.Version,
        apiVersion: version.ApiVersion,
        os: `${version.Os}/${version.Arch}`,
        cgroupVersion: typeof info.CgroupVersion === 'string' ? info.CgroupVersion : '1',
        runtime: typeof info.DefaultRuntime === 'string' ? info.DefaultRuntime : 'runc',
        runtimeVersion: runtimeVersionOf(version.Components, typeof info.DefaultRuntime === 'string' ? info.DefaultRuntime : 'runc'),
      };
    } catch (error) {
      throw translateDockerError(error, 'ping');
    }
  }

  async inspectImage(reference: string): Promise<ImageInfo | undefined> {
    try {
      return toImageInfo(await this.call(`inspect image ${reference}`, () => this.docker.getImage(reference).inspect()));
    } catch (error) {
      const translated = translateDockerError(error, `inspect image ${reference}`, 'image_not_found');
      if (translated.code === 'image_not_found') return undefined;
      throw translated;
    }
  }

  pullImage(reference: string, options?: PullOptions): Promise<void> {
    return pullThroughEngine(this.docker, reference, options);
  }

  async listImages(): Promise<ImageSummary[]> {
    try {
      const [images, containers] = await this.call('list images', (abortSignal) =>
        Promise.all([this.docker.listImages({ all: false, abortSignal }), this.docker.listContainers({ all: true, abortSignal })]),
      );
      return images.map((image) => toImageSummary(image, containers));
    } catch (error) {
      throw translateDockerError(error, 'list images', 'image_not_found');
    }
  }

  async removeImage(reference: string, options: { force?: boolean } = {}): Promise<void> {
    try {
      // Forced only when asked: a forced removal would untag an image a stopped container still uses.
      await this.call(`remove image ${reference}`, (abortSignal) => this.docker.getImage(reference).remove({ force: options.force ?? false, noprune: false, abortSignal }) as Promise<unknown>);
    } catch (error) {
      const translated = translateDockerError(error, `remove image ${reference}`, 'image_not_found');
      if (translated.code !== 'image_not_found') throw translated;
    }
  }

  async importImage(rootfsTar: Readable, repository: string, tag: string, changes: string[]): Promise<ImageInfo> {
    if (!REPOSITORY.test(repository) || !TAG.test(tag)) throw new RuntimeError('invalid_argument', `image name ${repository}:${tag} is not valid`);
    // Each change is one Dockerfile instruction; a newline would smuggle in another.
    if (changes.some((c) => /[\r\n\0]/.test(c))) throw new RuntimeError('invalid_argument', 'image changes must be single-line instructions');
    const what = `import image ${repository}:${tag}`;
    try {
      // The whole import (upload and the engine's progress stream) is one bounded operation.
      await this.call(
        what,
        async (abortSignal) => {
          const progress = await this.docker.importImage(rootfsTar, { repo: repository, tag, changes, abortSignal });
          abortSignal.addEventListener('abort', () => (progress as Readable).destroy(), { once: true });
          await new Promise<void>((resolve, reject) =>
            this.docker.modem.followProgress(progress, (error: Error | null, output: Array<{ error?: string }>) => {
              const failed = output.find((o) => o.error);
              if (error) reject(error);
              else if (failed) reject(new RuntimeError('engine_error', `${what}: ${failed.error}`));
              else resolve();
            }),
          );
        },
        this.timeouts.importMs,
      );
    } catch (error) {
      throw translateDockerError(error, what);
    }
    const info = await this.inspectImage(`${repository}:${tag}`);
    if (!info) throw new RuntimeError('engine_error', `${what}: the image is missing after the import`);
    return info;
  }

  async buildImage(context: Buffer, options: ImageBuildOptions): Promise<ImageBuildResult> {
    const colon = options.tag.lastIndexOf(':');
    if (colon <= 0 || !REPOSITORY.test(options.tag.slice(0, colon)) || !TAG.test(options.tag.slice(colon + 1))) {
      throw new RuntimeError('invalid_argument', `image name ${options.tag} is not valid`);
    }
    const result = await buildThroughEngine(this.docker, context, options);
    if (result.status === 'failed') return result;
    const image = await this.inspectImage(options.tag);
    if (!image) throw new RuntimeError('engine_error', `build ${options.tag}: the image is missing after the build`);
    return { status: 'succeeded', image };
  }


  createWorkspaceVolume(name: string, sizeBytes: number, labels: Record<string, string>, owner?: string): Promise<void> {
    return this.createSizedVolume(buildWorkspaceVolumeOptions(name, sizeBytes, this.stamp(labels), owner));
  }

  createDataVolume(name: string, sizeBytes: number, labels: Record<string, string>, owner?: string): Promise<void> {
    return this.createSizedVolume(buildDataVolumeOptions(name, sizeBytes, this.stamp(labels), owner));
  }

  private async createSizedVolume(body: WorkspaceVolumeBody): Promise<void> {
    let existing: Docker.VolumeInspectInfo;
    try {
      await this.call(`create volume ${body.Name}`, (abortSignal) => this.docker.createVolume({ ...body, abortSignal }));
      existing = await this.call(`inspect volume ${body.Name}`, (abortSignal) => this.docker.getVolume(body.Name).inspect({ abortSignal }));
    } catch (error) {
      throw translateDockerError(error, `create volume ${body.Name}`, 'engine_error');
    }
    // Creating an existing volume silently returns it with its old options; never hand out one we did not size.
    if (existing.Options?.o !== body.DriverOpts.o || !isSizedTmpfsVolume(existing)) {
      throw new RuntimeError('conflict', `volume ${body.Name} already exists with other options`);
    }
  }

  async removeVolume(name: string): Promise<void> {
    try {
      await this.call(`remove volume ${name}`, (abortSignal) => this.docker.getVolume(name).remove({ abortSignal }));
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw translateDockerError(error, `remove volume ${name}`, 'engine_error');
    }
  }

  async listVolumes(labels: Record<string, string>): Promise<EngineObjectSummary[]> {
    const filters = { label: toLabelFilters(labels) };
    try {
      const result = await this.call('list volumes', (abortSignal) => this.docker.listVolumes({ filters, abortSignal }));
      return (result.Volumes ?? []).map((v) => ({ name: v.Name, labels: { ...(v.Labels ?? {}) }, ...createdAt((v as { CreatedAt?: unknown }).CreatedAt) }));
    } catch (error) {
      throw translateDockerError(error, 'list volumes', 'engine_error');
    }
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    const body = buildCreateOptions({ ...spec, labels: this.stamp(spec.labels) });
    if (spec.network === 'egress') await this.ensureEgressNetwork();
    if (spec.workspaceVolume !== undefined) await this.assertWorkspaceVolume(spec.workspaceVolume);
    // Only volumes we sized (createDataVolume) may be mounted: never an unbounded, disk-backed one.
    for (const volume of spec.volumes ?? []) await this.assertWorkspaceVolume(volume.name);
    if (spec.attach && 'network' in spec.attach) await this.assertInternalNetwork(spec.attach.network);
    try {
      // HardenedCreateBody is a closed subset of the create body; @types/dockerode wrongly marks
      // Mounts[].VolumeOptions.Labels/DriverConfig as required, hence the cast.
      const options = body as unknown as Docker.ContainerCreateOptions;
      const container = await this.call(`create container ${spec.name}`, (abortSignal) => this.docker.createContainer({ ...options, abortSignal }));
      this.volumeOf.set(container.id, spec.workspaceVolume ?? null);
      return container.id;
    } catch (error) {
      throw translateDockerError(error, `create container ${spec.name}`, 'image_not_found');
    }
  }

  async startContainer(id: string): Promise<void> {
    try {
      await this.call(`start container ${id}`, (abortSignal) => this.docker.getContainer(id).start({ abortSignal }));
    } catch (error) {
      if (statusOf(error) === 304) return; // already started
      throw translateDockerError(error, `start container ${id}`);
    }
  }

  async attach(id: string, onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => void, options: { signal?: AbortSignal } = {}): Promise<{ ended: Promise<void> }> {
    try {
      // Only the attach handshake is bounded: the stream lasts as long as the process (the caller's wait/abort bounds it).
      const stream = (await this.call(`attach to container ${id}`, (abortSignal) =>
        this.docker.getContainer(id).attach({ stream: true, stdout: true, stderr: true, logs: true, abortSignal }),
      )) as NodeJS.ReadableStream;
      const ended = new Promise<void>((resolve) => {
        stream.once('end', resolve);
        stream.once('close', resolve);
        stream.once('error', () => resolve());
      });
      throttleStream(stream);
      demuxOutput(stream, onOutput);
      const close = (): void => void (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      if (options.signal?.aborted) close();
      else options.signal?.addEventListener('abort', close, { once: true });
      return { ended };
    } catch (error) {
      throw translateDockerError(error, `attach to container ${id}`);
    }
  }

  exec(id: string, options: ExecOptions): Promise<ExecResult> {
    return runExec(this.docker, id, options, this.timeouts.callMs);
  }

  async putArchive(id: string, destinationDir: string, tar: Buffer): Promise<void> {
    assertAbsolutePath(destinationDir, 'archive destination');
    if (isCompressedArchive(tar)) throw new RuntimeError('invalid_argument', 'archives must be uncompressed tar (hardening.md §3.2)');
    await this.assertWorkspaceMounted(id, destinationDir, 'put archive');
    try {
      await this.call(
        `put archive into ${id}:${destinationDir}`,
        (abortSignal) => this.docker.getContainer(id).putArchive(tar, { path: destinationDir, noOverwriteDirNonDir: 'true', abortSignal }),
        this.timeouts.archiveMs,
      );
    } catch (error) {
      // Only the workspace volume is writable: the root filesystem is read-only (403, or 500 on Docker 20.10).
      if (statusOf(error) === 403 || /read-only/i.test(engineMessage(error))) {
        throw new RuntimeError('invalid_argument', `put archive into ${destinationDir}: ${engineMessage(error)}`, error);
      }
      throw translateDockerError(error, `put archive into ${id}:${destinationDir}`, 'path_not_found');
    }
  }

  async getArchive(id: string, path: string): Promise<Readable> {
    assertAbsolutePath(path, 'archive path');
    await this.assertWorkspaceMounted(id, path, 'get archive');
    try {
      // docker-modem hands back the HTTP response, an http.IncomingMessage (a Readable).
      // The deadline covers the response headers; the body is a stream the caller reads under its own byte and time caps.
      return (await this.call(`get archive ${id}:${path}`, (abortSignal) => this.docker.getContainer(id).getArchive({ path, abortSignal }))) as Readable;
    } catch (error) {
      throw translateDockerError(error, `get archive ${id}:${path}`, 'path_not_found');
    }
  }

  async stats(id: string): Promise<ContainerStats> {
    try {
      // one-shot: one sample now instead of waiting ~1 s for a second one (CPU% is not needed).
      const stats = await this.call(`stats of container ${id}`, (abortSignal) => this.docker.getContainer(id).stats({ stream: false, 'one-shot': true, abortSignal } as { stream: false }));
      return toContainerStats(stats);
    } catch (error) {
      throw translateDockerError(error, `stats of container ${id}`);
    }
  }

  async wait(id: string): Promise<WaitResult> {
    const container = this.docker.getContainer(id);
    try {
      const result = (await container.wait()) as { StatusCode?: number };
      // A clean exit is never an OOM kill; skip the inspect round trip (a trivial job's hot path).
      if (result.StatusCode === 0) return { exitCode: 0, oomKilled: false };
      // OOMKilled is only in the container's state, not in the wait response.
      const state = toContainerState(await this.call(`inspect container ${id}`, (abortSignal) => container.inspect({ abortSignal })));
      return { exitCode: result.StatusCode ?? state.exitCode ?? -1, oomKilled: state.oomKilled };
    } catch (error) {
      throw translateDockerError(error, `wait for container ${id}`);
    }
  }

  async inspect(id: string): Promise<ContainerState | undefined> {
    try {
      return toContainerState(await this.call(`inspect container ${id}`, (abortSignal) => this.docker.getContainer(id).inspect({ abortSignal })));
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw translateDockerError(error, `inspect container ${id}`);
    }
  }

  async kill(id: string, signal = 'SIGKILL'): Promise<void> {
    if (!SIGNAL.test(signal)) throw new RuntimeError('invalid_argument', `signal ${JSON.stringify(signal)} is not valid`);
    try {
      await this.call(`kill container ${id}`, (abortSignal) => this.docker.getContainer(id).kill({ signal, abortSignal }));
    } catch (error) {
      if (statusOf(error) === 409) return; // not running: nothing to kill
      throw translateDockerError(error, `kill container ${id}`);
    }
  }

  async remove(id: string): Promise<void> {
    let volume = this.volumeOf.get(id);
    if (volume === undefined) {
      const state = await this.inspect(id);
      if (!state) return;
      volume = state.labels[WORKSPACE_VOLUME_LABEL] ?? null;
    }
    try {
      await this.call(`remove container ${id}`, (abortSignal) => this.docker.getContainer(id).remove({ force: true, v: true, abortSignal }));
    } catch (error) {
      // 404: removed meanwhile; 409 "removal already in progress": the engine is doing it.
      if (statusOf(error) !== 404 && statusOf(error) !== 409) throw translateDockerError(error, `remove container ${id}`);
    }
    this.volumeOf.delete(id);
    // The adapter labels every container it mounts a workspace volume into; containers without the
    // label (tmpfs /workspace) have none, and skipping the call keeps removal to one round trip.
    if (volume) await this.removeVolume(volume);
  }

  async listContainers(labels: Record<string, string>): Promise<ContainerSummary[]> {
    const filters = { label: toLabelFilters(labels) };
    try {
      const items = await this.call('list containers', (abortSignal) => this.docker.listContainers({ all: true, filters, abortSignal }));
      return items.map((item) => toContainerSummary(item));
    } catch (error) {
      throw translateDockerError(error, 'list containers');
    }
  }

  async logs(id: string, tailBytes: number): Promise<string> {
    try {
      // Bounded at the source too: the json-file log driver keeps at most LOG_CONFIG's 2 MiB per container.
      const raw = await this.call(`logs of container ${id}`, (abortSignal) =>
        this.docker.getContainer(id).logs({ stdout: true, stderr: true, follow: false, tail: 200, abortSignal }),
      );
      const text = demuxed(raw);
      return text.length > tailBytes ? text.slice(-tailBytes) : text;
    } catch (error) {
      throw translateDockerError(error, `logs of container ${id}`);
    }
  }

  async createNetwork(name: string, labels: Record<string, string>): Promise<void> {
    const body = buildInternalNetworkOptions(name, this.stamp(labels));
    try {
      await this.call(`create network ${name}`, (abortSignal) => this.docker.createNetwork({ ...body, abortSignal }));
    } catch (error) {
      if (statusOf(error) !== 409) throw translateDockerError(error, `create network ${name}`, 'engine_error');
    }
    const id = await this.assertInternalNetwork(name);
    // The host has an address on the run's bridge too: nothing from it may reach the host's ports.
    await isolateInternalBridge(bridgeOf(id));
  }

  async removeNetwork(name: string): Promise<void> {
    assertName(name, 'network name');
    let id: string | undefined;
    try {
      const info = await this.call(`inspect network ${name}`, () => this.docker.getNetwork(name).inspect());
      id = (info as { Id?: string }).Id;
      await this.call(`remove network ${name}`, (abortSignal) => this.docker.getNetwork(name).remove({ abortSignal }));
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw translateDockerError(error, `remove network ${name}`, 'engine_error');
    }
    if (id) await releaseInternalBridge(bridgeOf(id));
  }

  async listNetworks(labels: Record<string, string>): Promise<EngineObjectSummary[]> {
    const filters = { label: toLabelFilters(labels) };
    try {
      const items = await this.call('list networks', (abortSignal) => this.docker.listNetworks({ filters, abortSignal }));
      return items.map((n) => ({ name: n.Name, labels: { ...(n.Labels ?? {}) }, ...createdAt(n.Created) }));
    } catch (error) {
      throw translateDockerError(error, 'list networks', 'engine_error');
    }
  }

  /** Containers join only internal networks this installation made (no egress by the back door). */
  private async assertInternalNetwork(name: string): Promise<string> {
    let info: { Id: string; Internal?: boolean; Labels?: Record<string, string> | null };
    try {
      info = await this.call(`inspect network ${name}`, () => this.docker.getNetwork(name).inspect());
    } catch (error) {
      if (statusOf(error) === 404) throw new RuntimeError('invalid_argument', `network ${name} does not exist (create it with createNetwork)`);
      throw translateDockerError(error, `inspect network ${name}`, 'engine_error');
    }
    if (info.Internal !== true || info.Labels?.['orcaops.managed'] !== 'true') {
      throw new RuntimeError('invalid_argument', `network ${name} is not an internal OrcaOps network`);
    }
    return info.Id;
  }

  async prepareEgressGateway(): Promise<{ address: string }> {
    return { address: await this.ensureEgressNetwork() };
  }

  openEgressPort(port: number): Promise<void> {
    return openGatewayPort(port);
  }

  closeEgressPort(port: number): Promise<void> {
    return closeGatewayPort(port);
  }

  async reconcileHostFirewall(): Promise<{ gatewayPorts: number[]; internalBridges: string[] }> {
    const internalBridges = await removeStaleInternalBridges();
    let gateway: string | undefined;
    try {
      const info = await this.call(`inspect network ${EGRESS_NETWORK}`, () => this.docker.getNetwork(EGRESS_NETWORK).inspect());
      gateway = (info as { IPAM?: { Config?: Array<{ Gateway?: string }> } }).IPAM?.Config?.find((c) => c.Gateway)?.Gateway;
    } catch (error) {
      if (statusOf(error) !== 404) throw translateDockerError(error, `inspect network ${EGRESS_NETWORK}`, 'engine_error');
    }
    return { gatewayPorts: gateway ? await removeStaleGatewayPorts(gateway) : [], internalBridges };
  }

  /**
   * The opt-in egress bridge, created on first use (internal, icc off), and its host firewall; answers
   * the bridge's host address, where the egress gateway listens. A container never starts on the
   * bridge before the firewall is in place.
   */
  private async ensureEgressNetwork(): Promise<string> {
    let info: { IPAM?: { Config?: Array<{ Gateway?: string }> } } | undefined;
    try {
      info = await this.call(`inspect network ${EGRESS_NETWORK}`, () => this.docker.getNetwork(EGRESS_NETWORK).inspect());
    } catch (error) {
      if (statusOf(error) !== 404) throw translateDockerError(error, `inspect network ${EGRESS_NETWORK}`, 'engine_error');
    }
    if (!info) {
      try {
        await this.call(`create network ${EGRESS_NETWORK}`, (abortSignal) => this.docker.createNetwork({ ...buildEgressNetworkOptions(), abortSignal }));
      } catch (error) {
        // 409: created concurrently
        if (statusOf(error) !== 409) throw translateDockerError(error, `create network ${EGRESS_NETWORK}`, 'engine_error');
      }
      info = await this.call(`inspect network ${EGRESS_NETWORK}`, () => this.docker.getNetwork(EGRESS_NETWORK).inspect());
    }
    await installEgressFirewall(EGRESS_BRIDGE);
    const gateway = info?.IPAM?.Config?.find((c) => c.Gateway)?.Gateway;
    if (!gateway) throw new RuntimeError('engine_error', `network ${EGRESS_NETWORK} has no gateway address`);
    await removeStaleGatewayPorts(gateway);
    return gateway;
  }

  /**
   * The tmpfs behind a workspace volume is mounted, and holds data, only while its container runs: the
   * archive API on a created or exited container mounts a fresh, empty tmpfs and drops what it wrote.
   * Refuse instead of losing files silently (checked on Docker 20.10).
   */
  private async assertWorkspaceMounted(id: string, path: string, what: string): Promise<void> {
    const state = await this.inspect(id);
    if (!state) throw new RuntimeError('container_not_found', `${what}: No such container: ${id}`);
    const normalized = posix.normalize(path);
    const onWorkspace = normalized === WORKSPACE_PATH || normalized.startsWith(`${WORKSPACE_PATH}/`);
    const mounted = state.status === 'running' || state.status === 'paused';
    if (onWorkspace && state.labels[WORKSPACE_VOLUME_LABEL] !== undefined && !mounted) {
      throw new RuntimeError('conflict', `${what}: the workspace of container ${id} exists only while it runs (status ${state.status})`);
    }
  }

  /** A mistyped name would otherwise make the engine create an unsized, disk-backed volume at /workspace. */
  private async assertWorkspaceVolume(name: string): Promise<void> {
    assertName(name, 'workspace volume');
    let volume: Docker.VolumeInspectInfo;
    try {
      volume = await this.call(`inspect volume ${name}`, (abortSignal) => this.docker.getVolume(name).inspect({ abortSignal }));
    } catch (error) {
      if (statusOf(error) === 404) throw new RuntimeError('invalid_argument', `volume ${name} does not exist (create it with createWorkspaceVolume or createDataVolume)`);
      throw translateDockerError(error, `inspect volume ${name}`, 'engine_error');
    }
    if (!isSizedTmpfsVolume(volume)) throw new RuntimeError('invalid_argument', `volume ${name} is not a size-capped tmpfs workspace volume`);
  }
}

/** `docker logs` of a container without a TTY: 8-byte frame headers (stream, size) before each chunk. */
function demuxed(raw: Buffer | string): string {
  if (typeof raw === 'string') return raw;
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= raw.length) {
    const size = raw.readUInt32BE(offset + 4);
    parts.push(raw.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}

function createdAt(value: unknown): { createdAt?: string } {
  const at = toCreatedAt(value);
  return at === undefined ? {} : { createdAt: at };
}

/** The Linux bridge the engine creates for a bridge network without a `bridge.name` option. */
function bridgeOf(networkId: string): string {
  return `br-${networkId.slice(0, 12)}`;
}
