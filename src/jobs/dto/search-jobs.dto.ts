import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { PageQueryDto } from 'src/common/pagination/page-query.dto';
import { QUERY_LIMITS } from 'src/jobs/records/run-query';

export class SearchJobsQueryDto extends PageQueryDto {
  /** Run query (docs/run-records.md#query-syntax), e.g. `status:failed image:orcaops/python* duration>30s "Traceback"`. Empty: every run. */
  @IsOptional() @IsString() @MaxLength(QUERY_LIMITS.maxLength)
  q?: string;
}

export class ExportJobsQueryDto {
  @IsOptional() @IsString() @MaxLength(QUERY_LIMITS.maxLength)
  q?: string;

  /** `jsonl` (default: one run record per line) or `csv`. */
  @IsOptional() @IsIn(['jsonl', 'csv'])
  format?: 'jsonl' | 'csv';

  /** Most rows to stream (default and ceiling: 100000). */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100_000)
  limit?: number;
}

export class DeleteJobsByQueryDto {
  /** Run query selecting the finished jobs to delete; at least one filter or text term is required. */
  @IsString() @MaxLength(QUERY_LIMITS.maxLength)
  q!: string;

  /** Count what would be deleted, delete nothing. */
  @IsOptional() @IsBoolean()
  dry_run?: boolean;
}

/** One run in search results: the record's fields, without the spec (getJob has the whole job). */
export class RunSummaryDto {
  id!: string;
  /** awaiting_approval | queued | running | succeeded | failed | timed_out | cancelled */
  status!: string;
  reason!: string | null;
  exit_code!: number | null;
  image!: string;
  fingerprint!: string | null;
  tags!: string[];
  triggered_by!: string | null;
  session_id!: string | null;
  metadata!: Record<string, unknown>;
  created_at!: string;
  started_at!: string | null;
  finished_at!: string | null;
  duration_ms!: number | null;
  cpu_seconds!: number | null;
  memory_peak_bytes!: number | null;
  block_read_bytes!: number | null;
  block_write_bytes!: number | null;
  pids_peak!: number | null;
  output_bytes!: number;
  output_truncated!: boolean;
}

export class RunSearchResponseDto {
  items!: RunSummaryDto[];
  /** Pass as `cursor` (with the same q) for the next page; null on the last page. */
  next_cursor!: string | null;
}

export class DeleteJobsByQueryResponseDto {
  /** Jobs deleted (or, with dry_run, that would be). */
  deleted!: number;
  /** True when more finished jobs match than one call deletes (1000): call again. */
  more!: boolean;
  dry_run!: boolean;
}
