import { lstat, readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import type { HostileTarEntry } from 'src/common/hostile-tar';
import { loadHostileTar } from 'src/cli/deferred';

/** Directories never sent as workflow source (version control, installed dependencies). */
export const DEFAULT_SOURCE_EXCLUDES = ['.git', 'node_modules'];
export const SOURCE_MAX_BYTES = 64 * 1024 * 1024;

export interface PackedSource {
  tar: Buffer;
  files: number;
  bytes: number;
  /** Entries left out: symlinks and special files (the server refuses them). */
  skipped: string[];
}

/**
 * The source directory `orcaops workflow run FILE` sends by default: the repository root when FILE is
 * in `<repo>/.github/workflows/`, else none.
 */
export function defaultSourceDir(workflowFile: string): string | undefined {
  const dir = dirname(resolve(workflowFile));
  if (basename(dir) !== 'workflows' || basename(dirname(dir)) !== '.github') return undefined;
  return dirname(dirname(dir));
}

/**
 * An uncompressed tar of `root` (names relative to it): regular files and directories, excluded
 * directory names left out anywhere in the tree, symlinks and special files skipped. Throws when the
 * files exceed `maxBytes`.
 */
export async function packSourceDir(
  root: string,
  options: { excludes?: string[]; maxBytes?: number; onProgress?: (files: number, bytes: number) => void; ignore?: (relativePath: string) => boolean } = {},
): Promise<PackedSource> {
  const excludes = new Set(options.excludes ?? DEFAULT_SOURCE_EXCLUDES);
  const maxBytes = options.maxBytes ?? SOURCE_MAX_BYTES;
  const entries: HostileTarEntry[] = [];
  const skipped: string[] = [];
  let bytes = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      const rel = relative(root, path).split(sep).join('/');
      if (options.ignore?.(rel)) continue;
      const stat = await lstat(path);
      if (stat.isDirectory()) {
        if (excludes.has(name)) continue;
        entries.push({ name: rel, type: 'directory', mode: stat.mode & 0o777, mtime: stat.mtime });
        await walk(path);
      } else if (stat.isFile()) {
        bytes += stat.size;
        if (bytes > maxBytes) throw new Error(`the source directory is larger than ${Math.round(maxBytes / 1024 / 1024)} MiB (excluding ${[...excludes].join(', ')}); pass a smaller --source or --no-source`);
        entries.push({ name: rel, type: 'file', mode: stat.mode & 0o777, mtime: stat.mtime, data: await readFile(path) });
        options.onProgress?.(entries.length, bytes);
      } else {
        skipped.push(rel);
      }
    }
  };
  await walk(root);
  const { packEntries } = await loadHostileTar();
  return { tar: await packEntries(entries), files: entries.filter((e) => e.type === 'file').length, bytes, skipped };
}

/**
 * A .dockerignore as a predicate on relative paths (`*`, `?`, `**`; a pattern also covers what is
 * under a matching directory). Negations (`!pattern`) are not supported and are skipped; `keep` (the
 * Dockerfile) is never ignored.
 */
export function dockerignoreMatcher(text: string, keep: string): (relativePath: string) => boolean {
  const patterns = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !l.startsWith('!'))
    .map((l) => l.replace(/^(\.?\/)+/, '').replace(/\/+$/, ''))
    .filter(Boolean)
    .map((l) => new RegExp(`^${l.split(/(\*\*\/?|\*|\?)/).map((part) => (part.startsWith('**') ? '(?:.*/)?' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('')}(?:/.*)?$`));
  return (relativePath) => relativePath !== keep && patterns.some((p) => p.test(relativePath));
}
