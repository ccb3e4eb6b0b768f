import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';
import { TimeRangePageQueryDto } from 'src/common/pagination/page-query.dto';
import { JOB_STATUSES, JobStatus } from 'src/jobs/job-model';

export class ListJobsQueryDto extends TimeRangePageQueryDto {
  @IsOptional() @IsIn(JOB_STATUSES)
  status?: JobStatus;

  /** Jobs carrying this tag. */
  @IsOptional() @IsString() @MaxLength(64)
  tag?: string;

  /** Image name (exact, or a prefix ending with *). */
  @IsOptional() @IsString() @MaxLength(256)
  image?: string;

  /** Jobs created in this agent session. */
  @IsOptional() @IsUUID()
  session_id?: string;
}

export class JobLogsQueryDto {
  /** Return chunks after this sequence number (0 = from the start). */
  @IsOptional() @Type(() => Number) @IsInt() @Min(0)
  after?: number;

  /** Only the last N chunks. */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(10000)
  tail?: number;

  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(5000)
  limit?: number;

  /** `json` (default) or `text` (raw output as text/plain). */
  @IsOptional() @IsIn(['json', 'text'])
  format?: 'json' | 'text';

  /** Stream over Server-Sent Events (same as Accept: text/event-stream). */
  @IsOptional() @IsIn(['true', 'false'])
  follow?: 'true' | 'false';
}

export class WaitJobQueryDto {
  /** Longest wait in seconds (1–300, default 60). */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(300)
  timeout_seconds?: number;
}
