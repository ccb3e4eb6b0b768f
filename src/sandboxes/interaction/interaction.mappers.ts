import type {
  ArchiveUploadResponseDto,
  ExecResultResponseDto,
  FileContentResponseDto,
  FileInfoResponseDto,
  FileListResponseDto,
  ProcessOutputPageResponseDto,
  ProcessResponseDto,
  ShellCommandResponseDto,
  ShellResponseDto,
} from 'src/sandboxes/interaction/dto/interaction-response.dto';
import type { CollectedExec } from 'src/sandboxes/interaction/sandbox-exec.service';
import type { FileInfo } from 'src/sandboxes/interaction/sandbox-files.service';
import type { ProcessOutputPage, ProcessView } from 'src/sandboxes/interaction/sandbox-processes.service';
import type { ShellView } from 'src/sandboxes/interaction/sandbox-shells.service';
import type { ShellCommandView } from 'src/sandboxes/interaction/shell-session';

// Field by field, so a field added to a service view is not published until a DTO names it.

export function toExecResult(r: CollectedExec): ExecResultResponseDto {
  return {
    exit_code: r.exit_code,
    timed_out: r.timed_out,
    duration_ms: r.duration_ms,
    stdout: r.stdout,
    stderr: r.stderr,
    stdout_truncated: r.stdout_truncated,
    stderr_truncated: r.stderr_truncated,
    summary: r.summary && { kind: r.summary.kind, summary: r.summary.summary, suggestion: r.summary.suggestion },
  };
}

export function toShellCommand(v: ShellCommandView): ShellCommandResponseDto {
  return {
    command_id: v.command_id,
    status: v.status,
    exit_code: v.exit_code,
    output: v.output,
    truncated: v.truncated,
    cwd: v.cwd,
    duration_ms: v.duration_ms,
    shell_exited: v.shell_exited,
  };
}

export function toShell(v: ShellView): ShellResponseDto {
  return { name: v.name, busy: v.busy, running_command: v.running_command, created_at: v.created_at, last_used_at: v.last_used_at };
}

export function toProcess(v: ProcessView): ProcessResponseDto {
  return { process_id: v.process_id, command: v.command, running: v.running, exit_code: v.exit_code, started_at: v.started_at, ended_at: v.ended_at };
}

export function toProcessOutputPage(p: ProcessOutputPage): ProcessOutputPageResponseDto {
  return {
    items: p.items.map((c) => ({ seq: c.seq, stream: c.stream, data: c.data })),
    first_seq: p.first_seq,
    next_after: p.next_after,
    running: p.running,
    exit_code: p.exit_code,
  };
}

export function toFileInfo(f: FileInfo): FileInfoResponseDto {
  return { name: f.name, path: f.path, type: f.type, size: f.size, mode: f.mode, modified_at: f.modified_at };
}

export function toFileList(l: { path: string; items: FileInfo[]; truncated: boolean }): FileListResponseDto {
  return { path: l.path, items: l.items.map(toFileInfo), truncated: l.truncated };
}

export function toFileContent(path: string, encoding: 'utf8' | 'base64', data: Buffer): FileContentResponseDto {
  return { path, encoding, content: data.toString(encoding), size: data.length };
}

export function toArchiveUpload(r: { path: string; files: number; directories: number; bytes: number }): ArchiveUploadResponseDto {
  return { path: r.path, files: r.files, directories: r.directories, bytes: r.bytes };
}
