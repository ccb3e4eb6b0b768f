export const WORK_QUEUE = Symbol('WorkQueue');

export interface EnqueueOptions {
  /** Do not hand the item out before this many seconds have passed. */
  delaySeconds?: number;
}

/** What a queue item carries: the id and its workspace (runners scope every query by it). */
export interface WorkItem {
  id: string;
  workspaceId: string;
}

export type WorkHandler = (item: WorkItem) => Promise<void>;

/**
 * Dispatch of work items (job ids) to runners. The job row in Postgres is the source of truth; the
 * queue only says "look at this id now". Delivery is at-least-once, so handlers are idempotent (they
 * claim the row with a compare-and-set before any side effect).
 */
export interface WorkQueue {
  enqueue(queue: string, item: WorkItem, options?: EnqueueOptions): Promise<void>;
  /** Runs `handler` for items of `queue`, at most `concurrency` at a time in this process. */
  work(queue: string, concurrency: number, handler: WorkHandler): Promise<void>;
  /** Wakes this process's idle workers of `queue` now (capacity just freed up). */
  poke(queue: string): void;
  stop(): Promise<void>;
}
