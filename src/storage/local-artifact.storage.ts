import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm, writeFile, rename } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import type { ArtifactStorage, StoredObject } from 'src/storage/artifact-storage.port';

function isDiskFull(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

const KEY = /^[A-Za-z0-9-]+(\/[A-Za-z0-9-]+)*$/;

/** Artifacts under <data dir>/artifacts/<key>; keys are validated server-generated ids. */
export class LocalArtifactStorage implements ArtifactStorage {
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  private pathFor(key: string): string {
    if (!KEY.test(key)) throw new Error(`invalid storage key: ${key}`);
    const path = resolve(this.root, key);
    if (!path.startsWith(this.root + sep)) throw new Error(`storage key escapes root: ${key}`);
    return path;
  }

  async put(key: string, data: Buffer): Promise<StoredObject> {
    const path = this.pathFor(key);
    await mkdir(dirname(path), { recursive: true }).catch((error: unknown) => {
      if (isDiskFull(error)) throw new OrcaOpsError('insufficient_storage', 'The server has no space left to store this; try again later', { resource: 'storage', bytes: data.length });
      throw error;
    });
    const temp = `${path}.partial`;
    try {
      await writeFile(temp, data, { mode: 0o600, flag: 'wx' });
      await rename(temp, path);
    } catch (error) {
      // Nothing half-written stays behind, so no row can point at a truncated file.
      await rm(temp, { force: true }).catch(() => undefined);
      if (isDiskFull(error)) throw new OrcaOpsError('insufficient_storage', 'The server has no space left to store this; try again later', { resource: 'storage', bytes: data.length });
      throw error;
    }
    return { sizeBytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
  }

  open(key: string): Promise<Readable> {
    return Promise.resolve(createReadStream(this.pathFor(key)));
  }

  async deletePrefix(prefix: string): Promise<void> {
    await rm(this.pathFor(prefix), { recursive: true, force: true });
  }
}

export function artifactRoot(home: string): string {
  return join(home, 'artifacts');
}
