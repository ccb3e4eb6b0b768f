import { Module } from '@nestjs/common';
import { JobsModule } from 'src/jobs/jobs.module';
import { MetricsController } from 'src/metrics/metrics.controller';
import { MetricsService } from 'src/metrics/metrics.service';
import { PlatformGauges } from 'src/metrics/platform-gauges';
import { PrometheusController } from 'src/metrics/prometheus.controller';

/** Run aggregates per workspace (/v1/metrics) and the Prometheus endpoint with its database-backed gauges. */
@Module({
  imports: [JobsModule],
  controllers: [MetricsController, PrometheusController],
  providers: [MetricsService, PlatformGauges],
  exports: [MetricsService, PlatformGauges],
})
export class MetricsModule {}
