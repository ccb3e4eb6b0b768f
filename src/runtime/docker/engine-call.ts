import { RuntimeError } from 'src/runtime/runtime.errors';

/**
 * Bounds on engine calls (docs/security.md, "Container output bounds"). A hung dockerd accepts the
 * connection and never answers: without a deadline every caller (a request, a job's runner, the reaper)
 * would wait forever. Short calls get `callMs`; the long ones are bounded separately or driven by the
 * caller's abort (wait, attach and exec streams).
 */
export interface EngineTimeouts {
  /** Any request/response call (inspect, create, start, kill, remove, list, stats, exec setup...). */
  callMs: number;
  /** The health ping (version + info). */
  pingMs: number;
  /** Sending or receiving an archive (putArchive body, getArchive response headers). */
  archiveMs: number;
  /** `docker import` of a root filesystem (image build). */
  importMs: number;
}

export const DEFAULT_ENGINE_TIMEOUTS: EngineTimeouts = {
  callMs: 30_000,
  pingMs: 2_000,
  archiveMs: 120_000,
  importMs: 600_000,
};

/** The bounds for a configured call deadline (ORCAOPS_ENGINE_CALL_TIMEOUT_MS); the ping stays within 2 s. */
export function engineTimeouts(callMs: number): EngineTimeouts {
  return { ...DEFAULT_ENGINE_TIMEOUTS, callMs, pingMs: Math.min(DEFAULT_ENGINE_TIMEOUTS.pingMs, callMs) };
}

/**
 * Runs one engine call with a deadline. The signal is handed to dockerode (docker-modem destroys the
 * request when it fires) and the promise is also raced against the timer, so a call that ignores the
 * signal still settles. Past the deadline the caller gets RuntimeError('engine_unavailable') naming the
 * call and the bound; the signal is never aborted once the call has settled (a hijacked exec stream
 * outlives its setup call).
 */
export async function withEngineDeadline<T>(what: string, ms: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new RuntimeError('engine_unavailable', `Docker engine did not answer ${what} within ${ms} ms`));
    }, ms);
  });
  const started = performance.now();
  let failure: 'timeout' | 'error' | undefined;
  const attempt = call(controller.signal);
  // The losing attempt's rejection (AbortError) must not surface as unhandled.
  attempt.catch(() => undefined);
  try {
    return await Promise.race([attempt, expired]);
  } catch (error) {
    failure = controller.signal.aborted ? 'timeout' : 'error';
    if (controller.signal.aborted) throw new RuntimeError('engine_unavailable', `Docker engine did not answer ${what} within ${ms} ms`, error);
    throw error;
  } finally {
    clearTimeout(timer);
    observer?.(engineOperation(what), (performance.now() - started) / 1000, failure);
  }
}

/** Told about every engine call once it settles (the Prometheus metrics hook in through RuntimeModule). */
export type EngineCallObserver = (operation: string, seconds: number, failure: 'timeout' | 'error' | undefined) => void;

let observer: EngineCallObserver | undefined;

/** Sets the one observer of engine calls (process-wide: the engine calls are free functions). */
export function observeEngineCalls(next: EngineCallObserver | undefined): void {
  observer = next;
}

/** The calls' descriptions start with their operation, followed by ids and names (unbounded). */
const OPERATIONS = [
  'ping', 'list containers', 'list volumes', 'list networks', 'create container', 'create volume', 'create network',
  'remove container', 'remove volume', 'remove network', 'start container', 'kill container', 'inspect container',
  'inspect image', 'inspect network', 'inspect volume', 'inspect exec', 'import image', 'get archive', 'put archive', 'attach to container',
  'stats of container', 'logs of container', 'exec in container', 'wait for container',
];

/** A bounded label for an engine call: its operation from a fixed list, `other` for anything else. */
export function engineOperation(what: string): string {
  const known = OPERATIONS.find((op) => what === op || what.startsWith(`${op} `));
  return known ? known.replace(/ (of |to |in |for )?/g, '_').replace(/_+/g, '_') : 'other';
}
