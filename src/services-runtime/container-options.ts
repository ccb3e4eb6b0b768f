/**
 * `container.options` and service `options` (design §2.3, §2.6): docker-run flags parsed against an
 * allow-list into typed fields. Nothing here reaches the engine as text; the runner maps the fields onto
 * the container spec, and limits are checked again against the job maxima and the policy there.
 * Also the `ports:` and `volumes:` entry formats. Pure functions, shared by the loader (literal values,
 * reported at file:line:column) and the runner (values that came from an expression).
 */

export type OptionsTarget = 'container' | 'service';

export interface TmpfsOption {
  path: string;
  sizeBytes?: number;
  /** Octal text, e.g. `1777`. */
  mode?: string;
  exec: boolean;
}

export interface UlimitOption {
  name: 'nofile' | 'nproc' | 'core';
  soft: number;
  hard: number;
}

export type HealthOptionKey = 'cmd' | 'interval' | 'timeout' | 'retries' | 'start-period';

export interface RunOptions {
  /** As written: `1000`, `1000:1000`, `postgres`, `root`. */
  user?: string;
  cpus?: number;
  memoryBytes?: number;
  shmBytes?: number;
  pidsLimit?: number;
  ulimits: UlimitOption[];
  tmpfs: TmpfsOption[];
  /** name → IPv4. */
  addHosts: Record<string, string>;
  entrypoint?: string;
  init?: boolean;
  health: Partial<Record<HealthOptionKey, string>>;
}

export interface ParsedRunOptions {
  options: RunOptions;
  /** Each names the flag at fault. */
  errors: string[];
}

/** The allow-list of design §2.3 (services add the health flags, §2.6). */
const VALUE_FLAGS = ['--user', '--cpus', '--memory', '--shm-size', '--ulimit', '--pids-limit', '--tmpfs', '--add-host', '--entrypoint'] as const;
const HEALTH_FLAGS = ['--health-cmd', '--health-interval', '--health-timeout', '--health-retries', '--health-start-period'] as const;
const SHORT_FLAGS: Record<string, string> = { '-u': '--user', '-m': '--memory' };
/** Paths whose contents the kernel or OrcaOps owns: no tmpfs may hide them. */
const RESERVED_MOUNT_PATHS = ['/', '/proc', '/sys', '/dev', '/etc'];

export function allowedFlags(target: OptionsTarget): string[] {
  return [...VALUE_FLAGS, '--init', ...(target === 'service' ? HEALTH_FLAGS : [])];
}

/** Splits docker-run style options into words, honouring single and double quotes. */
export function splitOptions(text: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: string | null = null;
  let started = false;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = null;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      started = true;
    } else if (/\s/.test(ch)) {
      if (started || current) words.push(current);
      current = '';
      started = false;
    } else {
      current += ch;
    }
  }
  if (started || current) words.push(current);
  return words;
}

/** docker's size syntax: `512m`, `1g`, `64k`, `100b`, a bare number of bytes (binary units). */
export function parseDockerSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmg]?)b?$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'b' | 'k' | 'm' | 'g'];
  const bytes = Math.round(Number(m[1]) * unit);
  return bytes > 0 ? bytes : undefined;
}

function emptyOptions(): RunOptions {
  return { ulimits: [], tmpfs: [], addHosts: {}, health: {} };
}

/**
 * Parses options for the job container or a service. An empty (or whitespace) text is no options: an
 * expression like git main.yml's `${{ private && '--pids-limit …' || '' }}` evaluates to ''.
 */
export function parseRunOptions(text: string, target: OptionsTarget): ParsedRunOptions {
  const words = splitOptions(text);
  const options = emptyOptions();
  const errors: string[] = [];
  const allowed = new Set(allowedFlags(target));
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (!word.startsWith('-')) {
      errors.push(`Unexpected '${word}' in options: expected a flag such as --user`);
      continue;
    }
    const eq = word.indexOf('=');
    const written = eq > 0 ? word.slice(0, eq) : word;
    const flag = SHORT_FLAGS[written] ?? written;
    const inline = eq > 0 ? word.slice(eq + 1) : undefined;
    if (flag === '--privileged') {
      errors.push(`Option '--privileged' is not allowed: OrcaOps never runs a privileged container (docs/security.md)`);
      if (inline === undefined && /^(true|false)$/.test(words[i + 1] ?? '')) i++;
      continue;
    }
    if (!allowed.has(flag)) {
      errors.push(`Unknown option '${written}' in ${target === 'container' ? 'container' : 'service'} options (allowed: ${allowedFlags(target).join(', ')})`);
      // Its value (if any) is not a second problem.
      if (inline === undefined && words[i + 1] !== undefined && !words[i + 1]!.startsWith('-')) i++;
      continue;
    }
    if (flag === '--init') {
      if (inline !== undefined && !/^(true|false)$/.test(inline)) errors.push(`Option '--init' takes true or false, not '${inline}'`);
      options.init = inline !== 'false';
      continue;
    }
    const value = inline ?? words[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) {
      errors.push(`Option '${written}' needs a value`);
      if (value !== undefined) i--;
      continue;
    }
    const problem = applyFlag(options, flag, value);
    if (problem) errors.push(`Option '${written} ${value}': ${problem}`);
  }
  return { options, errors };
}

/** Stores one flag's value; returns what is wrong with it, if anything. */
function applyFlag(options: RunOptions, flag: string, value: string): string | undefined {
  switch (flag) {
    case '--user':
      if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$/.test(value)) return 'expected user[:group] (a name or a number)';
      options.user = value;
      return undefined;
    case '--cpus': {
      const cpus = Number(value);
      if (!Number.isFinite(cpus) || cpus <= 0) return 'expected a positive number of CPUs';
      options.cpus = cpus;
      return undefined;
    }
    case '--memory':
    case '--shm-size': {
      const bytes = parseDockerSize(value);
      if (bytes === undefined) return 'expected a size such as 512m or 1g';
      if (flag === '--memory') options.memoryBytes = bytes;
      else options.shmBytes = bytes;
      return undefined;
    }
    case '--pids-limit': {
      const pids = Number(value);
      if (!Number.isSafeInteger(pids) || pids <= 0) return 'expected a positive integer (an unlimited pids limit is not allowed)';
      options.pidsLimit = pids;
      return undefined;
    }
    case '--ulimit':
      return addUlimit(options, value);
    case '--tmpfs':
      return addTmpfs(options, value);
    case '--add-host':
      return addHost(options, value);
    case '--entrypoint':
      if (!value.trim()) return 'expected a program';
      options.entrypoint = value;
      return undefined;
    default: {
      const key = flag.slice('--health-'.length) as HealthOptionKey;
      options.health[key] = value;
      return undefined;
    }
  }
}

function addUlimit(options: RunOptions, value: string): string | undefined {
  const m = /^([a-z]+)=(\d+)(?::(\d+))?$/.exec(value);
  if (!m) return 'expected name=soft[:hard], e.g. nofile=1024:2048';
  const name = m[1]!;
  if (name !== 'nofile' && name !== 'nproc' && name !== 'core') return `ulimit '${name}' is not allowed (only nofile, nproc and core)`;
  const soft = Number(m[2]);
  const hard = m[3] === undefined ? soft : Number(m[3]);
  if (soft > hard) return 'the soft limit is above the hard limit';
  options.ulimits = [...options.ulimits.filter((u) => u.name !== name), { name, soft, hard }];
  return undefined;
}

function addTmpfs(options: RunOptions, value: string): string | undefined {
  const [path = '', ...rest] = value.split(':');
  const problem = mountPathProblem(path);
  if (problem) return problem;
  const tmpfs: TmpfsOption = { path: normalizePath(path), exec: false };
  for (const opt of rest.join(':').split(',').filter(Boolean)) {
    const [key, arg] = opt.split('=', 2) as [string, string | undefined];
    if (key === 'size' && arg !== undefined) {
      const bytes = parseDockerSize(arg);
      if (bytes === undefined) return `tmpfs size '${arg}' is not a size such as 64m`;
      tmpfs.sizeBytes = bytes;
    } else if (key === 'mode' && arg !== undefined && /^[0-7]{3,4}$/.test(arg)) tmpfs.mode = arg;
    else if (key === 'exec' || key === 'noexec') tmpfs.exec = key === 'exec';
    // Always applied (nosuid, nodev) or the default (rw): accepted so copied options still parse.
    else if (!['rw', 'nosuid', 'nodev'].includes(key)) return `tmpfs option '${opt}' is not allowed (only size, mode, exec/noexec)`;
  }
  if (options.tmpfs.some((t) => t.path === tmpfs.path)) return `${tmpfs.path} is mounted twice`;
  options.tmpfs.push(tmpfs);
  return undefined;
}

function addHost(options: RunOptions, value: string): string | undefined {
  const m = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,62})[:=](\d{1,3}(?:\.\d{1,3}){3})$/.exec(value);
  if (!m || m[2]!.split('.').some((o) => Number(o) > 255)) return 'expected name:IPv4 (host-gateway and IPv6 are not allowed)';
  options.addHosts[m[1]!] = m[2]!;
  return undefined;
}

function normalizePath(path: string): string {
  return path.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
}

/** An absolute path, no `..`, not over a path the kernel or OrcaOps owns. */
export function mountPathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return `'${path}' is not an absolute path`;
  if (path.split('/').includes('..')) return `'${path}' contains '..'`;
  const normal = normalizePath(path);
  const reserved = RESERVED_MOUNT_PATHS.find((r) => normal === r || (r !== '/' && normal.startsWith(`${r}/`)));
  return reserved ? `'${normal}' cannot be mounted over (${reserved} is reserved)` : undefined;
}

// ─── ports: and volumes: entries ────────────────────────────────────────────────────────────────────

export interface PortSpec {
  /** Set only when a host port was written (`8080:80`); `0` never. */
  hostPort?: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

/** `host:container[/proto]`, `ip:host:container[/proto]` or `container[/proto]` (docker run -p). */
export function parsePortSpec(entry: string): PortSpec | { error: string } {
  const [spec = '', proto = 'tcp', extra] = String(entry).trim().split('/');
  if (extra !== undefined || (proto !== 'tcp' && proto !== 'udp')) return { error: `Port '${entry}' must be container[/tcp|udp] or host:container[/tcp|udp]` };
  const parts = spec.split(':');
  const port = (text: string | undefined): number | undefined => (text && /^\d+$/.test(text) && Number(text) > 0 && Number(text) < 65536 ? Number(text) : undefined);
  const containerPort = port(parts[parts.length - 1]);
  const hostText = parts.length >= 2 ? parts[parts.length - 2] : undefined;
  const hostPort = hostText ? port(hostText) : undefined;
  if (containerPort === undefined || parts.length > 3 || (hostText && hostPort === undefined)) {
    return { error: `Port '${entry}' must be container[/tcp|udp] or host:container[/tcp|udp] with ports 1-65535` };
  }
  return { containerPort, protocol: proto, ...(hostPort !== undefined ? { hostPort } : {}) };
}

export interface VolumeSpec {
  /** The volume's name in the workflow; an anonymous `/path` entry gets one from its path. */
  name: string;
  /** A bare `/path`: a volume private to the container that declares it. */
  anonymous: boolean;
  target: string;
  readOnly: boolean;
}

const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** The job's workspace; steps run in it and artifacts come from it, so no volume may hide it. */
export const WORKSPACE_TARGET = '/workspace';

/**
 * `name:/path[:ro|rw]` or `/path`: a named volume is shared by name within the instance (the job
 * container and its services), an anonymous one is private to its container; both are removed at
 * teardown. Host bind mounts (`/host:/path`, `./dir:/path`) are refused: no container may see the
 * server's files. The job container's volumes may not cover its workspace.
 */
export function parseVolumeSpec(entry: string, target: OptionsTarget = 'service'): VolumeSpec | { error: string } {
  const parts = String(entry).trim().split(':');
  const [source = '', path, mode, extra] = parts.length === 1 ? ['', parts[0], undefined, undefined] : parts;
  if (extra !== undefined || (mode !== undefined && mode !== 'ro' && mode !== 'rw')) return { error: `Volume '${entry}' must be name:/path[:ro] or /path` };
  if (source && !VOLUME_NAME.test(source)) {
    return { error: `Volume '${entry}' is a host bind mount, which OrcaOps refuses; use a named volume shared within the instance, e.g. data:${path ?? '/data'}` };
  }
  const problem = mountPathProblem(path ?? '');
  if (problem) return { error: `Volume '${entry}': ${problem}` };
  const normal = normalizePath(path!);
  if (!/^(\/[A-Za-z0-9_.@+-]+)+$/.test(normal)) return { error: `Volume '${entry}': the path may only contain letters, digits and _ . @ + -` };
  // /tmp is already a sized tmpfs in every container (resize it with --tmpfs /tmp:size=…).
  if (normal === '/tmp') return { error: `Volume '${entry}': /tmp is already mounted (use --tmpfs /tmp:size=… to resize it)` };
  if (target === 'container' && (normal === WORKSPACE_TARGET || normal.startsWith(`${WORKSPACE_TARGET}/`))) {
    return { error: `Volume '${entry}': the job's workspace (${WORKSPACE_TARGET}) is already mounted; mount the volume elsewhere, e.g. /data` };
  }
  const name = source || `anon${normal.replace(/[^A-Za-z0-9]+/g, '-')}`.slice(0, 64);
  return { name, anonymous: !source, target: normal, readOnly: mode === 'ro' };
}
