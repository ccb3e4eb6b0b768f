import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsObject, IsOptional, IsString, IsUUID, Length, Matches, Max, MaxLength, Min } from 'class-validator';
import { IsStringMap } from 'src/common/validators/is-string-map';

const ENV_MAP = { maxKeys: 100, keyPattern: /^[A-Za-z_][A-Za-z0-9_]{0,127}$/, maxValueLength: 32_768 };
const IMAGE_MAP = { maxKeys: 50, keyPattern: /^[A-Za-z0-9_.:@/-]{1,256}$/, maxValueLength: 256 };
const PLATFORM_MAP = { maxKeys: 50, keyPattern: /^[A-Za-z0-9_.-]{1,128}$/, maxValueLength: 256 };

export class SubmitWorkflowDto {
  /** The workflow as YAML text (a GitHub Actions workflow file loads unchanged). Give this or `workflow`. */
  @IsOptional() @IsString() @Length(1, 1_000_000)
  yaml?: string;

  /** The workflow as a JSON object (the same keys as the YAML form). */
  @IsOptional() @IsObject()
  workflow?: Record<string, unknown>;

  /** File name used in diagnostics (file:line:column). */
  @IsOptional() @IsString() @MaxLength(256)
  file?: string;

  /** Values for `inputs` / `on.workflow_dispatch.inputs`. */
  @IsOptional() @IsObject()
  inputs?: Record<string, string | number | boolean>;

  /** Run-wide environment overriding the workflow's `env`. */
  @IsOptional() @IsStringMap(ENV_MAP)
  env?: Record<string, string>;

  /** runs-on label → image, over the workflow's `platforms` (e.g. ubuntu-latest: orcaops/python). */
  @IsOptional() @IsStringMap(PLATFORM_MAP)
  platforms?: Record<string, string>;

  /**
   * Image reference → local image, applied to job containers, `image:`, services and platforms
   * (run a file copied from GitHub against locally built images, e.g. postgres:16 → orcaops/busybox).
   */
  @IsOptional() @IsStringMap(IMAGE_MAP)
  images?: Record<string, string>;

  /** Any other `uses:` becomes a skipped step with a warning instead of a validation error. */
  @IsOptional() @IsBoolean()
  skip_unsupported?: boolean;

  /** Validate and return the plan (jobs, instances, display names, order) without running anything. */
  @IsOptional() @IsBoolean()
  dry_run?: boolean;

  /** Global cap on running instances (default: the workflow's max-parallel, else the CPU count). */
  @IsOptional() @IsInt() @Min(1) @Max(64)
  max_parallel?: number;

  /** A source uploaded with POST /v1/workflows/sources: actions/checkout brings it into the job. */
  @IsOptional() @IsUUID()
  source_id?: string;

  /** Links the run (and its instance jobs) to an open agent session of this workspace (wins over the X-OrcaOps-Session header). */
  @IsOptional() @IsUUID()
  session_id?: string;
}

export class ListWorkflowsQueryDto {
  @IsOptional() @IsIn(['running', 'completed'])
  status?: 'running' | 'completed';

  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(200)
  limit?: number;

  /** Runs submitted in this agent session. */
  @IsOptional() @IsUUID()
  session_id?: string;
}

/** Longest long-poll of GET /v1/workflows/:id/wait; a follower asks again (one held request per follower). */
export const MAX_WORKFLOW_WAIT_SECONDS = 60;

export class WaitWorkflowQueryDto {
  /** Longest wait in seconds (1–60, default 30); the current state comes back when it passes. */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(MAX_WORKFLOW_WAIT_SECONDS)
  timeout_seconds?: number;

  /** A `version` from an earlier read: return as soon as the run differs from it. Without it, wait for the run to complete. */
  @IsOptional() @IsString() @Matches(/^[0-9a-f]{1,64}$/, { message: 'after must be a version from an earlier read of the run' })
  after?: string;
}

export class WorkflowLogsQueryDto {
  /** The instance key or display name; one instance of the run. */
  @IsString() @Length(1, 1000)
  instance!: string;

  /** An earlier attempt's job (default: the latest attempt). */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(11)
  attempt?: number;

  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(10_000)
  tail?: number;
}

export interface WorkflowStepView {
  id: string;
  outcome: string;
  conclusion: string;
  outputs: Record<string, string>;
}

/** One try of an instance (a retry or a rerun adds one); each ran as its own OrcaOps job. */
export class WorkflowAttemptResponseDto {
  attempt!: number;
  job_id!: string | null;
  status!: string;
  reason!: string | null;
  started_at!: string;
  finished_at!: string | null;
  /** CPU-seconds the attempt's service containers used (counted against the workspace's CPU-seconds quotas like a job's); null without services. */
  services_cpu_seconds!: number | null;
}

export class WorkflowInstanceResponseDto {
  key!: string;
  job!: string;
  display_name!: string;
  matrix!: Record<string, unknown>;
  image!: string | null;
  status!: string;
  outcome!: string | null;
  conclusion!: string | null;
  reason!: string | null;
  message!: string | null;
  outputs!: Record<string, string>;
  attempt!: number;
  job_id!: string | null;
  attempts!: WorkflowAttemptResponseDto[];
  steps!: WorkflowStepView[];
  notes!: string[];
  summary!: string;
  started_at!: string | null;
  finished_at!: string | null;
}

export class WorkflowJobResponseDto {
  id!: string;
  name!: string;
  needs!: string[];
  phase!: string;
  result!: string | null;
  outcome!: string | null;
  message!: string | null;
  instances!: WorkflowInstanceResponseDto[];
}

export class WorkflowRunResponseDto {
  id!: string;
  name!: string;
  file!: string;
  /** sha256 of the normalised workflow (and its uploaded source): runs of the same workflow share it; null on older runs. */
  fingerprint!: string | null;
  status!: string;
  conclusion!: string | null;
  cancelled_by!: string | null;
  warnings!: string[];
  inputs!: Record<string, unknown>;
  /** Registry images as the run first resolved them (reference → sha256 digest); its later jobs and reruns use these digests. */
  image_digests!: Record<string, string>;
  jobs!: WorkflowJobResponseDto[];
  /** The agent session the run was submitted in (its instance jobs carry it too). */
  session_id!: string | null;
  created_at!: string;
  started_at!: string;
  finished_at!: string | null;
  /** Opaque token of this state: pass it as `after` to GET /v1/workflows/:id/wait to wait for the next change. */
  version!: string;
}

/** GET /v1/workflows/:id/wait: the run as GET returns it, plus why the wait returned. */
export class WorkflowRunWaitResponseDto extends WorkflowRunResponseDto {
  /** The run has completed (success, failure or cancelled): it will not change again. */
  terminal!: boolean;
  /** The timeout passed first: the run is still running and unchanged since `after`. */
  timed_out!: boolean;
}

export class WorkflowRunSummaryDto {
  id!: string;
  name!: string;
  status!: string;
  conclusion!: string | null;
  session_id!: string | null;
  created_at!: string;
  finished_at!: string | null;
}

export class WorkflowListResponseDto {
  items!: WorkflowRunSummaryDto[];
}

export class WorkflowPlanInstanceDto {
  key!: string;
  display_name!: string;
  matrix!: Record<string, unknown>;
  image!: string | null;
}

export class WorkflowPlanJobDto {
  id!: string;
  name!: string;
  needs!: string[];
  expansion!: string;
  steps!: number;
  skipped_reason!: string | null;
  instances!: WorkflowPlanInstanceDto[];
}

export class WorkflowPlanResponseDto {
  dry_run!: true;
  name!: string;
  warnings!: string[];
  order!: string[];
  static_instance_count!: number;
  jobs!: WorkflowPlanJobDto[];
}
