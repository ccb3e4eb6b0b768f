import { posix } from 'node:path';
import type { Readable } from 'node:stream';
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
  /** Entries refused, with why (symlink, hard link, device, path outside the target, over a cap). */
  rejected: Array<{ name: string; reason: string }>;
}

/**
 * Parses a tar stream produced inside a job's container, which is hostile input (hardening.md §3.4):
 * regular files only, with clean relative names (leading `/` stripped), bounded sizes (see hostile-tar.ts).
 */
export async function readArtifactArchive(stream: Readable, limits: ArtifactLimits): Promise<ArchiveResult> {
  const { entries, rejected } = await readHostileTar(
    stream,
    { maxEntries: limits.maxFiles, maxFileBytes: limits.maxFileBytes, maxTotalBytes: limits.maxTotalBytes },
    { directories: 'refuse', absoluteNames: 'strip' },
  );
  return { files: dedupe(entries.map((e) => ({ name: e.name, data: e.data ?? Buffer.alloc(0) }))), rejected };
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
