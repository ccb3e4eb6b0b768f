import { Controller, Delete, Get, Logger, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest, isJSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { RequirePermission, Tenant } from 'src/tenancy/route-metadata';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import { readEnv } from 'src/config/orcaops.config';
import { guardSlowReader } from 'src/common/http/event-stream';
import { StreamSlots } from 'src/streams/stream-slots';
import { McpSessions } from 'src/mcp/mcp-sessions.service';
import { TenantContext } from 'src/tenancy/tenant-context';

/**
 * Streamable HTTP at /mcp. Every request is authenticated (bearer token, verified at the HTTP edge
 * before the body is read, then the global guard; the route needs only a valid token because each
 * tool checks its own permission, as REST routes do) and bounded like any JSON route (body cap, read
 * deadline, write rate per token). The SDK transport gets the raw Node request and response and the
 * body Fastify already parsed.
 */
@ApiExcludeController()
@Controller('mcp')
export class McpController {
  private readonly logger = new Logger('McpController');
  private readonly allowedOrigins = readEnv()
    .ORCAOPS_ALLOWED_ORIGINS.split(',')
    .map((o) => o.trim())
    .filter(Boolean);

  constructor(
    private readonly sessions: McpSessions,
    private readonly slots: StreamSlots,
  ) {}

  @Post()
  @RequirePermission('authenticated')
  post(@Tenant() ctx: TenantContext, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.handle(ctx, request, reply);
  }

  @Get()
  @RequirePermission('authenticated')
  stream(@Tenant() ctx: TenantContext, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.handle(ctx, request, reply);
  }

  @Delete()
  @RequirePermission('authenticated')
  close(@Tenant() ctx: TenantContext, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.handle(ctx, request, reply);
  }

  private async handle(ctx: TenantContext, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    this.assertOrigin(request.headers.origin);
    const sessionId = request.headers['mcp-session-id'];
    const id = typeof sessionId === 'string' ? sessionId : undefined;
    // Every request but DELETE holds a stream slot while it is answered: a tool call that waits (run_job)
    // and the GET notification stream are long-polls. DELETE stays free so a client at its cap can close.
    const release = request.method === 'DELETE' ? undefined : this.slots.acquire(ctx);
    let transport: StreamableHTTPServerTransport;
    try {
      transport = await this.transportFor(ctx, id, request);
    } catch (error) {
      release?.();
      throw error;
    }
    const raw = request.raw as IncomingMessage & { auth?: AuthInfo };
    const tenant: TenantContext = { ...ctx, via: 'mcp' };
    raw.auth = { token: '', clientId: ctx.principal.tokenId, scopes: [...ctx.permissions], extra: { tenant } };
    // Headers set by hooks so far (x-request-id, CORS) are written before the SDK owns the response.
    for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) reply.raw.setHeader(name, value);
    reply.hijack();
    guardSlowReader(reply.raw, request.id);
    reply.raw.once('close', () => {
      release?.();
      // The client went away before its answer: the calls it carried are cancelled, as if it had sent
      // notifications/cancelled, so a waiting tool (run_job) cancels the work it started.
      if (!reply.raw.writableFinished) this.cancelCalls(transport, request.body);
    });
    await this.sessions.track(id, () => transport.handleRequest(raw, reply.raw, request.body)).catch((error: unknown) => {
      this.logger.error({ msg: 'MCP request failed', requestId: request.id, err: String(error) });
      if (!reply.raw.headersSent) reply.raw.writeHead(500).end();
    });
  }

  private cancelCalls(transport: StreamableHTTPServerTransport, body: unknown): void {
    const messages = Array.isArray(body) ? (body as unknown[]) : [body];
    for (const message of messages) {
      if (!isJSONRPCRequest(message) || message.method === 'initialize') continue;
      transport.onmessage?.({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: message.id, reason: 'client disconnected' } });
    }
  }

  private transportFor(ctx: TenantContext, id: string | undefined, request: FastifyRequest): Promise<StreamableHTTPServerTransport> | StreamableHTTPServerTransport {
    if (id) return this.sessions.find(id, ctx);
    if (request.method === 'POST' && isInitializeRequest(request.body)) return this.sessions.open(ctx);
    throw new OrcaOpsError('bad_request', 'Start with an initialize request, then send the Mcp-Session-Id header it returned');
  }

  /** Browsers from other sites are refused (DNS rebinding, stray pages); non-browser clients send no Origin. */
  private assertOrigin(origin: string | undefined): void {
    if (origin === undefined || this.allowedOrigins.includes('*') || this.allowedOrigins.includes(origin)) return;
    throw new OrcaOpsError('forbidden', `Origin ${origin} may not use /mcp (set ORCAOPS_ALLOWED_ORIGINS to allow it)`);
  }
}
