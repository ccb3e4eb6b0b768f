import { applyDecorators } from '@nestjs/common';
import { Type } from 'class-transformer';
import { ArrayUnique, IsArray, IsIn, IsInt, IsOptional, Max, Min, ValidateNested } from 'class-validator';
import { Quota, QUOTA_DEFINITIONS, QUOTAS } from 'src/quotas/quota-model';

/** A limit within the quota's range; null = unlimited. */
function Limit(quota: Quota): PropertyDecorator {
  const { min, max } = QUOTA_DEFINITIONS[quota];
  return applyDecorators(IsOptional(), IsInt(), Min(min), Max(max));
}

/** New limits, by quota. A number sets it, null makes it unlimited; omitted quotas are unchanged. */
export class QuotaLimitsDto {
  @Limit('concurrent_jobs') concurrent_jobs?: number | null;
  @Limit('running_jobs') running_jobs?: number | null;
  @Limit('jobs_per_day') jobs_per_day?: number | null;
  @Limit('cpu_seconds_per_day') cpu_seconds_per_day?: number | null;
  @Limit('cpu_seconds_per_month') cpu_seconds_per_month?: number | null;
  @Limit('concurrent_sandboxes') concurrent_sandboxes?: number | null;
  @Limit('sandbox_seconds_per_day') sandbox_seconds_per_day?: number | null;
  @Limit('sandbox_seconds_per_month') sandbox_seconds_per_month?: number | null;
  @Limit('artifact_storage_bytes') artifact_storage_bytes?: number | null;
  @Limit('workflow_service_containers') workflow_service_containers?: number | null;
  @Limit('workflow_service_memory_mb') workflow_service_memory_mb?: number | null;
  @Limit('workflow_sources') workflow_sources?: number | null;
  @Limit('workflow_source_bytes') workflow_source_bytes?: number | null;
}

export class SetQuotasDto {
  @IsOptional() @ValidateNested() @Type(() => QuotaLimitsDto)
  limits?: QuotaLimitsDto;

  /** Quotas whose override is removed: the workspace inherits the organisation default again (for organisation defaults: the built-in one). */
  @IsOptional() @IsArray() @ArrayUnique() @IsIn(QUOTAS, { each: true })
  reset?: Quota[];
}

export class QuotaLimitResponseDto {
  quota!: string;
  /** null = unlimited */
  limit!: number | null;
  /** Where the limit comes from: workspace | organisation | default */
  source!: string;
  /** jobs | sandboxes | seconds | bytes */
  unit!: string;
  /** day | month | null (UTC) */
  period!: string | null;
  description!: string;
}

export class QuotaLimitsResponseDto {
  /** null for the organisation defaults. */
  workspace_id!: string | null;
  items!: QuotaLimitResponseDto[];
}

export class QuotaUsageResponseDto extends QuotaLimitResponseDto {
  current!: number;
  /** null when unlimited */
  remaining!: number | null;
  /** When a per-day/per-month count starts again (ISO, UTC midnight); null for concurrency and storage. */
  resets_at!: string | null;
}

export class WorkspaceUsageResponseDto {
  workspace_id!: string;
  measured_at!: string;
  items!: QuotaUsageResponseDto[];
}
