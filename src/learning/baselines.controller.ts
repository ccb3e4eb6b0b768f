import { Body, Controller, Delete, Get, HttpCode, Injectable, Param, Patch, PipeTransform, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { notFound } from 'src/common/errors/orcaops.error';
import { idOf } from 'src/common/pipes/resource-id.pipe';
import {
  AnomalyListResponseDto,
  AnomalyResponseDto,
  BaselineListResponseDto,
  BaselineResponseDto,
  ListAnomaliesQueryDto,
  ListBaselinesQueryDto,
  SetAnomalyStateDto,
} from 'src/learning/dto/baseline.dto';
import { RunBaselines } from 'src/learning/run-baselines.service';
import { RequirePermission, Tenant } from 'src/tenancy/route-metadata';
import { TenantContext } from 'src/tenancy/tenant-context';

/** A fingerprint is 64 hex digits; anything else names no baseline (404, like an unknown one). */
@Injectable()
export class FingerprintPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!/^[0-9a-f]{64}$/i.test(value)) throw notFound('baseline', value);
    return value.toLowerCase();
  }
}

@ApiTags('insights')
@ApiBearerAuth()
@Controller('v1/insights/baselines')
export class BaselinesController {
  constructor(private readonly baselines: RunBaselines) {}

  @Get()
  @RequirePermission('job:read')
  @ApiOperation({ operationId: 'listBaselines', summary: 'Baselines of this workspace’s recurring runs (per fingerprint), most recently updated first' })
  list(@Tenant() ctx: TenantContext, @Query() q: ListBaselinesQueryDto): Promise<BaselineListResponseDto> {
    return this.baselines.list(ctx, q.cursor, q.limit);
  }

  @Get(':fingerprint')
  @RequirePermission('job:read')
  @ApiOperation({ operationId: 'getBaseline', summary: 'What is normal for one recurring run: success rate, duration, memory and CPU quantiles' })
  get(@Tenant() ctx: TenantContext, @Param('fingerprint', new FingerprintPipe()) fingerprint: string): Promise<BaselineResponseDto> {
    return this.baselines.get(ctx, fingerprint);
  }

  @Delete(':fingerprint')
  @HttpCode(204)
  @RequirePermission('workspace:admin')
  @ApiOperation({ operationId: 'resetBaseline', summary: 'Forget a baseline (audited): the next run of the fingerprint starts a new one' })
  async reset(@Tenant() ctx: TenantContext, @Param('fingerprint', new FingerprintPipe()) fingerprint: string): Promise<void> {
    await this.baselines.reset(ctx, fingerprint);
  }
}

@ApiTags('insights')
@ApiBearerAuth()
@Controller('v1/insights/anomalies')
export class AnomaliesController {
  constructor(private readonly baselines: RunBaselines) {}

  @Get()
  @RequirePermission('job:read')
  @ApiOperation({ operationId: 'listAnomalies', summary: 'Runs far outside their baseline (duration, memory), newest first; filter by state' })
  list(@Tenant() ctx: TenantContext, @Query() q: ListAnomaliesQueryDto): Promise<AnomalyListResponseDto> {
    return this.baselines.listAnomalies(ctx, { state: q.state, cursor: q.cursor, limit: q.limit });
  }

  @Patch(':id')
  @RequirePermission('workspace:admin')
  @ApiOperation({ operationId: 'setAnomalyState', summary: 'Acknowledge, resolve or reopen an anomaly (audited)' })
  setState(@Tenant() ctx: TenantContext, @Param('id', idOf('anomaly')) id: string, @Body() dto: SetAnomalyStateDto): Promise<AnomalyResponseDto> {
    return this.baselines.setAnomalyState(ctx, id, dto.state);
  }
}
