import type { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import type { HostileTarEntry, HostileTarResult } from 'src/common/hostile-tar';
import { readHostileTar } from 'src/common/hostile-tar';

/** Owner of every entry we write: nobody:nogroup, the sandbox user (tar -x as non-root keeps its own uid anyway). */
const OWNER = 65534;

export type TreeEntry = HostileTarEntry;

export interface TreeLimits {
  maxEntries: number;
  maxFileBytes: number;
  maxTotalBytes: number;
}

export type TreeResult = HostileTarResult;

/**
 * Parses a tar in memory with the hostile-tar rules (src/common/hostile-tar.ts), keeping directories
 * too and refusing absolute names (an upload naming /etc/x is a mistake or an attack). Used for both
 * directions: archives produced in a sandbox and archives uploaded by a client.
 */
export function readTree(input: Buffer | Readable, limits: TreeLimits): Promise<TreeResult> {
  return readHostileTar(input, limits, { directories: 'keep', absoluteNames: 'refuse' });
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
