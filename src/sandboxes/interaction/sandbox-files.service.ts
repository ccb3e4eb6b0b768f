import { Inject, Injectable } from '@nestjs/common';
import { posix } from 'node:path';
import { AuditService } from 'src/audit/audit.service';
import { notFound, OrcaOpsError } from 'src/common/errors/orcaops.error';
import { CONTAINER_RUNTIME, ContainerRuntime } from 'src/runtime/container-runtime.port';
import { INTERACTION_LIMITS } from 'src/sandboxes/interaction/interaction.limits';
import { CappedCollector } from 'src/sandboxes/interaction/output-buffers';
import { engineError, sandboxPath } from 'src/sandboxes/interaction/sandbox-paths';
import { packTree, readTree, TreeResult } from 'src/sandboxes/interaction/tar-tree';
import type { LiveSandbox } from 'src/sandboxes/live-sandbox';
import { SandboxesService } from 'src/sandboxes/sandboxes.service';
import { TenantContext } from 'src/tenancy/tenant-context';

/*
 * Every file operation is an exec inside the container, as the sandbox user, with paths passed as argv
 * (hardening.md §3.5): never the host filesystem, and never the archive API (the /workspace tmpfs is
 * invisible to it). So a path, `..` or a symlink can only ever reach the sandbox's own filesystem, with
 * the sandbox user's rights. Reads go through `tar -c` and are parsed in memory with the artifact rules:
 * a symlink is refused ("not a regular file"), never followed. Exit codes of the scripts: 3 = missing,
 * 5 = wrong kind (a directory where a file is expected or the reverse), 6 = too large.
 */

const READ_FILE = [
  'cd -- "$1" 2>/dev/null || exit 3',
  '[ -e "$2" ] || [ -L "$2" ] || exit 3',
  'if [ -d "$2" ] && [ ! -L "$2" ]; then echo "is a directory" >&2; exit 5; fi',
  'if [ -f "$2" ] && [ ! -L "$2" ]; then s=$(stat -c %s -- "$2") && [ "$s" -le "$3" ] || exit 6; fi',
  'exec tar -cf - "./$2"',
].join('\n');

/** Extracts the tar on stdin into $1 (created if needed), not restoring owners. */
const EXTRACT = 'mkdir -p -- "$1" && cd -- "$1" && exec tar -x -o -f -';

const TAR_TREE = ['cd -- "$1" 2>/dev/null || exit 3', '[ -e "$2" ] || [ -L "$2" ] || exit 3', 'exec tar -cf - "./$2"'].join('\n');

/** NUL-terminated names, an empty record, then one `stat` line per name (same order). */
const LIST_DIR = [
  'max=$2',
  'cd -- "$1" 2>/dev/null || { [ -e "$1" ] && { echo "not a directory" >&2; exit 5; }; exit 3; }',
  'n=0; set --',
  'for f in * .*; do',
  '  case $f in .|..) continue;; esac',
  '  [ -e "$f" ] || [ -L "$f" ] || continue',
  '  n=$((n+1)); [ "$n" -le "$max" ] || break',
  '  set -- "$@" "$f"',
  'done',
  'for f in "$@"; do printf "%s\\0" "$f"; done',
  'printf "\\0"',
  '[ "$#" -gt 0 ] && exec stat -c "%s %a %Y %F" -- "$@"',
  'exit 0',
].join('\n');

const STAT = '[ -e "$1" ] || [ -L "$1" ] || exit 3\nexec stat -c "%s %a %Y %F" -- "$1"';
const MOVE = '[ -e "$1" ] || [ -L "$1" ] || exit 3\nexec mv -f -- "$1" "$2"';
const DELETE = [
  '[ -e "$1" ] || [ -L "$1" ] || exit 3',
  'if [ "$2" = 1 ]; then exec rm -rf -- "$1"; fi',
  'if [ -d "$1" ] && [ ! -L "$1" ]; then exec rmdir -- "$1"; fi',
  'exec rm -f -- "$1"',
].join('\n');

export type FileType = 'file' | 'directory' | 'symlink' | 'other';

export interface FileInfo {
  name: string;
  path: string;
  type: FileType;
  size: number;
  mode: string;
  modified_at: string;
}

interface ExecOutput {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  overflow: boolean;
}

function fileType(kind: string): FileType {
  if (kind.includes('directory')) return 'directory';
  if (kind.includes('symbolic link')) return 'symlink';
  if (kind.includes('regular')) return 'file';
  return 'other';
}

function parseStat(line: string | undefined, path: string): FileInfo | undefined {
  const m = /^(\d+) ([0-7]+) (\d+) (.+)$/.exec(line ?? '');
  if (!m?.[1] || !m[2] || !m[3] || !m[4]) return undefined;
  return {
    name: posix.basename(path) || '/',
    path,
    type: fileType(m[4]),
    size: Number(m[1]),
    mode: m[2].padStart(4, '0'),
    modified_at: new Date(Number(m[3]) * 1000).toISOString(),
  };
}

@Injectable()
export class SandboxFilesService {
  constructor(
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
    private readonly sandboxes: SandboxesService,
    private readonly audit: AuditService,
  ) {}

  async write(ctx: TenantContext, sandboxId: string, rawPath: string, data: Buffer): Promise<FileInfo> {
    const live = await this.sandboxes.requireLive(ctx, sandboxId, 'sandbox:exec');
    const path = this.filePath(live, rawPath);
    if (data.length > INTERACTION_LIMITS.fileMaxBytes) throw tooLarge(INTERACTION_LIMITS.fileMaxBytes);
    await this.audit.record(ctx, { action: 'sandbox.file.write', resourceType: 'sandbox', resourceId: sandboxId, details: { path, bytes: data.length } });
    const tar = await packTree([{ name: posix.basename(path), type: 'file', mode: 0o644, mtime: new Date(), data }]);
    this.check(await this.run(live, ['sh', '-c', EXTRACT, 'sh', posix.dirname(path)], tar), path);
    return { name: posix.basename(path), path, type: 'file', size: data.length, mode: '0644', modified_at: new Date().toISOString() };
  }

  /** The content of one regular file; a symlink, device or FIFO is refused, never followed. */
  async read(ctx: TenantContext, sandboxId: string, rawPath: string, maxBytes: number = INTERACTION_LIMITS.fileMaxBytes): Promise<Buffer> {
    const live = await this.sandboxes.requireLive(ctx, sandboxId, 'sandbox:read');
    const path = this.filePath(live, rawPath);
    const out = this.check(await this.run(live, ['sh', '-c', READ_FILE, 'sh', posix.dirname(path), posix.basename(path), String(maxBytes)], undefined, maxBytes + 1024 * 1024), path);
    const tree = await this.parse(out.stdout, { maxEntries: 1, maxFileBytes: maxBytes, maxTotalBytes: maxBytes });
    const file = tree.entries[0];
    if (!file || file.type !== 'file') {
      const reason = tree.rejected[0]?.reason ?? 'not a regular file';
      throw new OrcaOpsError('bad_request', `${path}: ${reason}`, { path, reason });
    }
    return file.data ?? Buffer.alloc(0);
  }

  async list(ctx: TenantContext, sandboxId: string, rawPath: string): Promise<{ path: string; items: FileInfo[]; truncated: boolean }> {
    const live = await this.sandboxes.requireLive(ctx, sandboxId, 'sandbox:read');
    const path = sandboxPath(rawPath, live.workdir);
    const max = INTERACTION_LIMITS.listMaxEntries;
    const out = this.check(await this.run(live, ['sh', '-c', LIST_DIR, 'sh', path, String(max + 1)]), path);
    const names: string[] = [];
    let at = 0;
    for (;;) {
      const end = out.stdout.indexOf(0, at);
      if (end < 0 || end === at) break;
      names.push(out.stdout.subarray(at, end).toString('utf8'));
      at = end + 1;
    }
    const lines = out.stdout.subarray(at + 1).toString('utf8').split('\n').filter(Boolean);
    // An entry removed between the listing and stat would shift the lines: refuse rather than mislabel.
    if (lines.length !== names.length) throw new OrcaOpsError('conflict', `${path} changed while it was listed; retry`);
    const items = names.map((name, i) => parseStat(lines[i], posix.join(path, name))).filter((x): x is FileInfo => x !== undefined);
    return { path, items: items.slice(0, max), truncated: items.length > max };
  }

  async stat(ctx: TenantContext, sandboxId: string, rawPath: string): Promise<FileInfo> {
    const live = await this.sandboxes.requireLive(ctx, sandboxId, 'sandbox:read');
    const path = sandboxPath(rawPath, live.workdir);
    const out = this.check(await this.run(live, ['sh', '-c', STAT, 'sh', path]), path);
    const info = parseStat(out.stdout.toString('utf8').trim(), path);
    if (!info) throw new OrcaOpsError('internal_error', `could not read the status of ${path}`);
    return info;
  }

  async mkdir(ctx: TenantContext, sandboxId: string, rawPath: string): Promise<FileInfo> {
    const live = await this.sandboxes.requireLive(ctx, sandboxId, 'sandbox:exec');
    const path = sandboxPath(rawPath, live.workdir);
    await this.audit.record(ctx, { action: 'sandbox.file.mkdir', resourceType: 'sandbox', resourceId: sandboxId, details: { path } });
    this.check(await this.run(live, ['mkdir', '-p', '--', path]), path);
    return this.stat(ctx, sandboxId, path);
  }

  async move(ctx: TenantContext, sandboxId: string, rawFrom: string, rawTo: string): Promise<FileInfo> {
    const live = await this.sandboxes.requireLive(ctx, sandboxId, 'sandbox:exec');
    const from = this.filePath(live, rawFrom, 'from');
    const to = this.filePath(live, rawTo, 'to');
    await this.audit.record(ctx, { action: 'sandbox.file.move', resourceType: 'sandbox', resourceId: sandboxId, details: { from, to } });
    this.check(await this.run(live, ['sh', '-c', MOVE, 'sh', from, to]), from);
    return this.stat(ctx, sandboxId, to);
  }

  async remove(ctx: TenantContext, sandboxId: string, rawPath: string, recursive: boolean): Promise<void> {
    const live = await this.sandboxes.requireLive(ctx, sandboxId, 'sandbox:exec');
    const path = this.filePath(live, rawPath);
    await this.audit.record(ctx, { action: 'sandbox.file.delete', resourceType: 'sandbox', resourceId: sandboxId, details: { path, recursive } });
    this.check(await this.run(live, ['sh', '-c', DELETE, 'sh', path, recursive ? '1' : '0']), path);
  }

  /**
   * Extracts an uploaded tar into a directory. It is validated here first (regular files and directories
   * with clean relative names, caps) and re-packed, so the container's tar only ever sees what passed.
   */
  async uploadArchive(ctx: TenantContext, sandboxId: string, rawDir: string, tar: Buffer): Promise<{ path: string; files: number; directories: number; bytes: number }> {
    const live = await this.sandboxes.requireLive(ctx, sandboxId, 'sandbox:exec');
    const dir = sandboxPath(rawDir, live.workdir);
    const tree = await this.parse(tar, { maxEntries: INTERACTION_LIMITS.archiveMaxEntries, maxFileBytes: INTERACTION_LIMITS.fileMaxBytes, maxTotalBytes: INTERACTION_LIMITS.archiveMaxBytes });
    if (tree.rejectedCount) {
      throw new OrcaOpsError('bad_request', `the archive has ${tree.rejectedCount} entries that cannot be extracted (only regular files and directories with relative names inside the target)`, {
        rejected: tree.rejected.slice(0, 50),
      });
    }
    const files = tree.entries.filter((e) => e.type === 'file');
    const bytes = files.reduce((n, e) => n + (e.data?.length ?? 0), 0);
    await this.audit.record(ctx, { action: 'sandbox.file.upload_archive', resourceType: 'sandbox', resourceId: sandboxId, details: { path: dir, entries: tree.entries.length, bytes } });
    this.check(await this.run(live, ['sh', '-c', EXTRACT, 'sh', dir], await packTree(tree.entries)), dir);
    return { path: dir, files: files.length, directories: tree.entries.length - files.length, bytes };
  }

  /**
   * A tar of a file or directory tree (entries named from its base name). Re-validated and re-packed
   * before it goes to the client, who will extract it: symlinks, devices and FIFOs are left out and listed.
   */
  async downloadArchive(ctx: TenantContext, sandboxId: string, rawPath: string): Promise<{ tar: Buffer; skipped: TreeResult['rejected']; skippedCount: number }> {
    const live = await this.sandboxes.requireLive(ctx, sandboxId, 'sandbox:read');
    const path = sandboxPath(rawPath, live.workdir);
    if (path === '/') throw new OrcaOpsError('bad_request', 'archive a directory below /, not the whole filesystem');
    const out = this.check(await this.run(live, ['sh', '-c', TAR_TREE, 'sh', posix.dirname(path), posix.basename(path)], undefined, INTERACTION_LIMITS.archiveMaxBytes + 16 * 1024 * 1024), path);
    const tree = await this.parse(out.stdout, { maxEntries: INTERACTION_LIMITS.archiveMaxEntries, maxFileBytes: INTERACTION_LIMITS.fileMaxBytes, maxTotalBytes: INTERACTION_LIMITS.archiveMaxBytes });
    return { tar: await packTree(tree.entries), skipped: tree.rejected, skippedCount: tree.rejectedCount };
  }

  /** A path that names an entry (not / itself). */
  private filePath(live: LiveSandbox, raw: string, field = 'path'): string {
    const path = sandboxPath(raw, live.workdir, field);
    if (path === '/') throw new OrcaOpsError('bad_request', `${field} must name a file, not /`);
    return path;
  }

  private async parse(tar: Buffer, limits: { maxEntries: number; maxFileBytes: number; maxTotalBytes: number }): Promise<TreeResult> {
    try {
      return await readTree(tar, limits);
    } catch (error) {
      throw new OrcaOpsError('bad_request', `not a valid uncompressed tar archive: ${(error as Error).message}`);
    }
  }

  private async run(live: LiveSandbox, command: string[], stdin?: Buffer, stdoutCap = 16 * 1024 * 1024): Promise<ExecOutput> {
    const stdout = new CappedCollector(stdoutCap);
    const stderr = new CappedCollector(4096);
    // Over the cap the answer is 413 whatever follows: stop the exec rather than read (say) a 1 GiB tar to its end.
    const overflow = new AbortController();
    try {
      const result = await this.runtime.exec(live.containerId, {
        command,
        user: live.user,
        cwd: live.workdir,
        env: live.env,
        stdin: stdin ?? '',
        timeoutMs: INTERACTION_LIMITS.fileOpTimeoutMs,
        signal: overflow.signal,
        onOutput: (stream, chunk) => {
          (stream === 'stdout' ? stdout : stderr).push(chunk);
          if (stdout.truncated) overflow.abort();
        },
      });
      // Over the cap the output is refused whole: no need to copy it into one buffer first.
      return { code: result.exitCode, stdout: stdout.truncated ? Buffer.alloc(0) : stdout.toBuffer(), stderr: stderr.toBuffer().toString('utf8').trim(), overflow: stdout.truncated };
    } catch (error) {
      throw engineError(error);
    }
  }

  private check(out: ExecOutput, path: string): ExecOutput {
    if (out.overflow || out.code === 6) throw tooLarge(INTERACTION_LIMITS.fileMaxBytes);
    if (out.code === 0) return out;
    if (out.code === 3) throw notFound('path', path);
    const message = out.stderr.split('\n').pop() || `exit code ${out.code}`;
    throw new OrcaOpsError('bad_request', `${path}: ${message}`, { path, exit_code: out.code, stderr: out.stderr });
  }
}

function tooLarge(limit: number): OrcaOpsError {
  return new OrcaOpsError('payload_too_large', `larger than the ${limit}-byte limit for one transfer`, { limit_bytes: limit });
}
