import { posix } from 'node:path';
import { Readable } from 'node:stream';
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
import { WORKSPACE_VOLUME_LABEL, workspaceVolumeName } from 'src/runtime/container-runtime.port';
import type { HardenedCreateBody } from 'src/runtime/docker/hardening';
import { buildCreateOptions, buildDataVolumeOptions, buildWorkspaceVolumeOptions, isCompressedArchive, toLabelFilters, WORKSPACE_PATH } from 'src/runtime/docker/hardening';
import type { RuntimeErrorCode } from 'src/runtime/runtime.errors';
import { ImagePullError, RuntimeError } from 'src/runtime/runtime.errors';
import { parseImageReference } from 'src/runtime/image-reference';

/** What a scripted exec does. Default: exit 0, no output. */
export interface FakeExecScript {
  /** Delivered through onOutput in this order, before the exec resolves. */
  output?: Array<['stdout' | 'stderr', string | Buffer]>;
  exitCode?: number;
  /** Runs until its timeoutMs, its signal, or the container stopping (then exit 137), like `sleep infinity`. */
  hang?: boolean;
  /** Reported durationMs (the fake takes no time). */
  durationMs?: number;
}

/** Which execs a script applies to: the argv joined by spaces, the exact argv, or a predicate. */
export type FakeExecMatcher = string | string[] | ((command: string[]) => boolean);

export interface FakeContainer {
  id: string;
  spec: ContainerSpec;
  /** The hardened body the Docker adapter would send, for assertions on the profile. */
  createOptions: HardenedCreateBody;
  state: ContainerState;
  execs: ExecOptions[];
  archivesPut: Array<{ destinationDir: string; tar: Buffer }>;
  /** Served by getArchive(path); set with setArchive. */
  archives: Map<string, Buffer>;
  stats: ContainerStats;
}

export interface FakeVolume {
  name: string;
  sizeBytes: number;
  labels: Record<string, string>;
  owner: string;
}

type Method = keyof ContainerRuntime;

const SIGNALS: Record<string, number> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGHUP: 1, SIGQUIT: 3, SIGUSR1: 10, SIGUSR2: 12 };

/**
 * In-memory engine for unit tests of logic: deterministic ids, scriptable execs, failure injection and a
 * record of every call. It validates specs with the same buildCreateOptions as the Docker adapter.
 * Behaviour that involves Docker itself (isolation, limits, kills) is tested on the real engine.
 */
export class FakeRuntime implements ContainerRuntime {
  /** false: every call throws RuntimeError('engine_unavailable'). */
  available = true;
  readonly images = new Map<string, ImageInfo>();
  readonly volumes = new Map<string, FakeVolume>();
  readonly containers = new Map<string, FakeContainer>();
  readonly networks = new Map<string, Record<string, string>>();
  readonly calls: Array<{ method: Method; args: unknown[] }> = [];

  private readonly scripts: Array<{ match: FakeExecMatcher; script: FakeExecScript }> = [];
  private readonly mainScripts: Array<{ match: FakeExecMatcher; script: FakeExecScript }> = [];
  private readonly responders: Array<{ match: FakeExecMatcher; respond: (command: string[]) => FakeExecScript }> = [];
  /** Output listeners from attach(), per container: a scripted main process writes to them. */
  private readonly attached = new Map<string, Array<(stream: 'stdout' | 'stderr', chunk: Buffer) => void>>();
  private readonly failures = new Map<Method, RuntimeError[]>();
  /** Resolvers of hanging execs and waits, per container, run when it stops. */
  private readonly onStop = new Map<string, Array<() => void>>();
  private sequence = 0;
  /**
   * Images a pull can fetch, by normalised `repository:tag` (image-reference.ts): the digest and size
   * the pulled image gets, and the credentials the fake registry wants (none: anonymous).
   */
  readonly registry = new Map<string, { digest: string; sizeBytes: number; auth?: { username: string; password: string } }>();
  /** Registry hosts that do not answer (pulls fail with registry_unreachable). */
  readonly unreachableRegistries = new Set<string>();
  /** While set, pulls wait for it (tests hold a pull open to see concurrent callers share it). */
  pullGate: Promise<void> | undefined;

  // ---- scripting -------------------------------------------------------------------------------

  addImage(reference: string, info: Partial<ImageInfo> = {}): ImageInfo {
    const ref = withTag(reference);
    const image: ImageInfo = { id: `sha256:fake-image-${++this.sequence}`, tags: [ref], sizeBytes: 0, createdAt: '2020-01-01T00:00:00Z', user: '', ...info };
    this.images.set(ref, image);
    return image;
  }

  /** Queues a script for the next exec whose argv matches (each script is used once, first match wins). */
  scriptExec(match: FakeExecMatcher, script: FakeExecScript): this {
    this.scripts.push({ match, script });
    return this;
  }

  /**
   * Answers every exec whose argv matches (after the queued scripts) with a script built from the
   * command itself: for programs whose expected output depends on their arguments (e.g. a marker).
   */
  respondToExecs(match: FakeExecMatcher, respond: (command: string[]) => FakeExecScript): this {
    this.responders.push({ match, respond });
    return this;
  }

  /**
   * Queues a script for the main process of the next container started whose command matches: its
   * output goes to attach() listeners, then the container exits with its exitCode (`hang`: it runs
   * until killed, the default for a container no script matches, like `sleep infinity`).
   */
  scriptMain(match: FakeExecMatcher, script: FakeExecScript): this {
    this.mainScripts.push({ match, script });
    return this;
  }

  /** The next call of `method` throws this error (queued, once each). */
  failNext(method: Method, error: RuntimeError | RuntimeErrorCode): this {
    const list = this.failures.get(method) ?? [];
    list.push(typeof error === 'string' ? new RuntimeError(error, `fake ${method} failed (${error})`) : error);
    this.failures.set(method, list);
    return this;
  }

  /** The container's main process ends (e.g. the job's command finished, or was OOM-killed). */
  exitContainer(id: string, exitCode: number, options: { oomKilled?: boolean } = {}): void {
    const container = this.mustGet(id);
    if (container.state.status !== 'running') return;
    Object.assign(container.state, {
      status: 'exited',
      exitCode,
      oomKilled: options.oomKilled ?? false,
      finishedAt: new Date().toISOString(),
    });
    this.stopped(id);
  }

  setStats(id: string, stats: Partial<ContainerStats>): void {
    const container = this.mustGet(id);
    container.stats = { ...container.stats, ...stats };
  }

  setArchive(id: string, path: string, tar: Buffer): void {
    this.mustGet(id).archives.set(path, tar);
  }

  callsOf(method: Method): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  // ---- ContainerRuntime ------------------------------------------------------------------------

  ping(): Promise<EngineInfo> {
    return this.run('ping', [], () => ({ version: 'fake', apiVersion: '1.41', os: 'linux/amd64', cgroupVersion: '1', runtime: 'fake', runtimeVersion: 'fake 1.0' }));
  }

  inspectImage(reference: string): Promise<ImageInfo | undefined> {
    return this.run('inspectImage', [reference], () => this.findImage(reference));
  }

  async pullImage(reference: string, options: PullOptions = {}): Promise<void> {
    this.enter('pullImage', [reference, options.auth ? { ...options.auth, password: '***' } : undefined]);
    if (this.pullGate) await this.pullGate;
    const ref = parseImageReference(reference);
    if (this.unreachableRegistries.has(ref.registry)) throw new ImagePullError('registry_unreachable', `pull of ${reference}: connect: connection refused`);
    const entry = ref.digest
      ? [...this.registry.entries()].find(([key, e]) => e.digest === ref.digest && parseImageReference(key).repository === ref.repository)?.[1]
      : this.registry.get(`${ref.repository}:${ref.tag}`);
    const wanted = entry?.auth ?? [...this.registry.entries()].find(([key]) => parseImageReference(key).registry === ref.registry)?.[1].auth;
    if (wanted && (options.auth?.username !== wanted.username || options.auth?.password !== wanted.password)) {
      throw new ImagePullError('unauthorized', `pull of ${reference}: ${options.auth ? 'unauthorized: authentication required' : 'no basic auth credentials'}`);
    }
    if (!entry) throw new ImagePullError('not_found', `pull of ${reference}: manifest unknown`);
    options.onProgress?.({ layers: 1, layersDone: 1, downloadedBytes: entry.sizeBytes, totalBytes: entry.sizeBytes, complete: true });
    const tagged = ref.tag ? `${ref.repository}:${ref.tag}` : `${ref.repository}@${entry.digest}`;
    const existing = [...this.images.values()].find((i) => i.id === `sha256:fake-${entry.digest.slice(7, 19)}`);
    const image: ImageInfo = existing ?? { id: `sha256:fake-${entry.digest.slice(7, 19)}`, tags: [], sizeBytes: entry.sizeBytes, createdAt: '2020-01-01T00:00:00Z', user: '', repoDigests: [] };
    if (ref.tag && !image.tags.includes(tagged)) image.tags.push(tagged);
    if (!image.repoDigests?.includes(`${ref.repository}@${entry.digest}`)) image.repoDigests = [...(image.repoDigests ?? []), `${ref.repository}@${entry.digest}`];
    this.images.set(tagged, image);
  }

  listImages(): Promise<ImageSummary[]> {
    return this.run('listImages', [], () => {
      const unique = new Map([...this.images.values()].map((image) => [image.id, image]));
      return [...unique.values()].map((image) => {
        const using = this.containersUsing(image);
        return {
          id: image.id,
          tags: [...image.tags],
          repoDigests: [...(image.repoDigests ?? [])],
          sizeBytes: image.sizeBytes,
          createdAt: Date.parse(image.createdAt) || 0,
          labels: { ...(image.labels ?? {}) },
          containers: using.length,
          runningContainers: using.filter((c) => c.state.status === 'running').length,
        };
      });
    });
  }

  removeImage(reference: string, options: { force?: boolean } = {}): Promise<void> {
    return this.run('removeImage', [reference], () => {
      const image = this.findImage(reference);
      if (!image) return;
      if (options.force || image.id === reference) {
        // Forced, or by id: every name of the image goes (the engine refuses an id with several names
        // unless forced; the callers that pass an id own the image).
        for (const [key, value] of [...this.images.entries()]) if (value === image) this.images.delete(key);
        return;
      }
      const canonical = canonicalOrNull(reference);
      const same = (r: string) => r === reference || r === withTag(reference) || (canonical !== null && canonicalOrNull(r) === canonical);
      const tags = image.tags.filter((t) => !same(t));
      const repoDigests = (image.repoDigests ?? []).filter((d) => !same(d));
      const last = tags.length + repoDigests.length === 0;
      // Like the engine without force: the last name of an image a container uses stays.
      if (last && this.containersUsing(image).length) throw new RuntimeError('conflict', `remove image ${reference}: image is being used by a container`);
      image.tags = tags;
      image.repoDigests = repoDigests;
      for (const [key, value] of [...this.images.entries()]) if (value === image && (last || same(key))) this.images.delete(key);
    });
  }

  async importImage(rootfsTar: Readable, repository: string, tag: string, changes: string[]): Promise<ImageInfo> {
    this.enter('importImage', [rootfsTar, repository, tag, changes]);
    let size = 0;
    for await (const chunk of rootfsTar) size += (chunk as Buffer).length;
    const ref = `${repository}:${tag}`;
    const info: ImageInfo = { id: `sha256:fake-image-${++this.sequence}`, tags: [ref], sizeBytes: size, createdAt: new Date().toISOString(), user: userFrom(changes) };
    this.images.set(ref, info);
    return info;
  }

  /** While set, the next buildImage fails with this error (the engine's words for a failing step). */
  buildFailure: string | undefined;

  buildImage(context: Buffer, options: ImageBuildOptions): Promise<ImageBuildResult> {
    return this.run('buildImage', [context.length, { ...options, signal: undefined, onOutput: undefined }], (): ImageBuildResult => {
      options.onOutput?.(`Step 1/1 : fake build of ${options.tag}\n`);
      const failure = this.buildFailure;
      this.buildFailure = undefined;
      if (failure) {
        options.onOutput?.(`${failure}\n`);
        return { status: 'failed', error: failure };
      }
      const image: ImageInfo = { id: `sha256:fake-build-${++this.sequence}`, tags: [options.tag], sizeBytes: context.length, createdAt: new Date().toISOString(), user: '', labels: { ...options.labels } };
      this.images.set(withTag(options.tag), image);
      options.onOutput?.(`Successfully tagged ${options.tag}\n`);
      return { status: 'succeeded', image };
    });
  }


  createWorkspaceVolume(name: string, sizeBytes: number, labels: Record<string, string>, owner = '65534:65534'): Promise<void> {
    return this.run('createWorkspaceVolume', [name, sizeBytes, labels, owner], () => {
      buildWorkspaceVolumeOptions(name, sizeBytes, labels, owner);
      const existing = this.volumes.get(name);
      if (existing && (existing.sizeBytes !== sizeBytes || existing.owner !== owner)) throw new RuntimeError('conflict', `volume ${name} already exists with other options`);
      this.volumes.set(name, { name, sizeBytes, labels: { ...labels }, owner });
    });
  }

  createDataVolume(name: string, sizeBytes: number, labels: Record<string, string>, owner?: string): Promise<void> {
    return this.run('createDataVolume', [name, sizeBytes, labels, owner], () => {
      buildDataVolumeOptions(name, sizeBytes, labels, owner);
      this.volumes.set(name, { name, sizeBytes, labels: { ...labels }, owner: owner ?? '0:0' });
    });
  }

  removeVolume(name: string): Promise<void> {
    return this.run('removeVolume', [name], () => {
      const inUse = [...this.containers.values()].some((c) => c.spec.workspaceVolume === name || (c.spec.volumes ?? []).some((v) => v.name === name));
      if (inUse) throw new RuntimeError('conflict', `volume ${name} is in use`);
      this.volumes.delete(name);
    });
  }

  listVolumes(labels: Record<string, string>): Promise<EngineObjectSummary[]> {
    return this.run('listVolumes', [labels], () => {
      toLabelFilters(labels);
      return [...this.volumes.values()].filter((v) => hasLabels(v.labels, labels)).map((v) => ({ name: v.name, labels: { ...v.labels } }));
    });
  }

  createContainer(spec: ContainerSpec): Promise<string> {
    return this.run('createContainer', [spec], () => {
      const createOptions = buildCreateOptions(spec);
      if (!this.findImage(spec.image)) throw new RuntimeError('image_not_found', `create container ${spec.name}: No such image: ${spec.image}`);
      if ([...this.containers.values()].some((c) => c.state.name === spec.name)) throw new RuntimeError('conflict', `create container ${spec.name}: name already in use`);
      if (spec.workspaceVolume !== undefined && !this.volumes.has(spec.workspaceVolume)) {
        throw new RuntimeError('invalid_argument', `workspace volume ${spec.workspaceVolume} does not exist (create it with createWorkspaceVolume)`);
      }
      const id = `fake-container-${++this.sequence}`;
      this.containers.set(id, {
        id,
        spec,
        createOptions,
        state: { id, name: spec.name, status: 'created', exitCode: null, oomKilled: false, labels: { ...createOptions.Labels }, startedAt: null, finishedAt: null },
        execs: [],
        archivesPut: [],
        archives: new Map(),
        stats: { cpuSeconds: 0, memoryBytes: 0, memoryPeakBytes: null, pids: 0, blockReadBytes: 0, blockWriteBytes: 0 },
      });
      return id;
    });
  }

  startContainer(id: string): Promise<void> {
    return this.run('startContainer', [id], () => {
      const container = this.mustGet(id);
      if (container.state.status === 'running') return;
      if (container.state.status !== 'created' && container.state.status !== 'exited') throw new RuntimeError('conflict', `start container ${id}: ${container.state.status}`);
      Object.assign(container.state, { status: 'running', exitCode: null, oomKilled: false, startedAt: new Date().toISOString(), finishedAt: null });
      this.runMain(container);
    });
  }

  async exec(id: string, options: ExecOptions): Promise<ExecResult> {
    this.enter('exec', [id, options]);
    const container = this.mustGet(id);
    if (options.signal?.aborted) return { exitCode: null, timedOut: false, aborted: true, durationMs: 0 };
    if (container.state.status !== 'running') throw new RuntimeError('conflict', `exec in container ${id}: container is not running`);
    container.execs.push(options);
    const script = this.takeScript(options.command) ?? this.responders.find(({ match }) => matches(match, options.command))?.respond(options.command) ?? {};
    for (const [stream, chunk] of script.output ?? []) options.onOutput?.(stream, Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    if (!script.hang) return { exitCode: script.exitCode ?? 0, timedOut: false, aborted: false, durationMs: script.durationMs ?? 0 };
    const ending = await this.hang(id, options);
    return { exitCode: 137, timedOut: ending === 'timeout', aborted: ending === 'abort', durationMs: script.durationMs ?? options.timeoutMs ?? 0 };
  }

  putArchive(id: string, destinationDir: string, tar: Buffer): Promise<void> {
    return this.run('putArchive', [id, destinationDir, tar], () => {
      const container = this.mustGet(id);
      if (isCompressedArchive(tar)) throw new RuntimeError('invalid_argument', 'archives must be uncompressed tar (hardening.md §3.2)');
      assertWorkspaceMounted(container, destinationDir);
      container.archivesPut.push({ destinationDir, tar });
    });
  }

  getArchive(id: string, path: string): Promise<Readable> {
    return this.run('getArchive', [id, path], () => {
      const container = this.mustGet(id);
      assertWorkspaceMounted(container, path);
      const tar = container.archives.get(path);
      if (!tar) throw new RuntimeError('path_not_found', `get archive ${id}:${path}: Could not find the file ${path} in container ${id}`);
      return Readable.from([tar]);
    });
  }

  stats(id: string): Promise<ContainerStats> {
    return this.run('stats', [id], () => ({ ...this.mustGet(id).stats }));
  }

  attach(id: string, onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => void, _options?: { signal?: AbortSignal }): Promise<{ ended: Promise<void> }> {
    this.enter('attach', [id]);
    const container = this.mustGet(id);
    this.attached.set(id, [...(this.attached.get(id) ?? []), onOutput]);
    const ended =
      container.state.status === 'exited'
        ? Promise.resolve()
        : new Promise<void>((resolve) => this.whenStopped(id, resolve));
    return Promise.resolve({ ended });
  }

  async wait(id: string): Promise<WaitResult> {
    this.enter('wait', [id]);
    const container = this.mustGet(id);
    if (container.state.status === 'running') await new Promise<void>((resolve) => this.whenStopped(id, resolve));
    return { exitCode: container.state.exitCode ?? 0, oomKilled: container.state.oomKilled };
  }

  inspect(id: string): Promise<ContainerState | undefined> {
    return this.run('inspect', [id], () => {
      const container = this.containers.get(id);
      return container ? { ...container.state, labels: { ...container.state.labels } } : undefined;
    });
  }

  kill(id: string, signal = 'SIGKILL'): Promise<void> {
    return this.run('kill', [id, signal], () => {
      const container = this.mustGet(id);
      if (container.state.status !== 'running') return;
      const number = SIGNALS[signal.startsWith('SIG') ? signal : `SIG${signal}`] ?? 9;
      Object.assign(container.state, { status: 'exited', exitCode: 128 + number, finishedAt: new Date().toISOString() });
      this.stopped(id);
    });
  }

  remove(id: string): Promise<void> {
    return this.run('remove', [id], () => {
      const container = this.containers.get(id);
      if (!container) return;
      this.containers.delete(id);
      this.stopped(id);
      this.volumes.delete(container.state.labels[WORKSPACE_VOLUME_LABEL] ?? workspaceVolumeName(container.state.name));
    });
  }

  listContainers(labels: Record<string, string>): Promise<ContainerSummary[]> {
    return this.run('listContainers', [labels], () => {
      toLabelFilters(labels);
      return [...this.containers.values()]
        .filter((c) => hasLabels(c.state.labels, labels))
        .map((c) => ({ id: c.id, name: c.state.name, status: c.state.status, labels: { ...c.state.labels } }));
    });
  }

  logs(id: string, tailBytes: number): Promise<string> {
    return this.run('logs', [id, tailBytes], () => {
      this.mustGet(id);
      return '';
    });
  }

  /** No bridge in memory: the gateway listens on loopback. */
  prepareEgressGateway(): Promise<{ address: string }> {
    return Promise.resolve({ address: '127.0.0.1' });
  }

  openEgressPort(): Promise<void> {
    return Promise.resolve();
  }

  closeEgressPort(): Promise<void> {
    return Promise.resolve();
  }

  /** No host firewall in memory. */
  reconcileHostFirewall(): Promise<{ gatewayPorts: number[]; internalBridges: string[] }> {
    return Promise.resolve({ gatewayPorts: [], internalBridges: [] });
  }

  createNetwork(name: string, labels: Record<string, string>): Promise<void> {
    return this.run('createNetwork', [name, labels], () => {
      this.networks.set(name, { ...labels, 'orcaops.managed': 'true' });
    });
  }

  removeNetwork(name: string): Promise<void> {
    return this.run('removeNetwork', [name], () => {
      this.networks.delete(name);
    });
  }

  listNetworks(labels: Record<string, string>): Promise<EngineObjectSummary[]> {
    return this.run('listNetworks', [labels], () => {
      toLabelFilters(labels);
      return [...this.networks.entries()].filter(([, l]) => hasLabels(l, labels)).map(([name, l]) => ({ name, labels: { ...l } }));
    });
  }

  // ---- internals -------------------------------------------------------------------------------

  /** Records the call, then fails if the engine is down or a failure was queued for this method. */
  private enter(method: Method, args: unknown[]): void {
    this.calls.push({ method, args });
    if (!this.available) throw new RuntimeError('engine_unavailable', 'Docker engine unreachable (fake engine is down)');
    const queued = this.failures.get(method)?.shift();
    if (queued) throw queued;
  }

  /** Async like the real adapter: errors become rejections, never synchronous throws. */
  private run<T>(method: Method, args: unknown[], body: () => T): Promise<T> {
    try {
      this.enter(method, args);
      return Promise.resolve(body());
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private mustGet(id: string): FakeContainer {
    const container = this.containers.get(id) ?? [...this.containers.values()].find((c) => c.state.name === id);
    if (!container) throw new RuntimeError('container_not_found', `No such container: ${id}`);
    return container;
  }

  private containersUsing(image: ImageInfo): FakeContainer[] {
    return [...this.containers.values()].filter((c) => c.spec.image === image.id || this.findImage(c.spec.image) === image);
  }

  private findImage(reference: string): ImageInfo | undefined {
    const exact = this.images.get(withTag(reference)) ?? [...this.images.values()].find((i) => i.id === reference);
    if (exact) return exact;
    // Like the engine: `python`, `docker.io/library/python:latest` and a pinned digest name one image.
    const canonical = canonicalOrNull(reference);
    if (!canonical) return undefined;
    return [...this.images.values()].find(
      (i) => i.tags.some((t) => canonicalOrNull(t) === canonical) || (i.repoDigests ?? []).some((d) => canonicalOrNull(d) === canonical),
    );
  }

  private takeScript(command: string[], scripts = this.scripts): FakeExecScript | undefined {
    const index = scripts.findIndex(({ match }) => matches(match, command));
    if (index < 0) return undefined;
    return scripts.splice(index, 1)[0]?.script;
  }

  /** A scripted main process writes its output, then ends (a process exiting makes its container exit). */
  private runMain(container: FakeContainer): void {
    const script = this.takeScript(container.spec.command, this.mainScripts);
    if (!script || script.hang) return;
    for (const [stream, chunk] of script.output ?? []) {
      for (const listener of this.attached.get(container.id) ?? []) listener(stream, Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    }
    this.exitContainer(container.id, script.exitCode ?? 0);
  }

  private hang(id: string, options: ExecOptions): Promise<'timeout' | 'abort' | 'stopped'> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (how: 'timeout' | 'abort' | 'stopped'): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        resolve(how); // later calls are no-ops
      };
      const onAbort = (): void => finish('abort');
      if (options.timeoutMs !== undefined) timer = setTimeout(() => finish('timeout'), options.timeoutMs);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.whenStopped(id, () => finish('stopped'));
    });
  }

  private whenStopped(id: string, callback: () => void): void {
    const list = this.onStop.get(id) ?? [];
    list.push(callback);
    this.onStop.set(id, list);
  }

  private stopped(id: string): void {
    const callbacks = this.onStop.get(id) ?? [];
    this.onStop.delete(id);
    this.attached.delete(id);
    for (const callback of callbacks) callback();
  }
}

/** Same rule as the Docker adapter: a tmpfs workspace exists only while its container runs. */
function assertWorkspaceMounted(container: FakeContainer, path: string): void {
  const normalized = posix.normalize(path);
  const onWorkspace = normalized === WORKSPACE_PATH || normalized.startsWith(`${WORKSPACE_PATH}/`);
  const mounted = container.state.status === 'running' || container.state.status === 'paused';
  if (onWorkspace && container.spec.workspaceVolume !== undefined && !mounted) {
    throw new RuntimeError('conflict', `the workspace of container ${container.id} exists only while it runs (status ${container.state.status})`);
  }
}

function canonicalOrNull(reference: string): string | null {
  try {
    return parseImageReference(reference).canonical;
  } catch {
    return null;
  }
}

function withTag(reference: string): string {
  const lastPart = reference.split('/').pop() ?? reference;
  return reference.startsWith('sha256:') || lastPart.includes(':') ? reference : `${reference}:latest`;
}

function hasLabels(actual: Record<string, string>, wanted: Record<string, string>): boolean {
  return Object.entries(wanted).every(([key, value]) => actual[key] === value);
}

function matches(match: FakeExecMatcher, command: string[]): boolean {
  if (typeof match === 'function') return match(command);
  if (Array.isArray(match)) return match.length === command.length && match.every((arg, i) => arg === command[i]);
  return match === command.join(' ');
}

function userFrom(changes: string[]): string {
  const change = [...changes].reverse().find((c) => /^USER\s+/i.test(c));
  return change ? change.replace(/^USER\s+/i, '').trim() : '';
}
