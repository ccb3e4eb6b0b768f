import { EventEmitter } from 'node:events';

/** A subscription to one key's notifications: none is missed between two next() calls. */
export interface SignalWatch {
  /** Resolves at once if a notification came since the last call, else at the next one, after `timeoutMs`, or on abort. */
  next(timeoutMs: number, signal?: AbortSignal): Promise<void>;
  close(): void;
}

/**
 * In-process wake-up signals keyed by a resource id. Readers re-read Postgres when one fires and after
 * a bounded timeout, so a resource driven by another server is followed too, a little later.
 */
export class KeyedSignal {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  notify(key: string): void {
    this.emitter.emit(key);
  }

  /** Resolves at the next notification for `key` or after `timeoutMs`, whichever is first (or on abort). */
  next(key: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.emitter.off(key, done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.emitter.once(key, done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * A subscription for read-then-wait loops: it listens from the moment it is made, so a notification
   * that fires while the reader is reading wakes its next wait at once (next() alone would miss it and
   * sleep until the timeout). Close it when the loop ends.
   */
  watch(key: string): SignalWatch {
    let pending = false;
    let wake: (() => void) | undefined;
    const listener = (): void => {
      pending = true;
      wake?.();
    };
    this.emitter.on(key, listener);
    return {
      next: (timeoutMs, signal) =>
        new Promise((resolve) => {
          if (pending || signal?.aborted) {
            pending = false;
            return resolve();
          }
          const done = (): void => {
            clearTimeout(timer);
            signal?.removeEventListener('abort', done);
            wake = undefined;
            pending = false;
            resolve();
          };
          const timer = setTimeout(done, timeoutMs);
          wake = done;
          signal?.addEventListener('abort', done, { once: true });
        }),
      close: () => {
        this.emitter.off(key, listener);
        wake?.();
      },
    };
  }
}
