import type Docker from 'dockerode';
import { Readable } from 'node:stream';
import type { ImageBuildOptions, ImageBuildResult } from 'src/runtime/container-runtime.port';
import { engineMessage, translateDockerError } from 'src/runtime/docker/docker-errors';
import { RuntimeError } from 'src/runtime/runtime.errors';

interface BuildEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

const CPU_PERIOD_US = 100_000;

/**
 * The /build query for one hardened build: the classic builder (version 1: RUN steps are containers
 * the engine creates with these limits and `networkmode`; it has no bind or cache mounts), nothing
 * pulled (`pull` false: base images were made usable by the ImagePuller, with the workspace's grants),
 * intermediate containers always removed, swap no larger than memory, and no build cache: the cache
 * is the engine's, shared by every workspace, and a cached step of another workspace would hand over
 * what its RUN produced (generated keys, downloaded files) to whoever writes the same Dockerfile.
 */
export function buildQuery(options: ImageBuildOptions): Record<string, unknown> {
  return {
    t: options.tag,
    dockerfile: options.dockerfile,
    labels: options.labels,
    networkmode: 'none',
    memory: options.memoryBytes,
    memswap: options.memoryBytes,
    cpuperiod: CPU_PERIOD_US,
    cpuquota: Math.max(1_000, Math.round(options.cpus * CPU_PERIOD_US)),
    shmsize: options.shmBytes,
    pull: false,
    nocache: true,
    rm: true,
    forcerm: true,
    version: '1',
  };
}

/**
 * One build through the engine (POST /build). A failing step arrives inside the output stream with
 * HTTP 200, like pull errors: every event is checked. No deadline here: the caller's signal bounds it
 * (the engine kills the running step when the request goes away).
 */
export async function buildThroughEngine(docker: Docker, context: Buffer, options: ImageBuildOptions): Promise<ImageBuildResult> {
  if (options.signal?.aborted) throw new RuntimeError('conflict', `build of ${options.tag} was cancelled`);
  const controller = new AbortController();
  const onAbort = (): void => controller.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let failure: string | undefined;
  try {
    const query = { ...buildQuery(options), abortSignal: controller.signal } as unknown as Docker.ImageBuildOptions;
    const stream = (await docker.buildImage(Readable.from([context]), query)) as Readable;
    controller.signal.addEventListener('abort', () => stream.destroy(), { once: true });
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (error: Error | null) => (error ? reject(error) : resolve()),
        (event: BuildEvent) => {
          if (event.error) failure ??= event.errorDetail?.message ?? event.error;
          const text = event.stream ?? (event.status ? `${event.status}\n` : event.error ? `${event.errorDetail?.message ?? event.error}\n` : undefined);
          if (text) options.onOutput?.(text);
        },
      );
      stream.once('close', () => (controller.signal.aborted ? reject(new Error('aborted')) : undefined));
    });
  } catch (error) {
    if (options.signal?.aborted) throw new RuntimeError('conflict', `build of ${options.tag} was cancelled`, error);
    const translated = translateDockerError(error, `build ${options.tag}`, 'image_not_found');
    if (translated.code === 'engine_unavailable') throw translated;
    // The engine refused the request itself (a Dockerfile it cannot parse, a missing Dockerfile): the build failed.
    return { status: 'failed', error: engineMessage(error) };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (failure) return { status: 'failed', error: failure };
  return { status: 'succeeded', image: { id: '', tags: [options.tag], sizeBytes: 0, createdAt: '' } };
}
