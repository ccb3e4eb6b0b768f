import Docker from 'dockerode';
import type { Readable } from 'node:stream';
import type { ContainerRuntime, EngineInfo, ImageInfo } from 'src/runtime/container-runtime.port';
import { translateDockerError } from 'src/runtime/docker/docker-errors';

export class DockerRuntime implements ContainerRuntime {
  private readonly docker: Docker;

  constructor(socketPath: string) {
    this.docker = new Docker({ socketPath });
  }

  async ping(): Promise<EngineInfo> {
    try {
      const [version, info] = await Promise.all([this.docker.version(), this.docker.info() as Promise<Record<string, unknown>>]);
      return {
        version: version.Version,
        apiVersion: version.ApiVersion,
        os: `${version.Os}/${version.Arch}`,
        cgroupVersion: typeof info.CgroupVersion === 'string' ? info.CgroupVersion : '1',
        runtime: typeof info.DefaultRuntime === 'string' ? info.DefaultRuntime : 'runc',
      };
    } catch (error) {
      throw translateDockerError(error, 'ping');
    }
  }

  async inspectImage(reference: string): Promise<ImageInfo | undefined> {
    try {
      const image = await this.docker.getImage(reference).inspect();
      return { id: image.Id, tags: image.RepoTags ?? [], sizeBytes: image.Size, createdAt: image.Created };
    } catch (error) {
      const translated = translateDockerError(error, `inspect image ${reference}`);
      if (translated.code === 'image_not_found' || translated.code === 'container_not_found') return undefined;
      throw translated;
    }
  }

  async importImage(rootfsTar: Readable, repository: string, tag: string, changes: string[]): Promise<ImageInfo> {
    try {
      const stream = (await this.docker.importImage(rootfsTar, { repo: repository, tag, changes } as never)) as unknown as NodeJS.ReadableStream;
      await new Promise<void>((resolve, reject) =>
        this.docker.modem.followProgress(stream, (error: Error | null, output: Array<{ error?: string }>) => {
          const failed = output?.find((o) => o.error);
          if (error || failed) reject(error ?? new Error(failed?.error));
          else resolve();
        }),
      );
    } catch (error) {
      throw translateDockerError(error, `import image ${repository}:${tag}`);
    }
    const info = await this.inspectImage(`${repository}:${tag}`);
    if (!info) throw translateDockerError(new Error('image missing after import'), `import image ${repository}:${tag}`);
    return info;
  }
}
