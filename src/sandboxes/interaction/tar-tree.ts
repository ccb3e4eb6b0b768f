import type { Readable } from 'node:stream';
import type { HostileTarEntry, HostileTarResult } from 'src/common/hostile-tar';
import { packEntries, readHostileTar } from 'src/common/hostile-tar';

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
  return packEntries(entries);
}
