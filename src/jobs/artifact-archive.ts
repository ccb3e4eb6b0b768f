import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { PassThrough } from 'node:stream';
import type { HostileTarOptions } from 'src/common/hostile-tar';
import { readHostileTar } from 'src/common/hostile-tar';

export interface ArtifactLimits {
  maxFiles: number;
  maxFileBytes: number;
  maxTotalBytes: number;
}

export const DEFAULT_ARTIFACT_LIMITS: ArtifactLimits = {
  maxFiles: 100,
  maxFileBytes: 64 * 1024 * 1024,
  maxTotalBytes: 128 * 1024 * 1024,
};

export interface ArchivedFile {
  name: string;
  data: Buffer;
}

export interface ArchiveResult {
  files: ArchivedFile[];
  /** The first MAX_LISTED_REJECTIONS entries refused, with why (symlink, hard link, device, path outside the target, over a cap). */
  rejected: Array<{ name: string; reason: string }>;
  rejectedCount: number;
}

/**
 * Parses a tar stream produced inside a job's container, which is hostile input (hardening.md §3.4):
 * regular files only, with clean relative names (leading `/` stripped), bounded sizes (see hostile-tar.ts).
 */
export async function readArtifactArchive(stream: Readable, limits: ArtifactLimits, onLimit?: HostileTarOptions['onLimit']): Promise<ArchiveResult> {
  const { entries, rejected, rejectedCount } = await readHostileTar(
    stream,
    { maxEntries: limits.maxFiles, maxFileBytes: limits.maxFileBytes, maxTotalBytes: limits.maxTotalBytes },
    { directories: 'refuse', absoluteNames: 'strip', ...(onLimit ? { onLimit } : {}) },
  );
  return { files: dedupe(entries.map((e) => ({ name: e.name, data: e.data ?? Buffer.alloc(0) }))), rejected, rejectedCount };
}

/** Bytes of tar framing (headers, padding) allowed beyond the artifact bytes themselves. */
const TAR_OVERHEAD_BYTES = 4 * 1024 * 1024;
const STDERR_CAP_BYTES = 64 * 1024;

/**
 * The host side of one artifact collection (COLLECT_SCRIPT's exec): feeds its stdout to the hostile-tar
 * parser, keeps a bounded stderr, and stops the exec (`signal`) as soon as a cap is hit: a file over
 * maxFileBytes, more than maxFiles, or more bytes than the caps allow in all (an endless or huge stream
 * is never read to its end). `limitError` then names the limit; the collection fails with it.
 */
export class ArtifactCollection {
  readonly parsed: Promise<ArchiveResult>;
  limitError?: string;
  private readonly tar = new PassThrough();
  private readonly stop = new AbortController();
  private readonly stderr: Buffer[] = [];
  private stderrBytes = 0;
  private bytes = 0;

  constructor(
    private readonly limits: ArtifactLimits,
    private readonly jobSignal: AbortSignal,
  ) {
    this.parsed = readArtifactArchive(this.tar, limits, (r) => this.fail(`artifact ${r.name} refused: ${r.reason} (limits: ${limits.maxFiles} files, ${limits.maxFileBytes} bytes per file, ${limits.maxTotalBytes} bytes in all)`));
    // A parse error surfaces through `parsed` once the stream ends.
    this.parsed.catch(() => undefined);
    if (jobSignal.aborted) this.stop.abort();
    else jobSignal.addEventListener('abort', this.onJobAbort, { once: true });
  }

  /** Aborts the collection's exec: the job's own abort, or a cap hit. */
  get signal(): AbortSignal {
    return this.stop.signal;
  }

  readonly onOutput = (stream: 'stdout' | 'stderr', chunk: Buffer): void => {
    if (stream === 'stderr') {
      if (this.stderrBytes < STDERR_CAP_BYTES) this.stderr.push(chunk.subarray(0, STDERR_CAP_BYTES - this.stderrBytes));
      this.stderrBytes += chunk.length;
      return;
    }
    if (this.limitError) return;
    this.bytes += chunk.length;
    if (this.bytes > this.limits.maxTotalBytes + TAR_OVERHEAD_BYTES) return this.fail(`the artifacts are larger than the ${this.limits.maxTotalBytes}-byte limit`);
    this.tar.write(chunk);
  };

  /** After the exec: ends the stream; resolves with the parse and the exec's stderr lines. */
  async finish(): Promise<{ result: ArchiveResult; messages: string }> {
    this.jobSignal.removeEventListener('abort', this.onJobAbort);
    this.tar.end();
    const messages = Buffer.concat(this.stderr).toString('utf8').trim();
    if (this.limitError || this.jobSignal.aborted) {
      // The stream was cut (a cap, or the job's cancel/timeout), perhaps mid-entry: what was parsed is not kept.
      const result = await this.parsed.catch(() => ({ files: [], rejected: [], rejectedCount: 0 }));
      return { result: { ...result, files: [] }, messages };
    }
    return { result: await this.parsed, messages };
  }

  private readonly onJobAbort = (): void => this.stop.abort();

  private fail(message: string): void {
    this.limitError ??= message;
    this.stop.abort();
  }
}

/** tar may list a file twice (a directory and a glob both matching): keep the last copy. */
function dedupe(files: ArchivedFile[]): ArchivedFile[] {
  const byName = new Map<string, ArchivedFile>();
  for (const f of files) byName.set(f.name, f);
  return [...byName.values()];
}

const CONTENT_TYPES: Record<string, string> = {
  '.txt': 'text/plain; charset=utf-8',
  '.log': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.json': 'application/json',
  '.xml': 'application/xml',
  '.html': 'text/html; charset=utf-8',
  '.yaml': 'application/yaml',
  '.yml': 'application/yaml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.tar': 'application/x-tar',
};

export function contentTypeFor(name: string): string {
  return CONTENT_TYPES[posix.extname(name).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * Shell run inside the container (argv: the patterns): expands each pattern there (IFS empty: globbing
 * without word splitting), reports patterns with no match on stderr, and writes one uncompressed tar of
 * the matches to stdout. The host never resolves a path inside the container.
 */
export const COLLECT_SCRIPT = [
  'IFS=',
  'n=$#',
  'i=0',
  'while [ "$i" -lt "$n" ]; do',
  '  pat=$1; shift; found=0',
  '  for f in $pat; do',
  '    if [ -e "$f" ] || [ -L "$f" ]; then',
  '      case "$f" in -*) f="./$f";; esac',
  '      set -- "$@" "$f"; found=1',
  '    fi',
  '  done',
  '  [ "$found" = 1 ] || echo "no match: $pat" >&2',
  '  i=$((i+1))',
  'done',
  '[ "$#" -gt 0 ] || exit 3',
  'exec tar -cf - "$@"',
].join('\n');
