import { Controller, Get, Header, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { JobMetricsQueryDto } from 'src/metrics/dto/job-metrics-query.dto';
import { JobMetricsResponseDto } from 'src/metrics/dto/job-metrics-response.dto';
import { MetricsService } from 'src/metrics/metrics.service';
import { RequirePermission, Tenant } from 'src/tenancy/route-metadata';
import { TenantContext } from 'src/tenancy/tenant-context';

@ApiTags('metrics')
@ApiBearerAuth()
@Controller('v1/metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get('jobs')
  @RequirePermission('job:read')
  @Header('cache-control', 'no-store')
  @ApiOperation({ operationId: 'getJobMetrics', summary: 'Job counts by outcome, success rate, duration and queue-wait percentiles, CPU and memory, per time bucket (and image)' })
  jobs(@Tenant() ctx: TenantContext, @Query() q: JobMetricsQueryDto): Promise<JobMetricsResponseDto> {
    return this.metrics.jobMetrics(ctx, { from: q.from, to: q.to, bucket: q.bucket, groupBy: q.group_by, image: q.image, tag: q.tag });
  }
}
