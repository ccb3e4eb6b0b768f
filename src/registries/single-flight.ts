/**
 * Concurrent callers with the same key share one run of `work` (issue 13: ten jobs on a missing image
 * → one pull). Each caller may listen to the shared run's progress. A caller that stops waiting (its
 * signal) does not cancel the run for the others.
 */
export class SingleFlight<T, P> {
  private readonly flights = new Map<string, { promise: Promise<T>; listeners: Set<(p: P) => void> }>();

  run(key: string, work: (progress: (p: P) => void) => Promise<T>, onProgress?: (p: P) => void, signal?: AbortSignal): Promise<T> {
    let flight = this.flights.get(key);
    if (flight) {
      if (onProgress) flight.listeners.add(onProgress);
    } else {
      // The first caller listens before the work starts: it may report progress synchronously.
      const listeners = new Set<(p: P) => void>(onProgress ? [onProgress] : []);
      const promise = work((p) => listeners.forEach((l) => l(p))).finally(() => this.flights.delete(key));
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
