// class-transformer's @Type reads decorator metadata: load it here, not only in entry points.
import 'reflect-metadata';
import { plainToInstance, Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  getMetadataStorage,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  validateSync,
  ValidationError,
} from 'class-validator';
import { ConfigValidationError } from 'src/config/config-validation.error';

// Re-exported: callers that already load the validator keep importing it from here.
export { ConfigValidationError } from 'src/config/config-validation.error';

export const ORCAOPS_ENVIRONMENTS = ['development', 'test', 'production'] as const;
export type OrcaOpsEnvironment = (typeof ORCAOPS_ENVIRONMENTS)[number];
export const RUNTIME_DRIVERS = ['docker', 'fake'] as const;
/** Points on the job path where the crash-safety tests make the server SIGKILL itself (src/jobs/crash-point.ts). */
export const CRASH_POINTS = ['job_claimed', 'job_container_started', 'job_terminal_committed'] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];
export type RuntimeDriver = (typeof RUNTIME_DRIVERS)[number];

/**
 * Every variable OrcaOps reads. Only src/config reads process.env; the rest of the code gets typed
 * namespaces. `sensitive` variables are never logged.
 */
export class EnvironmentVariables {
  /** Deployment mode; unsafe settings are refused outside `development` and `test`. */
  @IsOptional() @IsIn(ORCAOPS_ENVIRONMENTS)
  ORCAOPS_ENV: OrcaOpsEnvironment = 'development';

  /** Data directory: embedded Postgres, artifacts, CLI config. Default ~/.orcaops. */
  @IsOptional() @IsString()
  ORCAOPS_HOME?: string;

  /** Interface the API binds to. */
  @IsOptional() @IsString()
  ORCAOPS_HOST = '127.0.0.1';

  /** API port. */
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(65535)
  ORCAOPS_PORT = 8000;

  /** The API's address as browsers reach it (preview URLs are issued under it); default http://ORCAOPS_HOST:ORCAOPS_PORT. */
  @IsOptional() @Matches(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, { message: 'ORCAOPS_PUBLIC_URL must be an http(s):// URL without query or fragment' })
  ORCAOPS_PUBLIC_URL?: string;

  /** PostgreSQL connection string; when unset an embedded server runs in ORCAOPS_HOME. (sensitive) */
  @IsOptional() @IsString()
  DATABASE_URL?: string;

  /** Port of the embedded PostgreSQL (only when DATABASE_URL is unset). */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1024) @Max(65535)
  ORCAOPS_EMBEDDED_PG_PORT = 54329;

  /**
   * Key that encrypts secrets and registry passwords at rest: 32 bytes, base64 (hex is also read). When
   * unset, one is generated once into ORCAOPS_HOME/secrets.key (mode 0600). (sensitive)
   */
  @IsOptional() @IsString() @Matches(/^(?:[A-Za-z0-9+/]{43}=|[0-9a-fA-F]{64})$/, { message: 'ORCAOPS_SECRETS_KEY must be 32 bytes in base64 (openssl rand -base64 32)' })
  ORCAOPS_SECRETS_KEY?: string;

  /** Organisation admin token accepted by the API, for automation and tests. (sensitive) */
  @IsOptional() @IsString() @MinLength(32, { message: 'ORCAOPS_ADMIN_TOKEN must be at least 32 characters' })
  @MaxLength(256)
  ORCAOPS_ADMIN_TOKEN?: string;

  /** Bearer token of the Prometheus endpoint GET /metrics; unset, the endpoint answers 404. (sensitive) */
  @IsOptional() @IsString() @MinLength(32, { message: 'ORCAOPS_METRICS_TOKEN must be at least 32 characters' })
  @MaxLength(256)
  ORCAOPS_METRICS_TOKEN?: string;

  /** Container runtime driver: the real Docker engine, or an in-memory fake (tests only). */
  @IsOptional() @IsIn(RUNTIME_DRIVERS)
  ORCAOPS_RUNTIME: RuntimeDriver = 'docker';

  /** Docker engine socket; defaults to DOCKER_HOST or /var/run/docker.sock. */
  @IsOptional() @IsString()
  ORCAOPS_DOCKER_SOCKET?: string;

  /** Deadline of one engine call (inspect, create, kill...); past it the engine counts as unavailable (503). */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1000) @Max(600_000)
  ORCAOPS_ENGINE_CALL_TIMEOUT_MS = 30_000;

  /** Bytes read back from each of a workflow step's $GITHUB_OUTPUT/$GITHUB_ENV/$GITHUB_PATH/$GITHUB_STEP_SUMMARY files. */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1024) @Max(64 * 1024 * 1024)
  ORCAOPS_STEP_FILE_MAX_BYTES = 1024 * 1024;

  /** Debian mirror for building the Debian-based standard images (`orcaops images build`); default: the host's apt sources. */
  @IsOptional() @Matches(/^(https?|file):\/\/\S+$/, { message: 'ORCAOPS_APT_MIRROR must be an http(s):// or file:// URL' })
  ORCAOPS_APT_MIRROR?: string;

  /** Log level: error, warn, log, debug, verbose. */
  @IsOptional() @IsIn(['error', 'warn', 'log', 'debug', 'verbose'])
  ORCAOPS_LOG_LEVEL = 'log';

  /** Largest accepted request body in bytes. */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1024) @Max(64 * 1024 * 1024)
  ORCAOPS_MAX_BODY_BYTES = 1024 * 1024;

  /** Milliseconds a client has to send a whole JSON body; a slower one gets 408 `request_timeout`. */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1_000) @Max(600_000)
  ORCAOPS_BODY_TIMEOUT_MS = 30_000;

  /** Milliseconds a client has to send a whole upload (file, archive, workflow source) body. */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1_000) @Max(3_600_000)
  ORCAOPS_UPLOAD_TIMEOUT_MS = 600_000;

  /** Upload bodies (file, archive, workflow source) one token may be sending at once; beyond it 429. */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(64)
  ORCAOPS_UPLOADS_PER_TOKEN = 2;

  /** Upload bodies the server receives at once, all tokens together (each is buffered whole); beyond it 503. */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(256)
  ORCAOPS_MAX_CONCURRENT_UPLOADS = 4;

  /** Window of every request rate limit, in milliseconds. */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1_000) @Max(3_600_000)
  ORCAOPS_RATE_LIMIT_WINDOW_MS = 60_000;

  /** Authenticated GET requests per token per window (0: unlimited). */
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(10_000_000)
  ORCAOPS_RATE_LIMIT_READS = 12_000;

  /** Authenticated POST, PUT, PATCH and DELETE requests (including MCP calls) per token per window (0: unlimited). */
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(10_000_000)
  ORCAOPS_RATE_LIMIT_WRITES = 3_000;

  /** Requests per client address per window to public routes other than /health and /ready (0: unlimited). */
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(10_000_000)
  ORCAOPS_RATE_LIMIT_ANONYMOUS = 600;

  /** Failed authentications per client address per window; beyond it 429 (0: unlimited). */
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(10_000_000)
  ORCAOPS_RATE_LIMIT_AUTH_FAILURES = 300;

  /** Comma-separated browser origins allowed to call the API and /mcp (empty: none). */
  @IsOptional() @IsString()
  ORCAOPS_ALLOWED_ORIGINS = '';

  /** Connections in this server's PostgreSQL pool (all tenants share it; admissions take at most 2 per workspace). */
  @IsOptional() @Type(() => Number) @IsInt() @Min(2) @Max(500)
  ORCAOPS_DB_POOL_SIZE = 20;

  /** A warning is logged when the event loop is held (busy, not descheduled) this long, in ms (0: off). */
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(60_000)
  ORCAOPS_LOOP_HOLD_WARN_MS = 50;

  /** Jobs running at once on this server. */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(256)
  ORCAOPS_MAX_CONCURRENT_JOBS = 4;

  /**
   * Disk budget of the images OrcaOps pulled or built (issue 13 part 4): a periodic pass removes the least
   * recently used of them, never standard images or images a container uses, until their sizes fit.
   * Unset: no collector (prune and `gc --budget` still work on demand).
   */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(Number.MAX_SAFE_INTEGER)
  ORCAOPS_IMAGE_CACHE_BYTES?: number;

  /** Bytes of output stored per job; the rest is dropped and the job is flagged truncated. */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1024) @Max(1024 * 1024 * 1024)
  ORCAOPS_JOB_OUTPUT_CAP_BYTES = 10 * 1024 * 1024;

  /** Statement timeout of a run search that reads job output (docs/run-records.md); beyond it 503 with a hint. */
  @IsOptional() @Type(() => Number) @IsInt() @Min(100) @Max(60_000)
  ORCAOPS_SEARCH_TIMEOUT_MS = 5_000;

  /** Response streams (SSE, long-polls, MCP requests) one token may hold open at once (docs/security.md). */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(10_000)
  ORCAOPS_STREAMS_PER_TOKEN = 16;

  /** Response streams one workspace (all its tokens) may hold open at once. */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100_000)
  ORCAOPS_STREAMS_PER_WORKSPACE = 48;

  /** Response streams the whole server holds open at once (bounds their memory). */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100_000)
  ORCAOPS_STREAMS_TOTAL = 256;

  /** Bytes a stream may have queued for a slow reader before the reader is dropped. */
  @IsOptional() @Type(() => Number) @IsInt() @Min(16 * 1024) @Max(256 * 1024 * 1024)
  ORCAOPS_STREAM_BUFFER_BYTES = 256 * 1024;

  /** Milliseconds a stream may wait for its reader to take data (no 'drain') before it is dropped. */
  @IsOptional() @Type(() => Number) @IsInt() @Min(100) @Max(600_000)
  ORCAOPS_STREAM_STALL_MS = 30_000;

  /** MCP sessions one workspace (all its tokens) may hold open at once (per token: 32). */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100_000)
  ORCAOPS_MCP_SESSIONS_PER_WORKSPACE = 64;

  /** Milliseconds without a request after which an MCP session is closed. */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1000) @Max(24 * 3600_000)
  ORCAOPS_MCP_SESSION_IDLE_MS = 30 * 60_000;

  /**
   * Warm sandbox pool: pre-started hardened containers per image, e.g. `orcaops/python=2,orcaops/busybox=1`
   * (default resources, no network). A matching sandbox create takes one and the pool refills. Empty: no pool.
   */
  @IsOptional() @Matches(/^$|^[a-z0-9][a-z0-9._\-/:@]*=\d{1,2}(,[a-z0-9][a-z0-9._\-/:@]*=\d{1,2})*$/, {
    message: 'ORCAOPS_SANDBOX_POOL must look like image=count[,image=count...], e.g. orcaops/python=2',
  })
  ORCAOPS_SANDBOX_POOL = '';

  /**
   * Pool containers started at once while the pool refills (all images). The engine, not this server,
   * is the bottleneck: more parallel starts do not make containers faster, they slow the requests that
   * are being served meanwhile. Size the pool for bursts (README, sandboxes; WarmPoolService.refill).
   */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(32)
  ORCAOPS_SANDBOX_POOL_FILLS = 2;

  /** Egress gateway (issue 14): comma-separated DNS servers it resolves names with (empty: the host's resolver). */
  @IsOptional() @IsString()
  ORCAOPS_EGRESS_DNS_SERVERS = '';

  /** Egress connections one workspace may hold open at once through the gateway. */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100_000)
  ORCAOPS_EGRESS_CONNECTIONS_PER_WORKSPACE = 512;

  /** Egress connections the gateway holds open at once in all. */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1_000_000)
  ORCAOPS_EGRESS_CONNECTIONS_TOTAL = 4096;

  /** Egress bytes (up + down) one workspace may move per UTC day; beyond it connections are cut. */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(Number.MAX_SAFE_INTEGER)
  ORCAOPS_EGRESS_BYTES_PER_DAY = 10 * 1024 * 1024 * 1024;

  /** An egress connection with no traffic for this long is closed. */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1000) @Max(3_600_000)
  ORCAOPS_EGRESS_IDLE_MS = 120_000;

  /** Milliseconds between sandbox reaper passes (TTL, idle timeout, lost containers). */
  @IsOptional() @Type(() => Number) @IsInt() @Min(100) @Max(600_000)
  ORCAOPS_SANDBOX_REAPER_MS = 5_000;

  /** Sandbox profile catalogue (YAML); default ./sandboxes.yml, optional unless set explicitly. */
  @IsOptional() @IsString()
  ORCAOPS_SANDBOX_PROFILES?: string;

  /** Fault injection for the crash-safety tests: the server SIGKILLs itself at this point. Test only. */
  @IsOptional() @IsIn(CRASH_POINTS)
  ORCAOPS_TEST_CRASH_AT?: CrashPoint;
}

function flatten(errors: ValidationError[]): string[] {
  return errors.flatMap((e) => Object.values(e.constraints ?? {}).map((msg) => `${e.property}: ${msg}`));
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

/** Settings that are fine on a laptop and dangerous on a server: refused outside development/test. */
function unsafeSettings(env: EnvironmentVariables): string[] {
  if (env.ORCAOPS_ENV !== 'production') return [];
  const problems: string[] = [];
  if (env.ORCAOPS_TEST_CRASH_AT) {
    problems.push('ORCAOPS_TEST_CRASH_AT: fault injection is for tests only');
  }
  if (env.ORCAOPS_RUNTIME === 'fake') {
    problems.push('ORCAOPS_RUNTIME: "fake" runs nothing and is for tests only; use "docker" in production');
  }
  if (env.DATABASE_URL && /\/\/[^:/]+:(postgres|password)@/.test(env.DATABASE_URL)) {
    problems.push('DATABASE_URL: uses a default password; set a strong one in production');
  }
  if (!LOOPBACK_HOSTS.has(env.ORCAOPS_HOST) && env.ORCAOPS_ALLOWED_ORIGINS.split(',').includes('*')) {
    problems.push('ORCAOPS_ALLOWED_ORIGINS: "*" is not allowed on a non-loopback interface in production');
  }
  return problems;
}

/** Parses and checks the environment once; reports every problem together. */
export function validateEnv(raw: Record<string, unknown>): EnvironmentVariables {
  const env = plainToInstance(EnvironmentVariables, raw, { enableImplicitConversion: false });
  const problems = [...flatten(validateSync(env, { skipMissingProperties: false })), ...unsafeSettings(env)];
  if (problems.length > 0) throw new ConfigValidationError(problems);
  return env;
}

/** Read by the CLI, not by the server (they are not in EnvironmentVariables). */
const CLIENT_VARIABLES = ['ORCAOPS_URL', 'ORCAOPS_TOKEN', 'ORCAOPS_SESSION', 'ORCAOPS_REGISTRY_PASSWORD'];

export interface UnknownVariable {
  name: string;
  /** The known variable it is closest to (a likely typo), when one is close. */
  suggestion?: string;
}

/**
 * `ORCAOPS_*` variables set in the environment that no part of OrcaOps reads: a misspelt setting is
 * otherwise silently ignored (its default applies). ORCAOPS_TEST_* belong to the test suite.
 */
export function unknownOrcaopsVariables(raw: Record<string, unknown>): UnknownVariable[] {
  const known = new Set([
    ...getMetadataStorage()
      .getTargetValidationMetadatas(EnvironmentVariables, '', true, false)
      .map((m) => m.propertyName),
    ...CLIENT_VARIABLES,
  ]);
  return Object.keys(raw)
    .filter((name) => name.startsWith('ORCAOPS_') && !name.startsWith('ORCAOPS_TEST_') && !known.has(name))
    .sort()
    .map((name) => {
      const [suggestion] = [...known]
        .filter((k) => k.startsWith('ORCAOPS_'))
        .map((k) => ({ k, d: editDistance(name, k) }))
        .filter(({ d }) => d <= 2)
        .sort((a, b) => a.d - b.d || a.k.localeCompare(b.k))
        .map(({ k }) => k);
      return suggestion ? { name, suggestion } : { name };
    });
}

/** Levenshtein distance (names are short: the quadratic table is tiny). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
