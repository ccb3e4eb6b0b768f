import { EventEmitter } from 'node:events';

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
}
