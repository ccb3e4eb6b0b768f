import type { EnvironmentVariables } from 'src/config/env.validation';
import type { EdgeRoute } from 'src/http/edge/edge-routes';

/** Every bound the HTTP edge applies, read once from the environment (docs/security.md, "Request bounds"). */
export interface EdgeLimits {
  maxBodyBytes: number;
  bodyTimeoutMs: number;
  uploadTimeoutMs: number;
  /** Socket-level backstops (Node's http server): headers, whole request, idle socket, keep-alive. */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  connectionTimeoutMs: number;
  keepAliveTimeoutMs: number;
  uploadsPerToken: number;
  concurrentUploads: number;
  rateWindowMs: number;
  /** Per window; 0 means unlimited. */
  rates: Record<Exclude<RateClass, 'unlimited'>, number>;
  /** Authenticated requests' fair share of handler slots per workspace (FairGate; docs/security.md, "Fair shares"). */
  handlerSlots: HandlerSlots;
}

export interface HandlerSlots {
  /** Requests in their handlers at once, all workspaces together, before each is held to its share. */
  capacity: number;
  /** Slots a workspace may always use. */
  minShare: number;
  maxWaitingPerWorkspace: number;
  maxWaitMs: number;
  /**
   * A request gives its slot back when answered, or after this long: a slot stands for the CPU and
   * database work at a request's start, so long polls, event streams, MCP streams and uploads do not
   * hold one while they wait.
   */
  holdMs: number;
}

/**
 * The slots follow the database pool (a handler mostly waits for a connection or the engine; more at
 * once than the pool only queue there, where every tenant waits in one line), with a floor for small pools.
 */
export function handlerSlotsFor(dbPoolSize: number): HandlerSlots {
  return { capacity: Math.max(8, dbPoolSize), minShare: 2, maxWaitingPerWorkspace: 256, maxWaitMs: 10_000, holdMs: 500 };
}

/**
 * How a request is counted: `unlimited` (/health, /ready: probes must always answer), `anonymous`
 * (other public routes, non-Nest routes and 404s: per client address), `read` and `write`
 * (authenticated: per token key id, so many clients behind one address do not share a budget),
 * `auth_failure` (per address, counted only when authentication fails).
 */
export type RateClass = 'unlimited' | 'anonymous' | 'read' | 'write' | 'auth_failure';

const UNLIMITED_ROUTES = new Set(['/health', '/ready']);

export function edgeLimitsFrom(env: EnvironmentVariables): EdgeLimits {
  return {
    maxBodyBytes: env.ORCAOPS_MAX_BODY_BYTES,
    bodyTimeoutMs: env.ORCAOPS_BODY_TIMEOUT_MS,
    uploadTimeoutMs: env.ORCAOPS_UPLOAD_TIMEOUT_MS,
    headersTimeoutMs: 30_000,
    // A backstop behind the body timeouts above, which answer first and in our error shape.
    requestTimeoutMs: Math.max(env.ORCAOPS_BODY_TIMEOUT_MS, env.ORCAOPS_UPLOAD_TIMEOUT_MS) + 30_000,
    // Longer than any long-poll (shell wait ≤ 300 s); event streams send a heartbeat every 15 s.
    connectionTimeoutMs: 600_000,
    keepAliveTimeoutMs: 72_000,
    uploadsPerToken: env.ORCAOPS_UPLOADS_PER_TOKEN,
    concurrentUploads: env.ORCAOPS_MAX_CONCURRENT_UPLOADS,
    rateWindowMs: env.ORCAOPS_RATE_LIMIT_WINDOW_MS,
    rates: {
      anonymous: env.ORCAOPS_RATE_LIMIT_ANONYMOUS,
      read: env.ORCAOPS_RATE_LIMIT_READS,
      write: env.ORCAOPS_RATE_LIMIT_WRITES,
      auth_failure: env.ORCAOPS_RATE_LIMIT_AUTH_FAILURES,
    },
    handlerSlots: handlerSlotsFor(env.ORCAOPS_DB_POOL_SIZE),
  };
}

/** The class a request is counted in once authenticated (or not, for public routes). */
export function rateClassOf(method: string, url: string | undefined, route: EdgeRoute | undefined): RateClass {
  if (url !== undefined && UNLIMITED_ROUTES.has(url)) return 'unlimited';
  if (!route || route.isPublic) return 'anonymous';
  return method === 'GET' || method === 'HEAD' ? 'read' : 'write';
}

/** The setting that names a class's limit, for error messages. */
export const RATE_SETTINGS: Record<Exclude<RateClass, 'unlimited'>, string> = {
  anonymous: 'ORCAOPS_RATE_LIMIT_ANONYMOUS',
  read: 'ORCAOPS_RATE_LIMIT_READS',
  write: 'ORCAOPS_RATE_LIMIT_WRITES',
  auth_failure: 'ORCAOPS_RATE_LIMIT_AUTH_FAILURES',
};
