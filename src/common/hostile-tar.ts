import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { extract, pack } from 'tar-stream';

/**
 * The one parser for tars we did not write (hardening.md §3.4): archives produced inside a container
 * (job artifacts, sandbox downloads: hostile to whoever extracts them) and archives uploaded by a client
 * (validated before anything reaches a container). In memory only, nothing touches the host filesystem:
 * regular files (and, when asked, directories) with clean relative names, bounded counts and sizes.
 * Symlinks, hard links, devices and FIFOs are refused, never followed or created.
 */

export interface HostileTarLimits {
  /** Entries kept (files, plus directories when they are kept). */
  maxEntries: number;
  maxFileBytes: number;
  maxTotalBytes: number;
}

export interface HostileTarOptions {
  /** `keep`: directories are entries too (trees); `refuse`: only files (artifacts). */
  directories: 'keep' | 'refuse';
  /** `strip`: `/tmp/x` becomes `tmp/x` (tar's own habit); `refuse`: an absolute name is refused. */
  absoluteNames: 'strip' | 'refuse';
  /**
   * Called once, when the first entry is refused for a cap (count, file size, total size): a caller
   * that treats that as a failure can stop the producer instead of reading the rest of the stream.
   */
  onLimit?: (rejection: { name: string; reason: string }) => void;
}

/** Rejections listed in a result; the rest are only counted (a tar may hold any number of bad entries). */
export const MAX_LISTED_REJECTIONS = 50;

/** Entries parsed per event-loop turn at most (each costs a few µs; a turn stays well under 10 ms). */
const ENTRIES_PER_TURN = 64;

export interface HostileTarEntry {
  name: string;
  type: 'file' | 'directory';
  /** Permission bits only (no setuid/setgid/sticky). */
  mode: number;
  mtime: Date;
  /** Files only. */
  data?: Buffer;
}

export interface HostileTarResult {
  entries: HostileTarEntry[];
  /** The first MAX_LISTED_REJECTIONS entries refused, with why (symlink, hard link, device, path outside the target, over a cap). */
  rejected: Array<{ name: string; reason: string }>;
  /** Every entry refused, listed or not. */
  rejectedCount: number;
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

export function readHostileTar(input: Buffer | Readable, limits: HostileTarLimits, options: HostileTarOptions): Promise<HostileTarResult> {
  const noun = options.directories === 'keep' ? 'entries' : 'files';
  return new Promise((resolve, reject) => {
    const entries: HostileTarEntry[] = [];
    const rejected: HostileTarResult['rejected'] = [];
    let rejectedCount = 0;
    let limitHit = false;
    const refuseEntry = (name: string, reason: string, cap = false): void => {
      rejectedCount++;
      if (rejected.length < MAX_LISTED_REJECTIONS) rejected.push({ name, reason });
      if (cap && !limitHit) {
        limitHit = true;
        options.onLimit?.({ name, reason });
      }
    };
    let total = 0;
    // tar-stream parses a backlog of buffered entries in one go (microtasks only): 100 000 symlinks held
    // the loop for ~0.7 s. Every ENTRIES_PER_TURN entries the parser waits for the next loop turn.
    let sinceYield = 0;
    const parser = extract();
    parser.on('entry', (header, entry, proceed) => {
      const next = (): void => {
        if (++sinceYield < ENTRIES_PER_TURN) return proceed();
        sinceYield = 0;
        setImmediate(proceed);
      };
      // A stream that ends mid-entry (cut at a cap, a killed or lying tar) errors the entry as well as the
      // parser: the parser's 'error' rejects; unheard, the entry's would crash the server.
      entry.on('error', () => undefined);
      const refuse = (reason: string, cap = false): void => {
        refuseEntry(header.name, reason, cap);
        entry.resume();
        entry.on('end', next);
      };
      const isDirectory = header.type === 'directory';
      if (isDirectory && options.directories === 'refuse') return refuse('directory');
      if (header.type !== 'file' && header.type !== 'contiguous-file' && !isDirectory) return refuse(`not a regular file (${header.type})`);
      const name = cleanEntryName(header.name);
      if (!name || (options.absoluteNames === 'refuse' && header.name.startsWith('/'))) return refuse('path outside the target');
      if (entries.length >= limits.maxEntries) return refuse(`more than ${limits.maxEntries} ${noun}`, true);
      const mode = (header.mode ?? 0o644) & 0o777;
      const mtime = header.mtime ?? new Date();
      if (isDirectory) {
        entries.push({ name, type: 'directory', mode, mtime });
        entry.resume();
        return entry.on('end', next);
      }
      const size = header.size ?? 0;
      if (size > limits.maxFileBytes) return refuse(`larger than ${limits.maxFileBytes} bytes`, true);
      if (total + size > limits.maxTotalBytes) return refuse(`total over ${limits.maxTotalBytes} bytes`, true);
      // The header's size is not trusted: what arrives beyond the cap is counted, never kept.
      const parts: Buffer[] = [];
      let received = 0;
      entry.on('data', (data: unknown) => {
        const chunk = data as Buffer;
        received += chunk.length;
        if (received <= limits.maxFileBytes) parts.push(chunk);
      });
      entry.on('end', () => {
        if (received > limits.maxFileBytes) refuseEntry(name, 'size exceeds its header');
        else {
          total += received;
          entries.push({ name, type: 'file', mode, mtime, data: Buffer.concat(parts) });
        }
        next();
      });
    });
    parser.on('finish', () => resolve({ entries, rejected, rejectedCount }));
    parser.on('error', reject);
    const source = Buffer.isBuffer(input) ? Readable.from([input]) : input;
    source.on('error', reject);
    source.pipe(parser);
  });
}

/** Owner of every entry we write: nobody:nogroup (a non-root `tar -x` keeps its own uid anyway). */
const OWNER = 65534;

/** A fresh uncompressed tar of entries that passed readHostileTar (or were built by the server). */
export function packEntries(entries: HostileTarEntry[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const out = pack();
    const parts: Buffer[] = [];
    out.on('data', (chunk: unknown) => parts.push(chunk as Buffer));
    out.on('end', () => resolve(Buffer.concat(parts)));
    out.on('error', reject);
    for (const e of entries) {
      const header = { name: e.name, type: e.type, mode: e.mode, mtime: e.mtime, uid: OWNER, gid: OWNER, uname: 'nobody', gname: 'nogroup' };
      if (e.type === 'directory') out.entry(header);
      else out.entry({ ...header, size: e.data?.length ?? 0 }, e.data ?? Buffer.alloc(0));
    }
    out.finalize();
  });
}
