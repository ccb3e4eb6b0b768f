import { Readable } from 'node:stream';
import { extract, pack } from 'tar-stream';
import { cleanEntryName } from 'src/jobs/artifact-archive';

/** Owner of every entry we write: nobody:nogroup, the sandbox user (tar -x as non-root keeps its own uid anyway). */
const OWNER = 65534;

export interface TreeEntry {
  name: string;
  type: 'file' | 'directory';
  /** Permission bits only (no setuid/setgid/sticky). */
  mode: number;
  mtime: Date;
  data?: Buffer;
}

export interface TreeLimits {
  maxEntries: number;
  maxFileBytes: number;
  maxTotalBytes: number;
}

export interface TreeResult {
  entries: TreeEntry[];
  /** Entries refused, with why (symlink, hard link, device, path outside the target, over a cap). */
  rejected: Array<{ name: string; reason: string }>;
}

/**
 * Parses a tar in memory with the rules of artifact-archive.ts (hardening.md §3.4), but keeps
 * directories too: only regular files and directories with clean relative names, bounded sizes. Used for
 * both directions: archives produced in a sandbox (hostile to the client that extracts them) and
 * archives uploaded by a client (validated before anything reaches the container).
 */
export function readTree(input: Buffer | Readable, limits: TreeLimits): Promise<TreeResult> {
  return new Promise((resolve, reject) => {
    const entries: TreeEntry[] = [];
    const rejected: TreeResult['rejected'] = [];
    let total = 0;
    const parser = extract();
    parser.on('entry', (header, entry, next) => {
      const refuse = (reason: string): void => {
        rejected.push({ name: header.name, reason });
        entry.resume();
        entry.on('end', next);
      };
      const name = cleanEntryName(header.name);
      const mode = (header.mode ?? 0o644) & 0o777;
      const mtime = header.mtime ?? new Date();
      if (header.type !== 'file' && header.type !== 'contiguous-file' && header.type !== 'directory') {
        return refuse(`not a regular file (${header.type})`);
      }
      // Absolute names are refused, not made relative: an upload naming /etc/x is a mistake or an attack.
      if (!name || header.name.startsWith('/')) return refuse('path outside the target');
      if (entries.length >= limits.maxEntries) return refuse(`more than ${limits.maxEntries} entries`);
      if (header.type === 'directory') {
        entries.push({ name, type: 'directory', mode, mtime });
        entry.resume();
        return entry.on('end', next);
      }
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
          entries.push({ name, type: 'file', mode, mtime, data: Buffer.concat(parts) });
        }
        next();
      });
    });
    parser.on('finish', () => resolve({ entries, rejected }));
    parser.on('error', reject);
    const source = Buffer.isBuffer(input) ? Readable.from([input]) : input;
    source.on('error', reject);
    source.pipe(parser);
  });
}

/** A fresh uncompressed tar of the given entries, owned by the sandbox user. */
export function packTree(entries: TreeEntry[]): Promise<Buffer> {
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
