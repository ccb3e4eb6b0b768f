import fastifyRateLimit from '@fastify/rate-limit';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Socket } from 'node:net';
import { AuthFailureAudit } from 'src/audit/auth-failure-audit';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import { FairGate } from 'src/common/fair-gate';
import { BoundedBody, bodyTooLarge, type BodyBound } from 'src/http/edge/bounded-body';
import { type EdgeLimits, RATE_SETTINGS, type RateClass, rateClassOf } from 'src/http/edge/edge-limits';
import { EdgeRoutes } from 'src/http/edge/edge-routes';
import { UploadSlots } from 'src/http/edge/upload-slots';
import { BINARY_CONTENT_TYPES } from 'src/common/http/binary-body';
import { bearerToken } from 'src/http/auth/api-token.strategy';
import { routeOf } from 'src/http/auth/tenant.guard';
import { TokenAuthService } from 'src/tenancy/token-auth.service';

/** How long a refused connection still drains the client's body before it is dropped. */
const LINGER_MS = 2_000;
/** A refused body up to this size is drained and the connection kept (cheaper than a new one). */
const KEEP_ALIVE_DRAIN_BYTES = 64 * 1024;

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;
type LimitedClass = Exclude<RateClass, 'unlimited'>;

/**
 * The HTTP edge: what happens to a request before its body is read, for every front end on HTTP
 * (REST and /mcp). Fastify's order is onRequest → preParsing → body parsing → Nest (guard, pipes,
 * handler), so:
 * - onRequest: rate limit by class; on non-@Public Nest routes the bearer token is verified here
 *   (TokenAuthService and its cache), a request without a valid one is refused before a byte of its
 *   body is read, and the principal is left on the request for the global guard, which stays the one
 *   authority for permissions.
 * - preParsing: the body is bounded by the route's cap (JSON routes ORCAOPS_MAX_BODY_BYTES, @UploadBody
 *   routes their own) and by a read deadline; uploads also need a slot (per token and per server).
 * A refusal while a body is still on its way closes the connection after the answer, so the rest of
 * it is never read.
 */
export async function installHttpEdge(app: NestFastifyApplication, limits: EdgeLimits): Promise<void> {
  await app.register(fastifyRateLimit, { global: false });
  const fastify = app.getHttpAdapter().getInstance();
  const server = fastify.server;
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.setTimeout(limits.connectionTimeoutMs);

  const tokens = app.get(TokenAuthService);
  const authFailures = app.get(AuthFailureAudit);
  let table: EdgeRoutes | undefined;
  // Nest registers its routes in app.init(), after this runs; the table is read once they exist.
  const routes = (): EdgeRoutes => (table ??= EdgeRoutes.discover(app));
  const limiters = createLimiters(fastify, limits);
  const uploads = new UploadSlots(limits.uploadsPerToken, limits.concurrentUploads);
  const slots = new FairGate({
    capacity: limits.handlerSlots.capacity,
    minShare: limits.handlerSlots.minShare,
    maxWaitingPerKey: limits.handlerSlots.maxWaitingPerWorkspace,
    maxWaitMs: limits.handlerSlots.maxWaitMs,
    what: 'requests',
  });

  fastify.addHook('onRequest', async (request, reply) => {
    const url = request.routeOptions.url;
    const route = routes().lookup(request.method, url);
    const rateClass = rateClassOf(request.method, url, route);
    if (!route || route.isPublic) {
      await enforce(limiters, 'anonymous', rateClass, request, reply, limits);
      return;
    }
    try {
      request.principal = await tokens.authenticate(bearerToken(request.headers.authorization));
    } catch (error) {
      closeIfBodyPending(request, reply, limits.bodyTimeoutMs);
      const failure = {
        requestId: request.id,
        clientIp: request.ip,
        route: routeOf(request),
        code: error instanceof OrcaOpsError ? error.code : 'unauthenticated',
        via: url === '/mcp' ? ('mcp' as const) : ('rest' as const),
      };
      await authFailures.record(failure);
      await enforce(limiters, 'auth_failure', 'auth_failure', request, reply, limits);
      throw error;
    }
    await enforce(limiters, 'token', rateClass, request, reply, limits);
    // A JSON body declared over the cap is refused in preParsing without a handler: it need not wait its turn.
    if (route.uploadMaxBytes === undefined && Number(request.headers['content-length']) > limits.maxBodyBytes) return;
    await takeHandlerSlot(slots, limits, request, reply);
  });

  fastify.addHook('preParsing', (request, reply, payload, done) => {
    if (!hasBody(request)) return done(null, payload);
    const route = routes().lookup(request.method, request.routeOptions.url);
    const binary = BINARY_CONTENT_TYPES.includes(mediaType(request));
    let bound: BodyBound;
    if (binary && route?.uploadMaxBytes !== undefined) {
      bound = { maxBytes: route.uploadMaxBytes, limitName: `upload limit of ${routeOf(request)}`, timeoutMs: limits.uploadTimeoutMs, timeoutSetting: 'ORCAOPS_UPLOAD_TIMEOUT_MS' };
      const release = uploads.acquire(request.principal?.tokenId ?? request.ip);
      if (release instanceof OrcaOpsError) {
        closeIfBodyPending(request, reply, limits.bodyTimeoutMs);
        if (release.code === 'rate_limited') void reply.header('retry-after', '1');
        return done(release);
      }
      reply.raw.once('close', release);
    } else if (binary && route) {
      closeIfBodyPending(request, reply, limits.bodyTimeoutMs);
      return done(new OrcaOpsError('unsupported_media_type', `${routeOf(request)} takes a JSON body (application/json), not ${mediaType(request)}`));
    } else {
      bound = { maxBytes: limits.maxBodyBytes, limitName: 'ORCAOPS_MAX_BODY_BYTES', timeoutMs: limits.bodyTimeoutMs, timeoutSetting: 'ORCAOPS_BODY_TIMEOUT_MS' };
    }
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > bound.maxBytes) {
      closeIfBodyPending(request, reply, limits.bodyTimeoutMs);
      return done(bodyTooLarge(bound, declared));
    }
    const body = new BoundedBody(payload, bound);
    // Cut mid-body (too large, too slow): the rest stays unread and the connection closes.
    body.once('error', () => closeLingering(request, reply));
    return done(null, body);
  });

  fastify.addHook('onResponse', (request, _reply, done) => {
    if (closeAfterAnswer.has(request)) lingerClose(request.raw.socket);
    done();
  });
}

/**
 * The request's fair share (FairGate): a workspace that floods the server waits behind its own requests,
 * in memory, before its handlers run; other workspaces start at once or after one slot frees. The slot is
 * given back when the response ends (or the client goes), or after holdMs for long answers.
 */
async function takeHandlerSlot(slots: FairGate, limits: EdgeLimits, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const principal = request.principal;
  if (!principal) return;
  // A workspace's tokens share its share; an organisation token (the operator's) is its own key.
  const key = principal.kind === 'workspace' ? `ws:${principal.workspaceId}` : `org:${principal.tokenId}`;
  const gone = new AbortController();
  const onClose = (): void => gone.abort();
  reply.raw.once('close', onClose);
  let release: () => void;
  try {
    release = await slots.acquire(key, gone.signal);
  } catch (error) {
    reply.raw.off('close', onClose);
    closeIfBodyPending(request, reply, limits.bodyTimeoutMs);
    throw error;
  }
  reply.raw.off('close', onClose);
  if (reply.raw.destroyed) return release();
  const timer = setTimeout(release, limits.handlerSlots.holdMs);
  timer.unref();
  reply.raw.once('close', () => {
    clearTimeout(timer);
    release();
  });
}

type Limiters = Partial<Record<LimitedClass | 'token_read' | 'token_write', Limiter>>;

function createLimiters(fastify: FastifyInstance, limits: EdgeLimits): Limiters {
  const byAddress = (max: number): Limiter | undefined =>
    max > 0 ? fastify.createRateLimit({ max, timeWindow: limits.rateWindowMs }) : undefined;
  // The verified token's id, never its secret (and never an unverified one: a made-up key id would get a fresh budget).
  const byToken = (max: number): Limiter | undefined =>
    max > 0 ? fastify.createRateLimit({ max, timeWindow: limits.rateWindowMs, keyGenerator: (request) => request.principal?.tokenId ?? request.ip }) : undefined;
  return {
    anonymous: byAddress(limits.rates.anonymous),
    auth_failure: byAddress(limits.rates.auth_failure),
    token_read: byToken(limits.rates.read),
    token_write: byToken(limits.rates.write),
  };
}

/** Counts the request in its class; past the limit, 429 `rate_limited` with Retry-After. */
async function enforce(
  limiters: Limiters,
  scope: 'anonymous' | 'auth_failure' | 'token',
  rateClass: RateClass,
  request: FastifyRequest,
  reply: FastifyReply,
  limits: EdgeLimits,
): Promise<void> {
  if (rateClass === 'unlimited') return;
  const limiter = scope === 'token' ? limiters[rateClass === 'read' ? 'token_read' : 'token_write'] : limiters[scope];
  if (!limiter) return;
  const state = await limiter(request);
  if (state.isAllowed || !state.isExceeded) return;
  closeIfBodyPending(request, reply, limits.bodyTimeoutMs);
  const retryAfter = Math.max(1, state.ttlInSeconds);
  void reply.header('retry-after', String(retryAfter));
  const setting = RATE_SETTINGS[scope === 'token' ? rateClass : scope];
  const who = scope === 'token' ? 'this token' : 'this client address';
  const what = scope === 'auth_failure' ? 'failed authentications' : `${rateClass === 'anonymous' ? 'unauthenticated' : rateClass} requests`;
  throw new OrcaOpsError(
    'rate_limited',
    `Rate limit exceeded: ${state.max} ${what} per ${limits.rateWindowMs / 1000} s for ${who} (${setting}); retry in ${retryAfter} s`,
    { limit: state.max, window_seconds: limits.rateWindowMs / 1000, retry_after_seconds: retryAfter, setting },
  );
}

function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function mediaType(request: FastifyRequest): string {
  return (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

const closeAfterAnswer = new WeakSet<FastifyRequest>();
const lingering = new WeakSet<Socket>();

/**
 * After a refusal, what is left of the body must not be read into memory nor hold the connection.
 * A small declared body (≤ KEEP_ALIVE_DRAIN_BYTES) is discarded by Node and the connection kept
 * alive, unless it does not arrive within the body timeout; anything larger or chunked closes the
 * connection after the answer (`Connection: close`, lingering).
 */
function closeIfBodyPending(request: FastifyRequest, reply: FastifyReply, drainTimeoutMs: number): void {
  if (!hasBody(request) || request.raw.readableEnded) return;
  const declared = Number(request.headers['content-length']);
  if (request.headers['transfer-encoding'] === undefined && declared <= KEEP_ALIVE_DRAIN_BYTES) {
    const timer = setTimeout(() => dropConnection(request.raw.socket), drainTimeoutMs);
    timer.unref();
    request.raw.once('end', () => clearTimeout(timer));
    return;
  }
  closeLingering(request, reply);
}

function closeLingering(request: FastifyRequest, reply: FastifyReply): void {
  closeAfterAnswer.add(request);
  void reply.header('connection', 'close');
  // Node closes at once after a `Connection: close` answer; the close must linger instead.
  const socket = request.raw.socket as Socket & { destroySoon?: () => void };
  if (isRealSocket(socket)) socket.destroySoon = () => lingerClose(socket);
}

/**
 * A lingering close (as nginx and Apache do): half-close once the answer is out, then drop the
 * connection LINGER_MS later. Closing at once, with the client's body still arriving, resets the
 * connection, and many clients (Node's among them) then report the reset instead of the answer.
 * Nothing that arrives meanwhile is buffered: Node discards an unread body, a cut one stays unread.
 */
function lingerClose(socket: Socket): void {
  if (!isRealSocket(socket) || socket.destroyed || lingering.has(socket)) return;
  lingering.add(socket);
  const timer = setTimeout(() => dropConnection(socket), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.end();
}

/** Fastify's inject() (tests) hands requests a stand-in socket without these methods. */
function isRealSocket(socket: Socket | undefined): socket is Socket {
  return typeof socket?.destroy === 'function' && typeof socket.end === 'function';
}

function dropConnection(socket: Socket | undefined): void {
  if (isRealSocket(socket)) socket.destroy();
}
