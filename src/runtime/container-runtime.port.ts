import type { Readable } from 'node:stream';

export const CONTAINER_RUNTIME = Symbol('ContainerRuntime');

export interface EngineInfo {
  version: string;
  apiVersion: string;
  os: string;
  cgroupVersion: string;
  runtime: string;
}

export interface ImageInfo {
  id: string;
  tags: string[];
  sizeBytes: number;
  createdAt: string;
}

/**
 * The container engine, one method per engine operation. Only src/runtime/docker implements it
 * against the real engine (and is the only code that imports dockerode); FakeRuntime serves unit tests.
 */
export interface ContainerRuntime {
  /** Engine facts; throws RuntimeError('engine_unavailable') when no engine answers. */
  ping(): Promise<EngineInfo>;
  /** undefined when the image is not present locally (never pulls). */
  inspectImage(reference: string): Promise<ImageInfo | undefined>;
  /** Creates an image from an uncompressed root filesystem tar (docker import). */
  importImage(rootfsTar: Readable, repository: string, tag: string, changes: string[]): Promise<ImageInfo>;
}
