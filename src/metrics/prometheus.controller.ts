import { Controller, Get, Res } from '@nestjs/common';
import { ApiExcludeEndpoint } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { PlatformMetrics } from 'src/telemetry/platform-metrics';
import { ScrapeTokenRoute } from 'src/tenancy/route-metadata';

/**
 * The Prometheus scrape endpoint. Not an API operation (left out of the OpenAPI document): it takes the
 * metrics token, not an API token, and answers 404 while ORCAOPS_METRICS_TOKEN is unset.
 */
@Controller()
export class PrometheusController {
  constructor(private readonly metrics: PlatformMetrics) {}

  @Get('metrics')
  @ScrapeTokenRoute()
  @ApiExcludeEndpoint()
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    const { contentType, body } = await this.metrics.render();
    await reply.header('content-type', contentType).header('cache-control', 'no-store').send(body);
  }
}
