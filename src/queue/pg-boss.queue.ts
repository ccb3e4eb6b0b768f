import { Logger } from '@nestjs/common';
import PgBoss from 'pg-boss';
import type { EnqueueOptions, WorkHandler, WorkItem, WorkQueue } from 'src/queue/work-queue.port';

/**
 * WorkQueue on pg-boss (Postgres, schema `pgboss`). Chosen over a hand-written SKIP LOCKED queue because
 * it becomes the dispatch layer when several OrcaOps nodes share one database. Workers are woken at
 * once after a local enqueue, so dispatch does not wait for the polling interval.
 */
export class PgBossQueue implements WorkQueue {
  private readonly logger = new Logger('WorkQueue');
  private readonly boss: PgBoss;
  private started?: Promise<void>;
  private readonly workers = new Map<string, Array<{ id: string; busy: boolean }>>();
  private nextWorker = 0;
  private readonly created = new Set<string>();

  constructor(connectionString: string) {
    this.boss = new PgBoss({
      connectionString,
      schema: 'pgboss',
      max: 4,
      application_name: 'orcaops-queue',
      // The runner owns retries; the queue re-delivers only items whose handler died mid-flight.
      retryLimit: 2,
      retryDelay: 1,
      expireInSeconds: 4 * 3600,
      supervise: true,
    });
    this.boss.on('error', (error) => this.logger.warn({ msg: 'queue error', err: String(error) }));
  }

  private start(): Promise<void> {
    this.started ??= this.boss.start().then(() => undefined);
    return this.started;
  }

  private async ensureQueue(queue: string): Promise<void> {
    await this.start();
    if (this.created.has(queue)) return;
    await this.boss.createQueue(queue);
    this.created.add(queue);
  }

  async enqueue(queue: string, item: WorkItem, options: EnqueueOptions = {}): Promise<void> {
    await this.ensureQueue(queue);
    await this.boss.send(queue, { id: item.id, workspaceId: item.workspaceId }, options.delaySeconds ? { startAfter: options.delaySeconds } : {});
    if (!options.delaySeconds) this.poke(queue);
  }

  async work(queue: string, concurrency: number, handler: WorkHandler): Promise<void> {
    await this.ensureQueue(queue);
    for (let i = 0; i < concurrency; i++) {
      const worker = { id: '', busy: false };
      worker.id = await this.boss.work<WorkItem>(queue, { batchSize: 1, pollingIntervalSeconds: 2 }, async (jobs) => {
        worker.busy = true;
        try {
          for (const job of jobs) await handler(job.data);
        } finally {
          worker.busy = false;
        }
      });
      this.workers.set(queue, [...(this.workers.get(queue) ?? []), worker]);
    }
  }

  /**
   * Wakes one idle worker: one item or one freed slot needs one fetch. Waking every worker made each
   * finished job cost `concurrency` queue queries at once, which slowed the reads right behind it.
   */
  poke(queue: string): void {
    const workers = this.workers.get(queue) ?? [];
    // Round robin, so a burst of enqueues wakes different workers rather than one mid-fetch.
    for (let i = 0; i < workers.length; i++) {
      const worker = workers[(this.nextWorker + i) % workers.length]!;
      if (worker.busy) continue;
      this.nextWorker = (this.nextWorker + i + 1) % workers.length;
      this.boss.notifyWorker(worker.id);
      return;
    }
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    await this.started.catch(() => undefined);
    await this.boss.stop({ graceful: true, wait: true, timeout: 10_000 });
  }
}
