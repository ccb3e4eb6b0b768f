import { Transform, Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { TimeRangePageQueryDto } from 'src/common/pagination/page-query.dto';
import { SANDBOX_COMMAND_KINDS, SandboxCommandKind } from 'src/sandboxes/history/sandbox-command.entity';
import { SANDBOX_HISTORY_LIMITS } from 'src/sandboxes/history/command-record';

/** Filters of GET /v1/sandboxes/:id/commands (all optional, ANDed); since/until are on started_at. */
export class ListSandboxCommandsQueryDto extends TimeRangePageQueryDto {
  @IsOptional() @IsIn(SANDBOX_COMMAND_KINDS)
  kind?: SandboxCommandKind;

  /** Commands of this persistent shell. */
  @IsOptional() @IsString() @Matches(/^[A-Za-z0-9_.-]{1,64}$/)
  shell?: string;

  @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(255)
  exit_code?: number;

  /** true: only commands that did not succeed (another exit code, a timeout, an engine error). */
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsIn([true, false], { message: 'failed must be true or false' })
  failed?: boolean;

  /** The (masked) command text contains this, case-insensitive. */
  @IsOptional() @IsString() @Length(1, SANDBOX_HISTORY_LIMITS.containsMaxChars)
  contains?: string;
}

export class SandboxCommandResponseDto {
  id!: string;
  sandbox_id!: string;
  /** exec (one-shot) or shell (a persistent shell's command) */
  kind!: string;
  /** The shell's name (shell commands only). */
  shell!: string | null;
  /** The command as run, secrets masked as ***, at most 4096 characters. */
  command!: string;
  command_truncated!: boolean;
  /** succeeded | failed | timed_out | error */
  status!: string;
  /** timeout | cancelled | interrupted | shell_exited | engine_error, or null when it simply exited. */
  reason!: string | null;
  exit_code!: number | null;
  started_at!: string;
  finished_at!: string;
  duration_ms!: number;
  /** Bytes the command wrote (counted, not kept). */
  stdout_bytes!: number;
  stderr_bytes!: number;
  output_bytes!: number;
  /** The caller did not receive all of it (over the 1 MiB collection cap). */
  output_truncated!: boolean;
  /** The token that ran it. */
  created_by!: string;
}

export class SandboxCommandListResponseDto {
  items!: SandboxCommandResponseDto[];
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor!: string | null;
}
