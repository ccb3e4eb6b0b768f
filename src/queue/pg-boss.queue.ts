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
  private readonly workers = new Map<string, string[]>();
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
    if (!options.delaySeconds) for (const worker of this.workers.get(queue) ?? []) this.boss.notifyWorker(worker);
  }

  async work(queue: string, concurrency: number, handler: WorkHandler): Promise<void> {
    await this.ensureQueue(queue);
    const ids: string[] = [];
    for (let i = 0; i < concurrency; i++) {
      ids.push(
        await this.boss.work<WorkItem>(queue, { batchSize: 1, pollingIntervalSeconds: 2 }, async (jobs) => {
          for (const job of jobs) await handler(job.data);
        }),
      );
    }
    this.workers.set(queue, [...(this.workers.get(queue) ?? []), ...ids]);
  }

  poke(queue: string): void {
    for (const worker of this.workers.get(queue) ?? []) this.boss.notifyWorker(worker);
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    await this.started.catch(() => undefined);
    await this.boss.stop({ graceful: true, wait: true, timeout: 10_000 });
  }
}
