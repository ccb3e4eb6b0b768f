import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Length, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import { WORKSPACE_STATUSES, WorkspaceStatus } from 'src/tenancy/entities/workspace.entity';

export class WorkspaceSettingsDto {
  /** Days a finished job's record and artifacts are kept (1–365). */
  @IsOptional() @IsInt() @Min(1) @Max(365)
  job_retention_days?: number;

  @IsOptional() @IsString() @MaxLength(500)
  description?: string;

  /** Organisation admins only: allow jobs and sandboxes to request network egress. */
  @IsOptional() @IsBoolean()
  allow_network_egress?: boolean;

  /** Organisation admins only: jobs running at once in this workspace (1–64). Stored as the running_jobs quota (PUT /v1/workspaces/:id/quotas). */
  @IsOptional() @IsInt() @Min(1) @Max(64)
  max_concurrent_jobs?: number;

  /** Organisation admins only: sandboxes alive at once in this workspace (1–1000, default 10). Stored as the concurrent_sandboxes quota. */
  @IsOptional() @IsInt() @Min(1) @Max(1000)
  max_sandboxes?: number;

  /**
   * Organisation admins only: sandbox-seconds this workspace may use per UTC day (60–10,000,000;
   * null = unlimited). Once reached, new sandboxes are refused (429) and running ones expire. Stored as the
   * sandbox_seconds_per_day quota.
   */
  @IsOptional() @IsInt() @Min(60) @Max(10_000_000)
  max_sandbox_seconds_per_day?: number | null;
}

export class CreateWorkspaceDto {
  @IsString() @Length(1, 100)
  name!: string;

  @IsOptional() @ValidateNested() @Type(() => WorkspaceSettingsDto)
  settings?: WorkspaceSettingsDto;
}

export class UpdateWorkspaceDto {
  @IsOptional() @IsString() @Length(1, 100)
  name?: string;

  @IsOptional() @ValidateNested() @Type(() => WorkspaceSettingsDto)
  settings?: WorkspaceSettingsDto;

  /** Organisation admins only. `archived` is final. */
  @IsOptional() @IsIn(WORKSPACE_STATUSES)
  status?: WorkspaceStatus;
}

export class WorkspaceResponseDto {
  id!: string;
  name!: string;
  /** active | suspended | archived */
  status!: string;
  settings!: WorkspaceSettingsDto;
  created_at!: string;
  updated_at!: string;
  archived_at!: string | null;
}

export class WorkspaceListResponseDto {
  items!: WorkspaceResponseDto[];
}
