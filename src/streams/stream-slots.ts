import { CallHandler, ExecutionContext, Injectable, NestInterceptor, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Observable } from 'rxjs';
import type { RequestWithTenant } from 'src/tenancy/route-metadata';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import { readEnv } from 'src/config/orcaops.config';
import { wantsEventStream } from 'src/common/http/event-stream';
import type { TenantContext } from 'src/tenancy/tenant-context';

export interface StreamLimits {
  perToken: number;
  perWorkspace: number;
  total: number;
}

export function streamLimits(): StreamLimits {
  const env = readEnv();
  return { perToken: env.ORCAOPS_STREAMS_PER_TOKEN, perWorkspace: env.ORCAOPS_STREAMS_PER_WORKSPACE, total: env.ORCAOPS_STREAMS_TOTAL };
}

/** A client over a cap retries after this: streams end on their own (timeouts, job ends). */
const RETRY_AFTER_SECONDS = 5;

/**
 * Open response streams (SSE, long-polls, MCP requests), counted per token, per workspace and in
 * total. Each holds a connection, a socket buffer and a database watcher, so a tenant gets a bounded
 * share; over a cap the request is refused (429) before any work starts. In this process's memory:
 * a restart closes every stream anyway.
 */
@Injectable()
export class StreamSlots {
  private readonly limits = streamLimits();
  private readonly byToken = new Map<string, number>();
  private readonly byWorkspace = new Map<string, number>();
  private total = 0;

  /** Takes a slot or throws 429 rate_limited naming the cap; the returned release is idempotent. */
  acquire(ctx: TenantContext): () => void {
    const token = ctx.principal.tokenId;
    // Organisation tokens act across workspaces: counted per token and in the total only.
    const workspace = ctx.principal.kind === 'workspace' ? ctx.principal.workspaceId : undefined;
    if ((this.byToken.get(token) ?? 0) >= this.limits.perToken) throw capReached('token', 'ORCAOPS_STREAMS_PER_TOKEN', this.limits.perToken);
    if (workspace && (this.byWorkspace.get(workspace) ?? 0) >= this.limits.perWorkspace) {
      throw capReached('workspace', 'ORCAOPS_STREAMS_PER_WORKSPACE', this.limits.perWorkspace);
    }
    if (this.total >= this.limits.total) throw capReached('server', 'ORCAOPS_STREAMS_TOTAL', this.limits.total);
    bump(this.byToken, token, 1);
    if (workspace) bump(this.byWorkspace, workspace, 1);
    this.total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      bump(this.byToken, token, -1);
      if (workspace) bump(this.byWorkspace, workspace, -1);
      this.total--;
    };
  }

  /** Open streams now (tests, diagnostics). */
  get open(): number {
    return this.total;
  }
}

function bump(map: Map<string, number>, key: string, by: number): void {
  const next = (map.get(key) ?? 0) + by;
  if (next <= 0) map.delete(key);
  else map.set(key, next);
}

function capReached(scope: 'token' | 'workspace' | 'server', env: string, max: number): OrcaOpsError {
  return new OrcaOpsError(
    'rate_limited',
    `Too many open streams for this ${scope}: at most ${max} at once (${env}; SSE streams, waits and MCP requests count). Close one or retry later`,
    { limit: `streams_per_${scope}`, max, retry_after_seconds: RETRY_AFTER_SECONDS },
  );
}

export const STREAM_ROUTE_KEY = 'orcaops:stream-route';

/**
 * The route holds its response open (a long-poll, or a stream): it takes a stream slot for as long as
 * the response lives. `event_stream`: only when the client asked for Server-Sent Events.
 */
export const CountsAsStream = (when: 'always' | 'event_stream' = 'always'): MethodDecorator => SetMetadata(STREAM_ROUTE_KEY, when);

/** Takes the slot before the handler runs (after the guard) and gives it back when the response closes. */
@Injectable()
export class StreamSlotInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly slots: StreamSlots,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const when = this.reflector.get<'always' | 'event_stream' | undefined>(STREAM_ROUTE_KEY, context.getHandler());
    const request = context.switchToHttp().getRequest<RequestWithTenant>();
    if (!when || !request.tenant) return next.handle();
    const follow = (request.query as { follow?: string } | undefined)?.follow;
    if (when === 'event_stream' && !wantsEventStream(request, follow)) return next.handle();
    const release = this.slots.acquire(request.tenant);
    // 'close' fires once per response: when it ends, fails, or the client goes away.
    context.switchToHttp().getResponse<{ raw: NodeJS.EventEmitter }>().raw.once('close', release);
    return next.handle();
  }
}
