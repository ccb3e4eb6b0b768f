import type { Readable } from 'node:stream';
import type { ContainerRuntime, EngineInfo, ImageInfo } from 'src/runtime/container-runtime.port';
import { RuntimeError } from 'src/runtime/runtime.errors';

/** In-memory engine for unit tests of logic. Behaviour involving Docker is tested on the real engine. */
export class FakeRuntime implements ContainerRuntime {
  available = true;
  readonly images = new Map<string, ImageInfo>();

  private assertAvailable(): void {
    if (!this.available) throw new RuntimeError('engine_unavailable', 'fake engine is down');
  }

  ping(): Promise<EngineInfo> {
    this.assertAvailable();
    return Promise.resolve({ version: 'fake', apiVersion: '1.41', os: 'linux/amd64', cgroupVersion: '1', runtime: 'fake' });
  }

  inspectImage(reference: string): Promise<ImageInfo | undefined> {
    this.assertAvailable();
    const ref = reference.includes(':') ? reference : `${reference}:latest`;
    return Promise.resolve(this.images.get(ref));
  }

  async importImage(rootfsTar: Readable, repository: string, tag: string): Promise<ImageInfo> {
    this.assertAvailable();
    let size = 0;
    for await (const chunk of rootfsTar) size += (chunk as Buffer).length;
    const info: ImageInfo = { id: `sha256:fake${this.images.size}`, tags: [`${repository}:${tag}`], sizeBytes: size, createdAt: new Date().toISOString() };
    this.images.set(`${repository}:${tag}`, info);
    return info;
  }
}
