import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { provideScopedRepository } from 'src/database/tenant-scoped.repository';
import { JobEntity } from 'src/jobs/entities/job.entity';
import { JobsModule } from 'src/jobs/jobs.module';
import { JobMetricHourEntity } from 'src/metrics/entities/job-metric-hour.entity';
import { JobMetricHours } from 'src/metrics/job-metric-hours';
import { MetricsController } from 'src/metrics/metrics.controller';
import { MetricsService } from 'src/metrics/metrics.service';
import { PlatformGauges } from 'src/metrics/platform-gauges';
import { PrometheusController } from 'src/metrics/prometheus.controller';

/** Run aggregates per workspace (/v1/metrics) and the Prometheus endpoint with its database-backed gauges. */
@Module({
  imports: [JobsModule, TypeOrmModule.forFeature([JobEntity, JobMetricHourEntity])],
  controllers: [MetricsController, PrometheusController],
  providers: [MetricsService, PlatformGauges, JobMetricHours, provideScopedRepository(JobMetricHourEntity), provideScopedRepository(JobEntity)],
  exports: [MetricsService, PlatformGauges],
})
export class MetricsModule {}
