import type Docker from 'dockerode';
import type { Readable } from 'node:stream';
import type { PullOptions, PullProgress } from 'src/runtime/container-runtime.port';
import { engineMessage, statusOf, translateDockerError } from 'src/runtime/docker/docker-errors';
import { ImagePullError, RuntimeError } from 'src/runtime/runtime.errors';
import type { PullFailureReason } from 'src/runtime/runtime.errors';

/** A pull that reports nothing for this long is abandoned (the registry stopped answering mid-pull). */
export const DEFAULT_PULL_IDLE_MS = 60_000;

interface PullEvent {
  id?: string;
  status?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
}

/**
 * The reason of a failed pull from the engine's words (verified-facts.md: 404 `manifest unknown`,
 * 500 `unauthorized: authentication required` / `no basic auth credentials`, 500 `connect: connection refused`).
 */
export function pullFailureReason(message: string, status?: number): PullFailureReason {
  if (/unauthorized|authentication required|no basic auth credentials|access to the resource is denied|denied: /i.test(message)) return 'unauthorized';
  if (status === 404 || /manifest unknown|not found|does not exist|name unknown/i.test(message)) return 'not_found';
  return 'registry_unreachable';
}

/** Folds the engine's per-layer events into one compact progress record. */
class ProgressFold {
  private readonly layers = new Map<string, { current: number; total: number; done: boolean }>();

  add(event: PullEvent): PullProgress | undefined {
    if (!event.id || !event.status || /^(Pulling from|Digest|Status)/.test(event.status)) return undefined;
    const layer = this.layers.get(event.id) ?? { current: 0, total: 0, done: false };
    if (event.status === 'Downloading' && event.progressDetail) {
      layer.current = event.progressDetail.current ?? layer.current;
      layer.total = event.progressDetail.total ?? layer.total;
    }
    if (/^(Pull complete|Already exists|Download complete)$/.test(event.status)) {
      if (layer.total) layer.current = layer.total;
      layer.done ||= event.status !== 'Download complete';
    }
    this.layers.set(event.id, layer);
    return this.snapshot();
  }

  snapshot(): PullProgress {
    let [done, current, total] = [0, 0, 0];
    for (const layer of this.layers.values()) {
      if (layer.done) done += 1;
      current += layer.current;
      total += layer.total;
    }
    return { layers: this.layers.size, layersDone: done, downloadedBytes: current, totalBytes: total };
  }
}

/** `repo:tag` or `repo@digest` → the engine's fromImage + tag (a digest goes in `tag`, as the API allows). */
function splitReference(reference: string): { fromImage: string; tag: string } {
  const at = reference.indexOf('@');
  if (at !== -1) return { fromImage: reference.slice(0, at).replace(/:[^/:]+$/, ''), tag: reference.slice(at + 1) };
  const colon = reference.lastIndexOf(':');
  if (colon > reference.lastIndexOf('/')) return { fromImage: reference.slice(0, colon), tag: reference.slice(colon + 1) };
  return { fromImage: reference, tag: 'latest' };
}

/**
 * One pull through the engine (POST /images/create). No total deadline: liveness is progress-based
 * (an idle pull is abandoned), and the caller's signal cancels it. Errors arrive inside the progress
 * stream with HTTP 200 (verified-facts.md), so every event is checked.
 */
export async function pullThroughEngine(docker: Docker, reference: string, options: PullOptions = {}): Promise<void> {
  const { fromImage, tag } = splitReference(reference);
  const idleMs = options.idleTimeoutMs ?? DEFAULT_PULL_IDLE_MS;
  if (options.signal?.aborted) throw new RuntimeError('conflict', `pull of ${reference} was cancelled`);
  const controller = new AbortController();
  const onAbort = (): void => controller.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let idle = false;
  let timer: NodeJS.Timeout | undefined;
  const alive = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      idle = true;
      controller.abort();
    }, idleMs);
  };
  const fold = new ProgressFold();
  let failure: string | undefined;
  try {
    alive();
    const auth = options.auth ? { username: options.auth.username, password: options.auth.password, serveraddress: options.auth.serveraddress } : undefined;
    const stream = (await docker.createImage({ fromImage, tag, authconfig: auth, abortSignal: controller.signal })) as Readable;
    controller.signal.addEventListener('abort', () => stream.destroy(), { once: true });
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (error: Error | null) => (error ? reject(error) : resolve()),
        (event: PullEvent) => {
          alive();
          if (event.error) failure ??= event.errorDetail?.message ?? event.error;
          const progress = fold.add(event);
          if (progress) options.onProgress?.(progress);
        },
      );
      // A destroyed stream may end without followProgress' callback.
      stream.once('close', () => (controller.signal.aborted ? reject(new Error('aborted')) : undefined));
    });
  } catch (error) {
    if (idle) throw new ImagePullError('registry_unreachable', `pull of ${reference}: no progress for ${idleMs} ms`, error);
    if (options.signal?.aborted) throw new RuntimeError('conflict', `pull of ${reference} was cancelled`, error);
    const translated = translateDockerError(error, `pull ${reference}`, 'image_not_found');
    if (translated.code === 'engine_unavailable') throw translated;
    const message = engineMessage(error);
    throw new ImagePullError(pullFailureReason(message, statusOf(error)), `pull of ${reference}: ${message}`, error);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (failure) throw new ImagePullError(pullFailureReason(failure), `pull of ${reference}: ${failure}`);
  // The last word: every layer done (an image whose layers were all present reports none).
  const last = fold.snapshot();
  options.onProgress?.({ ...last, layersDone: last.layers, downloadedBytes: last.totalBytes, complete: true });
}
