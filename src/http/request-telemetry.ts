import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { PlatformMetrics } from 'src/telemetry/platform-metrics';
import type { RequestWithTenant } from 'src/tenancy/route-metadata';

/**
 * Per request, once answered: the duration histogram by route template (Fastify's matched pattern,
 * `unmatched` for 404s, so the label set is bounded by the routes), and a JSON access line at debug
 * level carrying the request id and, once authenticated, the workspace and token ids.
 */
export function installRequestTelemetry(app: NestFastifyApplication): void {
  const histogram = app.get(PlatformMetrics).httpRequestDuration;
  const logger = new Logger('HTTP');
  app.getHttpAdapter().getInstance().addHook('onResponse', (request: RequestWithTenant, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    histogram.observe({ method: request.method, route, status: String(reply.statusCode) }, seconds);
    const principal = request.tenant?.principal ?? request.principal;
    logger.debug({
      msg: 'request',
      requestId: request.id,
      method: request.method,
      route,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      workspaceId: principal?.kind === 'workspace' ? principal.workspaceId : undefined,
      tokenId: principal?.tokenId,
    });
    done();
  });
}
