import { OrcaOpsError } from 'src/common/errors/orcaops.error';

/** Frees a slot; calling it again does nothing. */
export type Release = () => void;

export interface FairGateOptions {
  /** Slots shared by all keys: requests in their handlers at once, server-wide. */
  capacity: number;
  /** Slots a key may always use, even while others hold the whole capacity: a light tenant never waits behind a heavy one. */
  minShare: number;
  /** Requests of one key waiting for a slot; beyond that, 429 at once. */
  maxWaitingPerKey: number;
  /** A request waits at most this long for a slot, then 429 (the server is busy with this tenant's own work). */
  maxWaitMs: number;
  /** Names the guarded work in the 429 message ("requests"). */
  what: string;
}

interface Waiter {
  start: () => void;
  fail: (error: Error) => void;
}

interface Lane {
  active: number;
  waiting: Waiter[];
}

/**
 * A fair share of request-handling slots per key (a workspace). While one key is busy it may use the
 * whole capacity; once several keys are busy, each may hold at most capacity / busy keys (but always
 * `minShare`), and the rest of its requests wait in its own first-in-first-out queue, in memory. A freed
 * slot goes to the waiting keys in turn (round robin), so a tenant that floods the server waits behind
 * its own requests, and another tenant's request starts at once or after one slot frees.
 *
 * Work-conserving for a single tenant; bounded in memory (`maxWaitingPerKey` waiters per key, each
 * waiting at most `maxWaitMs`). Per process. Pure logic: the HTTP edge decides what holds a slot.
 */
export class FairGate {
  private readonly lanes = new Map<string, Lane>();
  /** Keys with waiters, in the order they are served next (a served key moves to the end). */
  private readonly ready = new Set<string>();
  private active = 0;

  constructor(private readonly options: FairGateOptions) {
    if (options.capacity < 1 || options.minShare < 1) throw new Error('FairGate needs capacity and minShare of at least 1');
  }

  /**
   * A slot for `key`: at once when its share allows, else after waiting its turn. Rejects with 429
   * `rate_limited` when the key's queue is full or the wait exceeds maxWaitMs; with `signal`'s reason
   * when the caller gives up (a client disconnect), which frees its place in the queue.
   */
  acquire(key: string, signal?: AbortSignal): Promise<Release> {
    const lane = this.lanes.get(key) ?? { active: 0, waiting: [] };
    this.lanes.set(key, lane);
    if (lane.waiting.length === 0 && this.mayStart(lane)) return Promise.resolve(this.start(key, lane));
    if (lane.waiting.length >= this.options.maxWaitingPerKey) {
      this.dropIfIdle(key, lane);
      return Promise.reject(this.refusal(lane, `${this.options.maxWaitingPerKey} waiting`));
    }
    return new Promise<Release>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const leave = (error: Error): void => {
        const at = lane.waiting.indexOf(waiter);
        if (at < 0) return;
        lane.waiting.splice(at, 1);
        if (lane.waiting.length === 0) this.ready.delete(key);
        this.dropIfIdle(key, lane);
        cleanup();
        reject(error);
        // One key fewer may raise the others' share.
        this.dispatch();
      };
      const onAbort = (): void => leave(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      const waiter: Waiter = {
        start: () => {
          cleanup();
          resolve(this.start(key, lane));
        },
        fail: leave,
      };
      const timer = setTimeout(() => leave(this.refusal(lane, `none free within ${this.options.maxWaitMs} ms`)), this.options.maxWaitMs);
      timer.unref?.();
      lane.waiting.push(waiter);
      this.ready.add(key);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Slots held and requests waiting, for a key or (without one) in all (tests, metrics). */
  load(key?: string): { active: number; waiting: number } {
    if (key === undefined) {
      let waiting = 0;
      for (const lane of this.lanes.values()) waiting += lane.waiting.length;
      return { active: this.active, waiting };
    }
    const lane = this.lanes.get(key);
    return { active: lane?.active ?? 0, waiting: lane?.waiting.length ?? 0 };
  }

  /** The most slots one key may hold now: capacity split among the keys that hold or want one. */
  share(): number {
    return Math.max(this.options.minShare, Math.floor(this.options.capacity / Math.max(1, this.lanes.size)));
  }

  private mayStart(lane: Lane): boolean {
    if (lane.active < this.options.minShare) return true;
    return this.active < this.options.capacity && lane.active < this.share();
  }

  private start(key: string, lane: Lane): Release {
    lane.active += 1;
    this.active += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      lane.active -= 1;
      this.active -= 1;
      this.dropIfIdle(key, lane);
      this.dispatch();
    };
  }

  /** Hands free slots to waiting keys, one per key per turn, until none may start. */
  private dispatch(): void {
    let progress = true;
    while (progress && this.ready.size > 0) {
      progress = false;
      for (const key of [...this.ready]) {
        const lane = this.lanes.get(key);
        if (!lane || lane.waiting.length === 0) {
          this.ready.delete(key);
          continue;
        }
        if (!this.mayStart(lane)) continue;
        const next = lane.waiting.shift()!;
        // Served: to the back of the turn order (or out of it, with nobody left waiting).
        this.ready.delete(key);
        if (lane.waiting.length > 0) this.ready.add(key);
        next.start();
        progress = true;
      }
    }
  }

  private dropIfIdle(key: string, lane: Lane): void {
    if (lane.active === 0 && lane.waiting.length === 0 && this.lanes.get(key) === lane) this.lanes.delete(key);
  }

  private refusal(lane: Lane, why: string): OrcaOpsError {
    return new OrcaOpsError(
      'rate_limited',
      `Too many ${this.options.what} in progress for this workspace (its fair share is ${this.share()} at once; ${why}); retry shortly`,
      { in_progress: lane.active, waiting: lane.waiting.length, retry_after_seconds: 1 },
    );
  }
}
