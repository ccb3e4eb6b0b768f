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
  /** Block I/O of the container, summed over devices (largest sample; null when never sampled). */
  block_read_bytes!: number | null;
  block_write_bytes!: number | null;
  /** Most processes seen at once (sampled). */
  pids_peak!: number | null;
}

/** When the run reached each phase (ISO 8601); a phase it never reached is absent. */
export class RunPhasesDto {
  queued_at?: string;
  admitted_at?: string;
  image_ready_at?: string;
  started_at?: string;
  steps_finished_at?: string;
  artifacts_started_at?: string;
  artifacts_finished_at?: string;
  finished_at?: string;
}

/** What the run was and where it ran (docs/run-records.md). Null fields: rows older than run records. */
export class RunRecordDto {
  /** sha256 of the normalised spec (image, steps, resources, network): groups runs of the same thing. */
  fingerprint!: string | null;
  /** Docker engine version and API version. */
  engine_version!: string | null;
  /** OCI runtime and its version (e.g. "runc 1.1.5"). */
  runtime_version!: string | null;
  phases!: RunPhasesDto | null;
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
  /** Why it ended: completed, step_failed, oom_killed, timeout, cancelled, image_not_found, image_pull_failed, engine_unavailable, interrupted... */
  reason!: string | null;
  message!: string | null;
  exit_code!: number | null;
  image!: string;
  /** The digest the image resolved to when the job ran (sha256:…); null for images built on this engine or before it ran. */
  image_digest!: string | null;
  /** if_not_present | always | never */
  pull_policy!: string;
  /** The pull phase (not counted in duration_ms; the timeout starts after it); null when nothing was pulled. */
  pull_started_at!: string | null;
  pull_finished_at!: string | null;
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
  record!: RunRecordDto;
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

export class ExcerptLineDto {
  /** 1-based line of the job's combined output */
  line!: number;
  /** The line as text: printable, at most 300 characters */
  text!: string;
}

/** What a finished job's output says went wrong, for a person or an agent. Secrets are masked. */
export class JobSummaryResponseDto {
  job_id!: string;
  /** The job's status when it ended */
  status!: string;
  /**
   * succeeded | oom_killed | timeout | cancelled | platform | python_exception | node_error | typescript_error |
   * go_panic | go_build_error | java_exception | command_not_found | no_such_file | permission_denied | pip_error |
   * npm_error | apt_error | pytest_failure | jest_failure | go_test_failure | error_line | unknown
   */
  kind!: string;
  /** One line a person can read */
  summary!: string;
  /** The line of the output that carries the error; null when the run record explains the end (OOM, timeout) */
  error_line!: number | null;
  /** The lines that support the summary (at most 15) */
  excerpt!: ExcerptLineDto[];
  /** A concrete next step when the cause is known */
  suggestion!: string | null;
  /** Bytes of output analysed */
  analysed_bytes!: number;
}
