import { Transform, Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsBoolean, IsIn, IsInt, IsOptional, IsString, Length, Max, MaxLength, Min } from 'class-validator';
import { IsStringMap } from 'src/common/validators/is-string-map';
import { ENV_MAP } from 'src/domain/container-spec';
import { INTERACTION_LIMITS } from 'src/sandboxes/interaction/interaction.limits';

/** Base64 of the JSON content cap. */
const JSON_CONTENT_CHARS = Math.ceil((INTERACTION_LIMITS.jsonContentMaxBytes * 4) / 3) + 4;

/** A command: `command` (run by /bin/sh -c) or `args` (argv), with optional cwd and env. */
export class CommandDto {
  /** Shell command, run with /bin/sh -c. Give `command` or `args`. */
  @IsOptional() @IsString() @Length(1, 65_536)
  command?: string;

  /** argv run without a shell. Give `command` or `args`. */
  @IsOptional() @IsArray() @ArrayMinSize(1) @ArrayMaxSize(256) @IsString({ each: true }) @MaxLength(32_768, { each: true })
  args?: string[];

  /** Working directory: absolute, or relative to /workspace (default /workspace). */
  @IsOptional() @IsString() @Length(1, 4096)
  cwd?: string;

  /** Added to the sandbox's environment for this command. */
  @IsOptional() @IsStringMap(ENV_MAP)
  env?: Record<string, string>;
}

export class ExecDto extends CommandDto {
  /** Hard limit: the whole process group is killed when it expires (default 60, max 3600). */
  @IsOptional() @IsInt() @Min(1) @Max(INTERACTION_LIMITS.execMaxTimeoutSeconds)
  timeout_seconds?: number;

  /** Written to the process's stdin, which is then closed (stdin is empty otherwise). */
  @IsOptional() @IsString() @MaxLength(INTERACTION_LIMITS.jsonContentMaxBytes)
  stdin?: string;
}

export class ShellRunDto {
  /** Shell text, run in the persistent shell (cd, export and variables persist). */
  @IsString() @Length(1, 65_536)
  command!: string;

  /** Soft timeout: after it, the output so far is returned and the command keeps running (default 30). */
  @IsOptional() @IsInt() @Min(0) @Max(INTERACTION_LIMITS.shellMaxWaitSeconds)
  timeout_seconds?: number;
}

export class ShellWaitDto {
  /** How long to wait for completion before returning the new output (default 30). */
  @IsOptional() @IsInt() @Min(0) @Max(INTERACTION_LIMITS.shellMaxWaitSeconds)
  timeout_seconds?: number;

  /** The running command this wait is about (a stale id answers 409). */
  @IsOptional() @IsString() @Length(36, 36)
  command_id?: string;
}

export class InputDto {
  /** Bytes for stdin (utf8 text unless encoding is base64). */
  @IsString() @MaxLength(1024 * 1024)
  data!: string;

  @IsOptional() @IsIn(['utf8', 'base64'])
  encoding?: 'utf8' | 'base64';
}

export class ProcessInputDto extends InputDto {
  /** Close the process's stdin after the data (e.g. to end `cat`). */
  @IsOptional() @IsBoolean()
  eof?: boolean;
}

export class ProcessOutputQueryDto {
  /** Chunks after this sequence number (0 = from the oldest held). */
  @IsOptional() @Type(() => Number) @IsInt() @Min(0)
  after?: number;

  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(5000)
  limit?: number;

  /** Only the last N chunks. */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(5000)
  tail?: number;

  /** Stream as Server-Sent Events until the process ends (same as Accept: text/event-stream). */
  @IsOptional() @IsIn(['true', 'false'])
  follow?: string;
}

export class PathQueryDto {
  /** Absolute, or relative to /workspace. */
  @IsString() @Length(1, 4096)
  path!: string;
}

export class ReadFileQueryDto extends PathQueryDto {
  /** utf8 (default) or base64 for the JSON form; Accept: application/octet-stream downloads raw bytes. */
  @IsOptional() @IsIn(['utf8', 'base64'])
  encoding?: 'utf8' | 'base64';
}

export class DeleteFileQueryDto extends PathQueryDto {
  @IsOptional() @Transform(({ value }) => value === 'true' || value === true)
  @IsBoolean()
  recursive?: boolean;
}

export class WriteFileDto {
  @IsString() @Length(1, 4096)
  path!: string;

  @IsString() @MaxLength(JSON_CONTENT_CHARS)
  content!: string;

  @IsOptional() @IsIn(['utf8', 'base64'])
  encoding?: 'utf8' | 'base64';
}

export class MakeDirectoryDto {
  @IsString() @Length(1, 4096)
  path!: string;
}

export class MoveFileDto {
  @IsString() @Length(1, 4096)
  from!: string;

  @IsString() @Length(1, 4096)
  to!: string;
}
