/**
 * Concurrent callers with the same key share one run of `work` (issue 13: ten jobs on a missing image
 * → one pull). Each caller may listen to the shared run's progress. A caller that stops waiting (its
 * signal) does not cancel the run for the others.
 */
export class SingleFlight<T, P> {
  private readonly flights = new Map<string, { promise: Promise<T>; listeners: Set<(p: P) => void> }>();
  /** When each key's last successful run ended (bounded): a caller that asked before then needs no new run. */
  private readonly finished = new Map<string, { at: number; value: T }>();
  private static readonly FINISHED_ENTRIES = 1_000;

  /**
   * `since`: when the caller decided it needs the work (e.g. it found the image missing); a run of the
   * same key that succeeded after that moment is reused instead of starting another (closes the gap
   * between a caller's check and its call, in which another caller's run may have just ended).
   */
  run(key: string, work: (progress: (p: P) => void) => Promise<T>, onProgress?: (p: P) => void, signal?: AbortSignal, since?: number): Promise<T> {
    const last = this.finished.get(key);
    if (since !== undefined && last && last.at >= since) return Promise.resolve(last.value);
    let flight = this.flights.get(key);
    if (flight) {
      if (onProgress) flight.listeners.add(onProgress);
    } else {
      // The first caller listens before the work starts: it may report progress synchronously.
      const listeners = new Set<(p: P) => void>(onProgress ? [onProgress] : []);
      const promise = work((p) => listeners.forEach((l) => l(p)))
        .then((value) => {
          this.finished.delete(key);
          if (this.finished.size >= SingleFlight.FINISHED_ENTRIES) this.finished.delete(this.finished.keys().next().value as string);
          this.finished.set(key, { at: Date.now(), value });
          return value;
        })
        .finally(() => this.flights.delete(key));
      flight = { promise, listeners };
      this.flights.set(key, flight);
    }
    const { promise, listeners } = flight;
    const done = promise.finally(() => onProgress && listeners.delete(onProgress));
    if (!signal) return done;
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        if (onProgress) listeners.delete(onProgress);
        reject(new Error('cancelled while waiting for the pull'));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      done.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /** Runs in flight (tests and metrics). */
  get size(): number {
    return this.flights.size;
  }
}
