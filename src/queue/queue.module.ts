import { BeforeApplicationShutdown, Inject, Module } from '@nestjs/common';
import { DatabaseUrlProvider } from 'src/database/database-url.provider';
import { PgBossQueue } from 'src/queue/pg-boss.queue';
import { WORK_QUEUE, WorkQueue } from 'src/queue/work-queue.port';

@Module({
  providers: [
    {
      provide: WORK_QUEUE,
      inject: [DatabaseUrlProvider],
      useFactory: async (urls: DatabaseUrlProvider): Promise<WorkQueue> => new PgBossQueue(await urls.url()),
    },
  ],
  exports: [WORK_QUEUE],
})
export class QueueModule implements BeforeApplicationShutdown {
  constructor(@Inject(WORK_QUEUE) private readonly queue: WorkQueue) {}

  // Before the database goes away (onApplicationShutdown stops the embedded server).
  async beforeApplicationShutdown(): Promise<void> {
    await this.queue.stop();
  }
}
