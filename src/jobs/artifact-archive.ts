import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { extract } from 'tar-stream';

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

/** A clean relative name, or undefined when the entry would land outside the target. */
export function cleanEntryName(raw: string): string | undefined {
  if (raw.includes('\0')) return undefined;
  const trimmed = raw.replace(/^(\.\/)+/, '').replace(/^\/+/, '');
  if (!trimmed || trimmed.split('/').includes('..')) return undefined;
  const normalized = posix.normalize(trimmed).replace(/\/+$/, '');
  if (!normalized || normalized === '.' || normalized.startsWith('../') || posix.isAbsolute(normalized)) return undefined;
  return normalized;
}

/**
 * Parses a tar stream produced inside a job's container, which is hostile input (hardening.md §3.4):
 * in memory only, regular files only, clean relative names, bounded sizes. Nothing touches the host
 * filesystem here.
 */
export function readArtifactArchive(stream: Readable, limits: ArtifactLimits): Promise<ArchiveResult> {
  return new Promise((resolve, reject) => {
    const files: ArchivedFile[] = [];
    const rejected: ArchiveResult['rejected'] = [];
    let total = 0;
    const parser = extract();
    parser.on('entry', (header, entry, next) => {
      const name = cleanEntryName(header.name);
      const refuse = (reason: string): void => {
        rejected.push({ name: header.name, reason });
        entry.resume();
        entry.on('end', next);
      };
      if (header.type === 'directory') return refuse('directory');
      if (header.type !== 'file' && header.type !== 'contiguous-file') return refuse(`not a regular file (${header.type})`);
      if (!name) return refuse('path outside the target');
      if (files.length >= limits.maxFiles) return refuse(`more than ${limits.maxFiles} files`);
      const size = header.size ?? 0;
      if (size > limits.maxFileBytes) return refuse(`larger than ${limits.maxFileBytes} bytes`);
      if (total + size > limits.maxTotalBytes) return refuse(`total over ${limits.maxTotalBytes} bytes`);
      const parts: Buffer[] = [];
      let received = 0;
      entry.on('data', (data: unknown) => {
        const chunk = data as Buffer;
        received += chunk.length;
        if (received <= limits.maxFileBytes) parts.push(chunk);
      });
      entry.on('end', () => {
        if (received > limits.maxFileBytes) rejected.push({ name, reason: 'size exceeds its header' });
        else {
          total += received;
          files.push({ name, data: Buffer.concat(parts) });
        }
        next();
      });
    });
    parser.on('finish', () => resolve({ files: dedupe(files), rejected }));
    parser.on('error', reject);
    stream.on('error', reject);
    stream.pipe(parser);
  });
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
