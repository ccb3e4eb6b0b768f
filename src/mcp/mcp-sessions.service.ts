import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { randomUUID } from 'node:crypto';
import { notFound, OrcaOpsError } from 'src/common/errors/orcaops.error';
import { readEnv } from 'src/config/orcaops.config';
import { McpServerFactory } from 'src/mcp/mcp-server.factory';
import type { ToolExtra } from 'src/mcp/tool-kit';
import type { TenantContext } from 'src/tenancy/tenant-context';
import { PlatformMetrics } from 'src/telemetry/platform-metrics';

/** Read from the environment when used (not at import), so tests and tools can set it first. */
export const MCP_SESSION_LIMITS = {
  /** A session with no request for this long is closed (its client re-initializes); ORCAOPS_MCP_SESSION_IDLE_MS. */
  get idleMs(): number {
    return readEnv().ORCAOPS_MCP_SESSION_IDLE_MS;
  },
  /** Idle sessions are looked for this often: a quarter of the idle time, between 1 s and 1 min. */
  get sweepMs(): number {
    return Math.min(60_000, Math.max(1000, Math.floor(this.idleMs / 4)));
  },
  perToken: 32,
  /** All tokens of one workspace together; ORCAOPS_MCP_SESSIONS_PER_WORKSPACE. */
  get perWorkspace(): number {
    return readEnv().ORCAOPS_MCP_SESSIONS_PER_WORKSPACE;
  },
  total: 2000,
};

interface McpSession {
  id: string;
  /** The token that opened it: only that token may use it (another one gets 404). */
  tokenId: string;
  /** The token's workspace (undefined for organisation tokens), for the per-workspace cap. */
  workspaceId: string | undefined;
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  lastUsedAt: number;
  /** Requests being handled (an open GET stream counts): a busy session is never idle. */
  inFlight: number;
}

function sessionCap(scope: 'token' | 'workspace' | 'server', max: number, env?: string): OrcaOpsError {
  const idleMinutes = Math.round(MCP_SESSION_LIMITS.idleMs / 60_000);
  return new OrcaOpsError(
    'rate_limited',
    `Too many open MCP sessions for this ${scope}: at most ${max}${env ? ` (${env})` : ''}. Close unused ones ` +
      `(DELETE /mcp with their Mcp-Session-Id); idle sessions close after ${idleMinutes} min`,
    { limit: `mcp_sessions_per_${scope}`, max, retry_after_seconds: 30 },
  );
}

/** The caller's context for one call: the HTTP request carrying it puts it into the SDK's authInfo. */
export function contextFromRequest(base: TenantContext): (extra: ToolExtra) => TenantContext {
  return (extra) => (extra.authInfo?.extra?.tenant as TenantContext | undefined) ?? base;
}

/**
 * Streamable HTTP sessions, in this server's memory (like shells): bound to the token that opened
 * them, closed on DELETE, when idle, and at shutdown. A restart loses them; clients re-initialize.
 */
@Injectable()
export class McpSessions implements OnModuleDestroy {
  private readonly logger = new Logger('McpSessions');
  private readonly sessions = new Map<string, McpSession>();
  private readonly sweeper = setInterval(() => this.closeIdle(), MCP_SESSION_LIMITS.sweepMs).unref();

  constructor(
    private readonly factory: McpServerFactory,
    metrics: PlatformMetrics,
  ) {
    metrics.gauge('orcaops_mcp_sessions', 'Open MCP sessions on this server', [], () => this.sessions.size);
  }

  get size(): number {
    return this.sessions.size;
  }

  /** A new session's transport; it is stored once the SDK has answered initialize. */
  async open(ctx: TenantContext): Promise<StreamableHTTPServerTransport> {
    const workspaceId = ctx.principal.kind === 'workspace' ? ctx.principal.workspaceId : undefined;
    const all = [...this.sessions.values()];
    const owned = all.filter((s) => s.tokenId === ctx.principal.tokenId).length;
    const inWorkspace = workspaceId ? all.filter((s) => s.workspaceId === workspaceId).length : 0;
    if (owned >= MCP_SESSION_LIMITS.perToken) throw sessionCap('token', MCP_SESSION_LIMITS.perToken);
    if (workspaceId && inWorkspace >= MCP_SESSION_LIMITS.perWorkspace) throw sessionCap('workspace', MCP_SESSION_LIMITS.perWorkspace, 'ORCAOPS_MCP_SESSIONS_PER_WORKSPACE');
    if (this.sessions.size >= MCP_SESSION_LIMITS.total) throw sessionCap('server', MCP_SESSION_LIMITS.total);
    const server = this.factory.createMcpServer(ctx, contextFromRequest(ctx));
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        this.sessions.set(id, { id, tokenId: ctx.principal.tokenId, workspaceId, transport, server, lastUsedAt: Date.now(), inFlight: 0 });
      },
      onsessionclosed: (id) => this.forget(id),
    });
    transport.onclose = () => {
      if (transport.sessionId) this.forget(transport.sessionId);
    };
    await server.connect(transport);
    return transport;
  }

  /** The session's transport, if this token opened it; otherwise 404, as for an unknown id. */
  find(id: string, ctx: TenantContext): StreamableHTTPServerTransport {
    const session = this.sessions.get(id);
    if (!session || session.tokenId !== ctx.principal.tokenId) throw notFound('MCP session', id);
    return session.transport;
  }

  /** Marks the session busy while `handle` runs. */
  async track(id: string | undefined, handle: () => Promise<void>): Promise<void> {
    const before = id ? this.sessions.get(id) : undefined;
    if (before) {
      before.inFlight++;
      before.lastUsedAt = Date.now();
    }
    try {
      await handle();
    } finally {
      if (before) {
        before.inFlight--;
        before.lastUsedAt = Date.now();
      }
    }
  }

  closeIdle(now = Date.now()): void {
    for (const session of [...this.sessions.values()]) {
      if (session.inFlight === 0 && now - session.lastUsedAt > MCP_SESSION_LIMITS.idleMs) this.close(session, 'idle');
    }
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
    for (const session of [...this.sessions.values()]) this.close(session, 'shutdown');
  }

  private close(session: McpSession, why: string): void {
    this.forget(session.id);
    this.logger.log({ msg: 'MCP session closed', session: session.id, why });
    session.server.close().catch((error: unknown) => this.logger.warn({ msg: 'MCP session close failed', session: session.id, err: String(error) }));
  }

  private forget(id: string): void {
    this.sessions.delete(id);
  }
}
