import { OrcaOpsError } from 'src/common/errors/orcaops.error';

interface Lane {
  active: number;
  waiting: Array<() => void>;
}

/**
 * A bulkhead per key (a workspace): at most `concurrency` calls of one key run at once, further ones wait
 * in a bounded first-in-first-out queue, and beyond that the call is refused with 429 at once. Keys do not
 * wait for each other: a tenant's burst queues behind its own work, in memory, instead of occupying the
 * database connections (or engine calls) every tenant shares. Per process.
 */
export class KeyedGate {
  private readonly lanes = new Map<string, Lane>();

  constructor(
    private readonly concurrency: number,
    private readonly maxWaiting: number,
    /** Names the guarded work in the 429 message ("job admissions"). */
    private readonly what: string,
  ) {}

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const lane = this.lanes.get(key) ?? { active: 0, waiting: [] };
    this.lanes.set(key, lane);
    if (lane.active >= this.concurrency) {
      if (lane.waiting.length >= this.maxWaiting) {
        throw new OrcaOpsError(
          'rate_limited',
          `Too many ${this.what} in progress for this workspace (${this.concurrency} at once, ${this.maxWaiting} waiting); retry shortly`,
          {
            in_progress: lane.active,
            waiting: lane.waiting.length,
            retry_after_seconds: 1,
          },
        );
      }
      await new Promise<void>((resolve) => lane.waiting.push(resolve));
    } else {
      lane.active += 1;
    }
    try {
      return await work();
    } finally {
      // Hand the slot straight to the next waiter (active stays counted), or free it.
      const next = lane.waiting.shift();
      if (next) next();
      else {
        lane.active -= 1;
        if (lane.active === 0) this.lanes.delete(key);
      }
    }
  }

  /** Calls running and waiting for a key (tests, metrics). */
  load(key: string): { active: number; waiting: number } {
    const lane = this.lanes.get(key);
    return { active: lane?.active ?? 0, waiting: lane?.waiting.length ?? 0 };
  }
}
