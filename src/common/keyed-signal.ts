import { EventEmitter } from 'node:events';

/** A subscription to one key's notifications: none is missed between two next() calls. */
export interface SignalWatch<P = undefined> {
  /**
   * Resolves at once if notifications came since the last call, else at the next one, after
   * `timeoutMs`, or on abort; with the payloads received since the last call, in order (none: timed
   * out or aborted; `undefined` for a notification without one).
   */
  next(timeoutMs: number, signal?: AbortSignal): Promise<Array<P | undefined>>;
  close(): void;
}

/**
 * In-process wake-up signals keyed by a resource id. Readers re-read Postgres when one fires and after
 * a bounded timeout, so a resource driven by another server is followed too, a little later.
 */
export class KeyedSignal<P = undefined> {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  /** `payload` lets a watcher skip its re-read (e.g. the state it would read); readers must cope without one. */
  notify(key: string, payload?: P): void {
    this.emitter.emit(key, payload);
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
  watch(key: string): SignalWatch<P> {
    let pending: Array<P | undefined> = [];
    let wake: (() => void) | undefined;
    const take = (): Array<P | undefined> => {
      const received = pending;
      pending = [];
      return received;
    };
    const listener = (payload?: P): void => {
      // A reader that falls far behind just re-reads: one payload-less entry stands for them all.
      if (pending.length >= 64) pending = [undefined];
      else pending.push(payload);
      wake?.();
    };
    this.emitter.on(key, listener);
    return {
      next: (timeoutMs, signal) =>
        new Promise((resolve) => {
          if (pending.length || signal?.aborted) return resolve(take());
          const done = (): void => {
            clearTimeout(timer);
            signal?.removeEventListener('abort', done);
            wake = undefined;
            resolve(take());
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
