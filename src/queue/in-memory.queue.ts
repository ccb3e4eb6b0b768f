import type { EnqueueOptions, WorkHandler, WorkItem, WorkQueue } from 'src/queue/work-queue.port';

/** In-process queue for unit tests of logic. */
export class InMemoryQueue implements WorkQueue {
  readonly enqueued: Array<{ queue: string; item: WorkItem; options?: EnqueueOptions }> = [];
  private readonly handlers = new Map<string, WorkHandler>();

  enqueue(queue: string, item: WorkItem, options?: EnqueueOptions): Promise<void> {
    this.enqueued.push({ queue, item, options });
    const handler = this.handlers.get(queue);
    if (handler) setImmediate(() => void handler(item));
    return Promise.resolve();
  }

  work(queue: string, _concurrency: number, handler: WorkHandler): Promise<void> {
    this.handlers.set(queue, handler);
    return Promise.resolve();
  }

  poke(_queue: string): void {
    // Items are handed out at enqueue time; nothing waits.
  }

  stop(): Promise<void> {
    this.handlers.clear();
    return Promise.resolve();
  }
}
