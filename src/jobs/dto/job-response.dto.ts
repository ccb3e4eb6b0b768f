export class StepResultDto {
  index!: number;
  name!: string;
  /** pending | running | succeeded | failed | timed_out | cancelled | skipped */
  status!: string;
  continue_on_error!: boolean;
  exit_code!: number | null;
  started_at!: string | null;
  finished_at!: string | null;
  duration_ms!: number | null;
}

export class JobResourcesResponseDto {
  cpu!: number;
  memory_mb!: number;
  pids!: number;
  disk_mb!: number;
}

export class JobUsageDto {
  cpu_seconds!: number | null;
  memory_peak_bytes!: number | null;
  output_bytes!: number;
  output_truncated!: boolean;
}

export class JobApprovalReasonDto {
  rule!: string;
  field!: string;
  message!: string;
}

/** The approval a policy asked for before this job may run. */
export class JobApprovalResponseDto {
  id!: string;
  /** pending | approved | rejected | expired */
  status!: string;
  reasons!: JobApprovalReasonDto[];
  expires_at!: string;
  decided_by!: string | null;
  decided_at!: string | null;
  comment!: string | null;
}

export class JobResponseDto {
  id!: string;
  workspace_id!: string;
  /** The agent session it was created in, if any. */
  session_id!: string | null;
  /** awaiting_approval | queued | running | succeeded | failed | timed_out | cancelled */
  status!: string;
  /** Why it ended: completed, step_failed, oom_killed, timeout, cancelled, image_not_found, engine_unavailable, interrupted... */
  reason!: string | null;
  message!: string | null;
  exit_code!: number | null;
  image!: string;
  steps!: StepResultDto[];
  /** Commands as submitted, in step order. */
  commands!: string[];
  env_keys!: string[];
  /** Environment variable → secret name the job asked for (never values). */
  secrets!: Record<string, string>;
  resources!: JobResourcesResponseDto;
  network!: string;
  timeout_seconds!: number;
  artifact_patterns!: string[];
  cleanup_policy!: string;
  tags!: string[];
  intent!: string | null;
  triggered_by!: string | null;
  metadata!: Record<string, unknown>;
  idempotency_key!: string | null;
  usage!: JobUsageDto;
  /** Set when a policy held the job for approval: the request and, once decided, the decision and comment. */
  approval!: JobApprovalResponseDto | null;
  created_at!: string;
  started_at!: string | null;
  finished_at!: string | null;
  duration_ms!: number | null;
}

export class JobListResponseDto {
  items!: JobResponseDto[];
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor!: string | null;
}

export class ArtifactResponseDto {
  name!: string;
  size_bytes!: number;
  sha256!: string;
  content_type!: string;
  created_at!: string;
}

export class ArtifactListResponseDto {
  items!: ArtifactResponseDto[];
}

export class LogChunkDto {
  seq!: number;
  /** -1 for messages from OrcaOps itself. */
  step!: number;
  /** stdout | stderr | system */
  stream!: string;
  data!: string;
  at!: string;
}

export class JobLogsResponseDto {
  items!: LogChunkDto[];
  /** Pass as `after` to continue. */
  next_after!: number;
  /** True once the job is terminal and every chunk has been read. */
  complete!: boolean;
  truncated!: boolean;
}
