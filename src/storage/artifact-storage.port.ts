import type { Readable } from 'node:stream';

export const ARTIFACT_STORAGE = Symbol('ArtifactStorage');

export interface StoredObject {
  sizeBytes: number;
  sha256: string;
}

/**
 * Where artifact bytes live. Keys are server-generated (workspace/job/artifact ids), never paths from
 * a job, so nothing a job names can reach the host filesystem. An object store can replace the local
 * adapter later.
 */
export interface ArtifactStorage {
  put(key: string, data: Buffer): Promise<StoredObject>;
  open(key: string): Promise<Readable>;
  /** Deletes every object under the prefix (e.g. a job's artifacts). */
  deletePrefix(prefix: string): Promise<void>;
}
