import type { ContainerHealthcheck, ContainerNetwork, ContainerResources, ContainerSpec, TmpfsMount } from 'src/runtime/container-runtime.port';
import { SANDBOX_USER, SERVICE_CAPABILITIES, WORKSPACE_VOLUME_LABEL } from 'src/runtime/container-runtime.port';
import { RuntimeError } from 'src/runtime/runtime.errors';

/**
 * The container profile of docs hardening.md §1 / §1.1, built from typed fields only: nothing a request
 * sends reaches the engine as a raw option (mass assignment, §1 "None of these fields may be reachable").
 */

export const WORKSPACE_PATH = '/workspace';
/**
 * Opt-in egress network (issue 14): an internal bridge (no route out: the engine drops forwarding to any
 * other interface) with inter-container traffic off. Its only way out is the OrcaOps egress gateway,
 * which listens on the bridge's host address; a host firewall (egress-firewall.ts) rejects everything
 * else arriving from the bridge. The fixed bridge name lets the firewall rules name the interface.
 */
export const EGRESS_NETWORK = 'orcaops-egress-filtered';
export const EGRESS_BRIDGE = 'orcaegress0';
/** The Docker default, stated so /dev/shm stays bounded whatever the daemon's default is. */
export const SHM_BYTES = 64 * 1024 * 1024;
/** json-file is unbounded by default; 73 MB in 3 s of `yes` was observed (§1 #16). */
export const LOG_CONFIG = { Type: 'json-file', Config: { 'max-size': '2m', 'max-file': '1' } } as const;

export interface Ulimit {
  Name: 'nofile' | 'core' | 'fsize';
  Soft: number;
  Hard: number;
}

/** Exactly the fields we send to POST /containers/create: a closed set, so nothing else can slip in. */
export interface HardenedCreateBody {
  name: string;
  Image: string;
  Cmd?: string[];
  Entrypoint?: string[];
  Env: string[];
  Labels: Record<string, string>;
  /** '' (service profile only): the image's own user. */
  User: string;
  /** Absent (service profile only): the image's own working directory. */
  WorkingDir?: string;
  /** Absent when the container joins another's network namespace (the engine rejects a hostname then). */
  Hostname?: 'sandbox';
  Healthcheck?: { Test: string[]; Interval: number; Timeout: number; Retries: number; StartPeriod: number };
  NetworkingConfig?: { EndpointsConfig: Record<string, { Aliases: string[] }> };
  HostConfig: {
    NetworkMode: string;
    ExtraHosts?: string[];
    CapDrop: ['ALL'];
    /** Only for the `service` profile, and only SERVICE_CAPABILITIES. */
    CapAdd?: Array<(typeof SERVICE_CAPABILITIES)[number]>;
    SecurityOpt: ['no-new-privileges:true'];
    Privileged: false;
    ReadonlyRootfs: true;
    /** /tmp always; /workspace without a workspace volume; validated extra paths (TmpfsMount). */
    Tmpfs: Record<string, string>;
    Mounts?: Array<{ Type: 'volume'; Source: string; Target: string; ReadOnly: boolean; VolumeOptions: { NoCopy: true } }>;
    Memory: number;
    MemorySwap: number;
    NanoCpus: number;
    PidsLimit: number;
    Ulimits: Ulimit[];
    Init: true;
    LogConfig: typeof LOG_CONFIG;
    IpcMode: 'private';
    ShmSize: number;
    RestartPolicy: { Name: 'no' };
    AutoRemove: false;
  };
}

export interface WorkspaceVolumeBody {
  Name: string;
  Driver: 'local';
  DriverOpts: { type: 'tmpfs'; device: 'tmpfs'; o: string };
  Labels: Record<string, string>;
}

export interface InternalNetworkBody {
  Name: string;
  Driver: 'bridge';
  CheckDuplicate: true;
  Internal: true;
  Labels: Record<string, string>;
}

export interface EgressNetworkBody {
  Name: string;
  Driver: 'bridge';
  CheckDuplicate: true;
  Internal: true;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,199}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NON_ROOT_USER = /^[1-9][0-9]{0,9}:[1-9][0-9]{0,9}$/;
/** user[:group] by name or number (service profile): no spaces, no path or option characters. */
const ANY_USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,31})?$/;
/** Mount points the tmpfs/volume options may use: absolute, plain characters, no `..`. */
const MOUNT_PATH = /^(\/[A-Za-z0-9_.@+-]+)+$/;
const RESERVED_MOUNTS = ['/proc', '/sys', '/dev', '/etc'];

function invalid(message: string): RuntimeError {
  return new RuntimeError('invalid_argument', message);
}

function assertNoNul(value: string, what: string): void {
  if (value.includes('\0')) throw invalid(`${what} contains a NUL byte`);
}

export function assertName(value: string, what: string): void {
  if (!NAME.test(value)) throw invalid(`${what} ${JSON.stringify(value)} is not a valid engine name`);
}

/** uid:gid, numeric, neither 0: hardening.md §1 #2 (and numeric ids need no /etc/passwd lookup). */
export function assertNonRootUser(user: string): void {
  if (!NON_ROOT_USER.test(user)) throw invalid(`user ${JSON.stringify(user)} must be a numeric non-root uid:gid`);
}

/** Zero means "unlimited" for Memory, PidsLimit, NanoCpus and tmpfs size=, so only positive integers pass. */
function assertPositiveInteger(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value <= 0) throw invalid(`${what} must be a positive integer (got ${value})`);
}

export function assertAbsolutePath(path: string, what: string): void {
  assertNoNul(path, what);
  if (!path.startsWith('/')) throw invalid(`${what} ${JSON.stringify(path)} must be an absolute path`);
}

export function assertArgv(argv: string[], what: string): void {
  if (!Array.isArray(argv) || argv.some((a) => typeof a !== 'string')) throw invalid(`${what} must be an array of strings`);
  for (const arg of argv) assertNoNul(arg, what);
}

/** KEY=VALUE list; a key with '=' or NUL would smuggle a second variable. */
export function toEnvList(env: Record<string, string>): string[] {
  return Object.entries(env).map(([key, value]) => {
    if (!ENV_NAME.test(key)) throw invalid(`environment variable name ${JSON.stringify(key)} is not valid`);
    if (typeof value !== 'string') throw invalid(`environment variable ${key} must be a string`);
    assertNoNul(value, `environment variable ${key}`);
    return `${key}=${value}`;
  });
}

/** Engine label filters ("k=v"); an empty set would match every container on the host, so it is refused. */
export function toLabelFilters(labels: Record<string, string>): string[] {
  const entries = Object.entries(labels);
  if (entries.length === 0) throw invalid('at least one label is required to list engine objects');
  return entries.map(([key, value]) => `${key}=${value}`);
}

function assertResources(r: ContainerResources): void {
  if (!Number.isFinite(r.cpus) || r.cpus <= 0) throw invalid(`resources.cpus must be a positive number (got ${r.cpus})`);
  assertPositiveInteger(Math.round(r.cpus * 1e9), 'resources.cpus × 10⁹');
  assertPositiveInteger(r.memoryBytes, 'resources.memoryBytes');
  assertPositiveInteger(r.pidsLimit, 'resources.pidsLimit');
  assertPositiveInteger(r.tmpBytes, 'resources.tmpBytes');
  assertPositiveInteger(r.workspaceBytes, 'resources.workspaceBytes');
  assertPositiveInteger(r.nofile, 'resources.nofile');
}

function networkMode(network: ContainerNetwork): string {
  // Runtime check too: the value may come from a stored row, not only from typed code.
  if (network === 'none') return 'none';
  if (network === 'egress') return EGRESS_NETWORK;
  throw invalid(`network ${JSON.stringify(network)} is not allowed`);
}

const CONTAINER_ID = /^[a-f0-9]{12,64}$/;
const HOST_ALIAS = /^[A-Za-z0-9]([A-Za-z0-9_.-]{0,62})$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** NetworkMode plus endpoint aliases for a spec; attachments are validated names, never raw engine options. */
function networkConfig(spec: ContainerSpec): Pick<HardenedCreateBody, 'NetworkingConfig'> & { mode: string } {
  const attach = spec.attach;
  if (!attach) return { mode: networkMode(spec.network) };
  if ('container' in attach) {
    if (!CONTAINER_ID.test(attach.container) && !NAME.test(attach.container)) throw invalid(`container ${JSON.stringify(attach.container)} is not a valid container reference`);
    return { mode: `container:${attach.container}` };
  }
  assertName(attach.network, 'network name');
  if (attach.network === EGRESS_NETWORK || ['bridge', 'host', 'none', 'default'].includes(attach.network)) {
    throw invalid(`network ${attach.network} cannot be attached to; use an internal network from createNetwork`);
  }
  for (const alias of attach.aliases) if (!HOST_ALIAS.test(alias)) throw invalid(`network alias ${JSON.stringify(alias)} is not valid`);
  return { mode: attach.network, NetworkingConfig: { EndpointsConfig: { [attach.network]: { Aliases: [...attach.aliases] } } } };
}

function extraHosts(spec: ContainerSpec): string[] | undefined {
  const entries = Object.entries(spec.extraHosts ?? {});
  if (!entries.length) return undefined;
  if (spec.attach && 'container' in spec.attach) throw invalid('extraHosts cannot be combined with a shared network namespace');
  return entries.map(([name, ip]) => {
    if (!HOST_ALIAS.test(name)) throw invalid(`host name ${JSON.stringify(name)} is not valid`);
    if (!IPV4.test(ip) || ip.split('.').some((o) => Number(o) > 255)) throw invalid(`host address ${JSON.stringify(ip)} is not an IPv4 address`);
    return `${name}:${ip}`;
  });
}

function healthcheck(h: ContainerHealthcheck): NonNullable<HardenedCreateBody['Healthcheck']> {
  assertArgv(h.test, 'healthcheck test');
  if (h.test[0] !== 'CMD' && h.test[0] !== 'CMD-SHELL') throw invalid('healthcheck test must start with CMD or CMD-SHELL');
  if (h.test.length < 2) throw invalid('healthcheck test needs a command');
  const ns = (ms: number, what: string): number => {
    if (!Number.isSafeInteger(ms) || ms < 1) throw invalid(`healthcheck ${what} must be a positive number of milliseconds`);
    return ms * 1_000_000;
  };
  if (!Number.isSafeInteger(h.retries) || h.retries < 1) throw invalid('healthcheck retries must be a positive integer');
  return { Test: [...h.test], Interval: ns(h.intervalMs, 'interval'), Timeout: ns(h.timeoutMs, 'timeout'), Retries: h.retries, StartPeriod: h.startPeriodMs > 0 ? ns(h.startPeriodMs, 'start period') : 0 };
}

function assertMountPath(path: string, what: string): void {
  if (!MOUNT_PATH.test(path) || path.split('/').includes('..') || RESERVED_MOUNTS.some((r) => path === r || path.startsWith(`${r}/`))) {
    throw invalid(`${what} ${JSON.stringify(path)} is not an allowed mount point`);
  }
}

/** Extra tmpfs mounts: always nosuid,nodev and size-capped; never over /tmp or /workspace (set apart). */
function extraTmpfs(mounts: TmpfsMount[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of mounts) {
    assertMountPath(m.path, 'tmpfs path');
    if (m.path === '/tmp' || m.path === WORKSPACE_PATH || out[m.path] !== undefined) throw invalid(`tmpfs path ${m.path} is already mounted`);
    assertPositiveInteger(m.sizeBytes, `tmpfs ${m.path} size`);
    const mode = m.mode ?? '1777';
    if (!/^[0-7]{3,4}$/.test(mode)) throw invalid(`tmpfs mode ${JSON.stringify(mode)} is not octal`);
    out[m.path] = `rw,nosuid,nodev,${m.exec ? 'exec' : 'noexec'},size=${m.sizeBytes},mode=${mode}`;
  }
  return out;
}

/** Named volumes only (Type volume, never a bind); the adapter also checks each is a sized tmpfs volume. */
function dataMounts(spec: ContainerSpec, tmpfs: Record<string, string>): NonNullable<HardenedCreateBody['HostConfig']['Mounts']> {
  const targets = new Set<string>();
  return (spec.volumes ?? []).map((v) => {
    assertName(v.name, 'volume name');
    assertMountPath(v.target, 'volume target');
    if (v.target === WORKSPACE_PATH || v.target === '/tmp' || tmpfs[v.target] !== undefined || targets.has(v.target)) throw invalid(`volume target ${v.target} is already mounted`);
    // A job's workspace holds its steps' files and artifacts: nothing may be mounted over part of it.
    if (spec.profile !== 'service' && v.target.startsWith(`${WORKSPACE_PATH}/`)) throw invalid(`volume target ${v.target} is inside the workspace`);
    targets.add(v.target);
    return { Type: 'volume', Source: v.name, Target: v.target, ReadOnly: v.readOnly === true, VolumeOptions: { NoCopy: true } };
  });
}

/** The user a spec runs as: strict → numeric non-root (default nobody); service → validated, '' = the image's. */
function userFor(spec: ContainerSpec): string {
  if (spec.profile === 'service') {
    if (spec.user !== undefined && !ANY_USER.test(spec.user)) throw invalid(`user ${JSON.stringify(spec.user)} is not a valid user[:group]`);
    return spec.user ?? '';
  }
  const user = spec.user ?? SANDBOX_USER;
  assertNonRootUser(user);
  return user;
}

function ulimits(r: ContainerResources): Ulimit[] {
  return [
    { Name: 'nofile', Soft: r.nofile, Hard: r.nofile },
    { Name: 'core', Soft: 0, Hard: 0 },
    // setrlimit takes bytes as-is; the workspace cap is the largest file a job can legitimately write.
    { Name: 'fsize', Soft: r.workspaceBytes, Hard: r.workspaceBytes },
  ];
}

function workspaceTmpfs(user: string, bytes: number): string {
  const [uid, gid] = user.split(':');
  return `rw,nosuid,nodev,exec,size=${bytes},uid=${uid},gid=${gid},mode=0700`;
}

/** Turns a ContainerSpec into the hardened create body (hardening.md §1.1), validating every value. */
export function buildCreateOptions(spec: ContainerSpec): HardenedCreateBody {
  assertName(spec.name, 'container name');
  if (!spec.image || /\s/.test(spec.image)) throw invalid(`image ${JSON.stringify(spec.image)} is not a valid reference`);
  assertArgv(spec.command, 'command');
  if (spec.entrypoint !== undefined) {
    assertArgv(spec.entrypoint, 'entrypoint');
    if (!spec.entrypoint.length) throw invalid('entrypoint must not be empty');
  }
  if (spec.profile !== undefined && spec.profile !== 'strict' && spec.profile !== 'service') throw invalid(`profile ${JSON.stringify(spec.profile)} is not known`);
  const user = userFor(spec);
  const isService = spec.profile === 'service';
  const workingDir = spec.workingDir ?? (isService ? undefined : WORKSPACE_PATH);
  if (workingDir !== undefined) assertAbsolutePath(workingDir, 'workingDir');
  assertResources(spec.resources);
  const labels = { ...spec.labels };
  if (spec.workspaceVolume !== undefined) {
    assertName(spec.workspaceVolume, 'workspace volume');
    labels[WORKSPACE_VOLUME_LABEL] = spec.workspaceVolume;
  } else {
    delete labels[WORKSPACE_VOLUME_LABEL];
  }
  const r = spec.resources;
  const network = networkConfig(spec);
  const hosts = extraHosts(spec);
  const sharesNamespace = !!spec.attach && 'container' in spec.attach;
  const tmpfs = extraTmpfs(spec.tmpfs ?? []);
  const mounts = [
    // NoCopy: otherwise the engine copies the image's /workspace into the volume and chowns it to match.
    ...(spec.workspaceVolume !== undefined ? [{ Type: 'volume' as const, Source: spec.workspaceVolume, Target: WORKSPACE_PATH, ReadOnly: false, VolumeOptions: { NoCopy: true as const } }] : []),
    ...dataMounts(spec, tmpfs),
  ];
  const shmBytes = spec.shmBytes ?? SHM_BYTES;
  assertPositiveInteger(shmBytes, 'shmBytes');
  if (shmBytes > r.memoryBytes) throw invalid('shmBytes must not exceed the memory limit');
  return {
    name: spec.name,
    Image: spec.image,
    // An empty argv keeps the image's CMD rather than sending an empty one.
    ...(spec.command.length > 0 ? { Cmd: [...spec.command] } : {}),
    ...(spec.entrypoint ? { Entrypoint: [...spec.entrypoint] } : {}),
    Env: toEnvList(spec.env),
    Labels: labels,
    User: user,
    ...(workingDir !== undefined ? { WorkingDir: workingDir } : {}),
    ...(sharesNamespace ? {} : { Hostname: 'sandbox' as const }),
    ...(spec.healthcheck ? { Healthcheck: healthcheck(spec.healthcheck) } : {}),
    ...(network.NetworkingConfig ? { NetworkingConfig: network.NetworkingConfig } : {}),
    HostConfig: {
      NetworkMode: network.mode,
      ...(hosts ? { ExtraHosts: hosts } : {}),
      CapDrop: ['ALL'],
      ...(isService ? { CapAdd: [...SERVICE_CAPABILITIES] } : {}),
      SecurityOpt: ['no-new-privileges:true'],
      Privileged: false,
      ReadonlyRootfs: true,
      Tmpfs: {
        '/tmp': `rw,nosuid,nodev,noexec,size=${r.tmpBytes},mode=1777`,
        // Without a workspace volume, /workspace is a sized tmpfs owned by the container user. Jobs use
        // this: they copy files in and out with tar over exec, never the archive API (which cannot see
        // HostConfig.Tmpfs), so they skip the volume create/remove round trips.
        // Service containers keep their image's working directory and get no /workspace.
        ...(spec.workspaceVolume === undefined && !isService ? { '/workspace': workspaceTmpfs(user, r.workspaceBytes) } : {}),
        ...tmpfs,
      },
      ...(mounts.length ? { Mounts: mounts } : {}),
      Memory: r.memoryBytes,
      // Equal to Memory means no swap; unset would grant the same amount again as swap.
      MemorySwap: r.memoryBytes,
      NanoCpus: Math.round(r.cpus * 1e9),
      PidsLimit: r.pidsLimit,
      Ulimits: ulimits(r),
      Init: true,
      LogConfig: LOG_CONFIG,
      IpcMode: 'private',
      ShmSize: shmBytes,
      RestartPolicy: { Name: 'no' },
      AutoRemove: false,
    },
  };
}

/**
 * A workflow instance's data volume: sized tmpfs, world-writable with the sticky bit, nosuid/nodev/noexec.
 * With an owner (a job container's non-root user) its root directory belongs to that user, so the strict
 * profile can write it while services sharing it still can too.
 */
export function buildDataVolumeOptions(name: string, sizeBytes: number, labels: Record<string, string>, owner?: string): WorkspaceVolumeBody {
  assertName(name, 'volume name');
  assertPositiveInteger(sizeBytes, 'volume size');
  let ownership = '';
  if (owner !== undefined) {
    assertNonRootUser(owner);
    const [uid, gid] = owner.split(':');
    ownership = `uid=${uid},gid=${gid},`;
  }
  return { Name: name, Driver: 'local', DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: `size=${sizeBytes},${ownership}mode=1777,nosuid,nodev,noexec` }, Labels: { ...labels } };
}

/**
 * A tmpfs-backed local volume (hardening.md "Engine facts"): size-capped, works with the archive API,
 * nosuid/nodev like the /tmp tmpfs; exec stays allowed because jobs run scripts from their workspace.
 */
export function buildWorkspaceVolumeOptions(
  name: string,
  sizeBytes: number,
  labels: Record<string, string>,
  owner: string = SANDBOX_USER,
): WorkspaceVolumeBody {
  assertName(name, 'volume name');
  assertPositiveInteger(sizeBytes, 'workspace size');
  assertNonRootUser(owner);
  const [uid, gid] = owner.split(':');
  return {
    Name: name,
    Driver: 'local',
    DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: `size=${sizeBytes},uid=${uid},gid=${gid},mode=0700,nosuid,nodev` },
    Labels: { ...labels },
  };
}

/** True for a volume made by buildWorkspaceVolumeOptions: never mount an unsized, disk-backed one at /workspace. */
export function isSizedTmpfsVolume(volume: { Driver?: string; Options?: Record<string, string> | null }): boolean {
  const options = volume.Options ?? {};
  return volume.Driver === 'local' && options.type === 'tmpfs' && /(^|,)size=[1-9][0-9]*(,|$)/.test(options.o ?? '');
}

/**
 * gzip, bzip2, xz, zstd: formats the daemon would decompress with a tool resolved from the container's
 * filesystem, as root (GHSA-x86f-5xw2-fm2r; hardening.md §3.2). Only plain tar may be sent.
 */
export function isCompressedArchive(tar: Buffer): boolean {
  const starts = (...bytes: number[]): boolean => bytes.every((b, i) => tar[i] === b);
  return starts(0x1f, 0x8b) || starts(0x42, 0x5a, 0x68) || starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00) || starts(0x28, 0xb5, 0x2f, 0xfd);
}

/** A per-run/per-instance workflow network: internal (no route out), so it needs no egress policy. */
export function buildInternalNetworkOptions(name: string, labels: Record<string, string>): InternalNetworkBody {
  assertName(name, 'network name');
  if (name === EGRESS_NETWORK) throw invalid(`network name ${name} is reserved`);
  return { Name: name, Driver: 'bridge', CheckDuplicate: true, Internal: true, Labels: { ...labels, 'orcaops.managed': 'true' } };
}

export function buildEgressNetworkOptions(): EgressNetworkBody {
  return {
    Name: EGRESS_NETWORK,
    Driver: 'bridge',
    CheckDuplicate: true,
    Internal: true,
    Options: { 'com.docker.network.bridge.enable_icc': 'false', 'com.docker.network.bridge.name': EGRESS_BRIDGE },
    Labels: { 'orcaops.managed': 'true' },
  };
}
