/** Responses of the sandbox interaction routes (exec, shells, processes, files), as /openapi.json describes them. */

/** What a failed command's output says went wrong (see docs/insights.md). */
export class ExecSummaryResponseDto {
  /** python_exception, command_not_found, no_such_file, pip_error, timeout, ... */
  kind!: string;
  /** One line a person can read */
  summary!: string;
  /** A concrete next step when the cause is known */
  suggestion!: string | null;
}

export class ExecResultResponseDto {
  /** null when the process was killed (timeout, or the request went away). */
  exit_code!: number | null;
  timed_out!: boolean;
  duration_ms!: number;
  /** The first 1 MiB of stdout. */
  stdout!: string;
  /** The first 1 MiB of stderr. */
  stderr!: string;
  stdout_truncated!: boolean;
  stderr_truncated!: boolean;
  /** For a command that did not exit 0: what its output says went wrong; null otherwise */
  summary!: ExecSummaryResponseDto | null;
}

export class ShellCommandResponseDto {
  /** Pass to waitShellCommand to follow this command. */
  command_id!: string;
  /** running | completed */
  status!: 'running' | 'completed';
  exit_code!: number | null;
  /** stdout and stderr interleaved in arrival order, produced since the previous response for this command. */
  output!: string;
  /** Output was dropped because more than the cap accumulated unread. */
  truncated!: boolean;
  /** The shell's working directory after the command (completed only). */
  cwd!: string | null;
  duration_ms!: number;
  /** The shell ended with this command (exit, or killed by an interrupt): its state is gone. */
  shell_exited!: boolean;
}

export class ShellResponseDto {
  name!: string;
  busy!: boolean;
  running_command!: string | null;
  created_at!: string;
  last_used_at!: string;
}

export class ShellListResponseDto {
  items!: ShellResponseDto[];
}

export class ProcessResponseDto {
  process_id!: string;
  command!: string[];
  running!: boolean;
  exit_code!: number | null;
  started_at!: string;
  ended_at!: string | null;
}

export class ProcessListResponseDto {
  items!: ProcessResponseDto[];
}

export class ProcessOutputChunkResponseDto {
  seq!: number;
  /** stdout | stderr */
  stream!: 'stdout' | 'stderr';
  data!: string;
}

export class ProcessOutputPageResponseDto {
  items!: ProcessOutputChunkResponseDto[];
  /** Oldest sequence still held (older output was dropped from the bounded buffer). */
  first_seq!: number;
  /** Pass as `after` to read on. */
  next_after!: number;
  running!: boolean;
  exit_code!: number | null;
}

export class FileInfoResponseDto {
  name!: string;
  path!: string;
  /** file | directory | symlink | other */
  type!: 'file' | 'directory' | 'symlink' | 'other';
  size!: number;
  /** Octal permission bits, e.g. "0644". */
  mode!: string;
  modified_at!: string;
}

export class FileListResponseDto {
  path!: string;
  items!: FileInfoResponseDto[];
  /** More entries exist than one listing returns. */
  truncated!: boolean;
}

export class FileContentResponseDto {
  path!: string;
  /** utf8 | base64 */
  encoding!: string;
  content!: string;
  /** Bytes of the file. */
  size!: number;
}

export class ArchiveUploadResponseDto {
  /** The directory the archive was extracted into. */
  path!: string;
  files!: number;
  directories!: number;
  bytes!: number;
}
