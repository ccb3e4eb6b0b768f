import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { httpStatusFor } from 'src/common/errors/error-status';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import { bearerToken } from 'src/http/auth/api-token.strategy';
import { PreviewProxy } from 'src/sandboxes/previews/preview-proxy.service';
import { SIGNED_ROUTE_SEGMENTS, splitPreviewUrl, TOKEN_ROUTE_SEGMENTS } from 'src/sandboxes/previews/preview-url';
import { PreviewsService, type PreviewTarget } from 'src/sandboxes/previews/previews.service';
import { buildTenantContext } from 'src/tenancy/tenant-context.factory';
import { TokenAuthService } from 'src/tenancy/token-auth.service';

const TOKEN_ROUTE = /^\/v1\/sandboxes\/([^/?]+)\/ports\/([^/?]+)(?:[/?]|$)/;
const SIGNED_ROUTE = /^\/v1\/previews\/([^/?]+)(?:[/?]|$)/;

/** The JSON error shape, written on the raw socket (no reply object exists for an upgrade). */
function refuse(socket: Duplex, error: unknown, requestId: string): void {
  const known = error instanceof OrcaOpsError ? error : new OrcaOpsError('internal_error', 'internal error');
  const status = httpStatusFor(known.code);
  const body = JSON.stringify({ error: { code: known.code, message: known.message, details: known.details ?? {}, request_id: requestId } });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `x-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/**
 * WebSocket (Upgrade) requests on the preview routes, which Fastify does not route: the same two
 * ways in as plain HTTP (the caller's bearer token with sandbox:exec, or a signed preview URL checked
 * on every connection), then PreviewProxy.upgrade. Any other Upgrade request is refused with a 404.
 */
export function installPreviewUpgrades(app: NestFastifyApplication): void {
  const tokens = app.get(TokenAuthService);
  const previews = app.get(PreviewsService);
  const proxy = app.get(PreviewProxy);
  const server = app.getHttpAdapter().getInstance().server;
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const requestId = randomUUID();
    socket.on('error', () => undefined);
    void (async (): Promise<void> => {
      const url = request.url ?? '/';
      let target: PreviewTarget;
      let segments: number;
      const byToken = TOKEN_ROUTE.exec(url);
      const signed = SIGNED_ROUTE.exec(url);
      if (byToken) {
        const principal = await tokens.authenticate(bearerToken(request.headers.authorization));
        const ctx = buildTenantContext(principal, requestId, request.socket.remoteAddress, 'rest');
        target = await previews.resolveForCaller(ctx, decodeURIComponent(byToken[1]!), Number(byToken[2]));
        segments = TOKEN_ROUTE_SEGMENTS;
      } else if (signed) {
        target = await previews.resolveSigned(decodeURIComponent(signed[1]!));
        segments = SIGNED_ROUTE_SEGMENTS;
      } else {
        throw new OrcaOpsError('not_found', 'No WebSocket endpoint here (only sandbox ports and preview URLs)');
      }
      const { prefix, path } = splitPreviewUrl(url, segments);
      proxy.upgrade(target, { method: request.method ?? 'GET', path, headers: request.headers, prefix }, socket, head);
    })().catch((error: unknown) => refuse(socket, error, requestId));
  });
}
