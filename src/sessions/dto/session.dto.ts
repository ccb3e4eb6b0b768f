import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { TimeRangePageQueryDto } from 'src/common/pagination/page-query.dto';
import { IsScalarMap } from 'src/common/validators/is-string-map';
import {
  AGENT_TYPE_PATTERN,
  MAX_SESSION_IDLE_SECONDS,
  MIN_SESSION_IDLE_SECONDS,
  SESSION_STATUSES,
  SessionStatus,
} from 'src/session-links/session-model';

export class OpenSessionDto {
  /** What kind of client this is: claude-code, ci, custom, ... (lowercase, up to 32 characters). */
  @IsString() @Matches(AGENT_TYPE_PATTERN, { message: 'agent_type is a short lowercase word (letters, digits, . _ -)' })
  agent_type!: string;

  @IsOptional() @IsString() @Length(1, 100)
  name?: string;

  @IsOptional() @IsScalarMap(32)
  metadata?: Record<string, string | number | boolean>;

  /** Ended (reason idle) after this many seconds with no request carrying it (default 1800, 60–86400). */
  @IsOptional() @IsInt() @Min(MIN_SESSION_IDLE_SECONDS) @Max(MAX_SESSION_IDLE_SECONDS)
  idle_timeout_seconds?: number;

  /** On idle expiry also stop its sandboxes and cancel its unfinished jobs (default true). */
  @IsOptional() @IsBoolean()
  cleanup_on_idle?: boolean;
}

export class EndSessionDto {
  /** Also stop its live sandboxes and cancel its queued and running jobs. */
  @IsOptional() @IsBoolean()
  cleanup?: boolean;
}

export class ListSessionsQueryDto extends TimeRangePageQueryDto {
  @IsOptional() @IsIn(SESSION_STATUSES)
  status?: SessionStatus;

  @IsOptional() @IsString() @Matches(AGENT_TYPE_PATTERN)
  agent_type?: string;
}

export class SessionResponseDto {
  id!: string;
  workspace_id!: string;
  agent_type!: string;
  name!: string | null;
  metadata!: Record<string, unknown>;
  /** open | ended */
  status!: string;
  /** ended (by a client) | idle (expired); null while open */
  end_reason!: string | null;
  idle_timeout_seconds!: number;
  cleanup_on_idle!: boolean;
  created_by!: string;
  created_at!: string;
  last_activity_at!: string;
  ended_at!: string | null;
}

export class SessionListResponseDto {
  items!: SessionResponseDto[];
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor!: string | null;
}

export class SessionJobDto {
  id!: string;
  status!: string;
  reason!: string | null;
  image!: string;
  created_at!: string;
  finished_at!: string | null;
  cpu_seconds!: number | null;
}

export class SessionSandboxDto {
  id!: string;
  name!: string | null;
  status!: string;
  exit_reason!: string | null;
  image!: string;
  created_at!: string;
  stopped_at!: string | null;
}

/** What the session's work used, from the job and sandbox rows (running work counted up to now). */
export class SessionWorkflowRunDto {
  id!: string;
  name!: string;
  status!: string;
  conclusion!: string | null;
  created_at!: string;
  finished_at!: string | null;
}

export class SessionSpendDto {
  job_count!: number;
  /** CPU time of its jobs and of its workflow runs' service containers. */
  cpu_seconds!: number;
  /** Wall-clock seconds its jobs ran (started to finished). */
  job_seconds!: number;
  artifact_bytes!: number;
  sandbox_count!: number;
  /** From ready (or created) to stopped, now for live sandboxes: the measure of the sandbox-seconds quota. */
  sandbox_seconds!: number;
}

export class SessionViewResponseDto extends SessionResponseDto {
  /** Newest first, at most 100 (spend counts all). */
  jobs!: SessionJobDto[];
  /** Newest first, at most 100 (spend counts all). */
  sandboxes!: SessionSandboxDto[];
  spend!: SessionSpendDto;
  /** Its workflow runs, newest first (at most 100; GET /v1/workflows?session_id= lists all). */
  workflow_runs!: SessionWorkflowRunDto[];
  /** Set by end with cleanup: what this request stopped and cancelled. */
  cleanup?: { sandboxes_stopped: number; jobs_cancelled: number; workflow_runs_cancelled: number };
}
