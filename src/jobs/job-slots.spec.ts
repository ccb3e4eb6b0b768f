import { JobEntity } from 'src/jobs/entities/job.entity';
import { containerSpecFor, jobLabels } from 'src/jobs/job-container';
import type { JobEvents } from 'src/jobs/job-events';
import { normalizeSpec } from 'src/jobs/job-rules';
import { JOBS_QUEUE, JobSlots } from 'src/jobs/job-slots';
import type { JobsConfig } from 'src/jobs/jobs.config';
import type { QuotasService } from 'src/quotas/quotas.service';
import { InMemoryQueue } from 'src/queue/in-memory.queue';
import type { DataSource } from 'typeorm';
import type { TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { PlatformMetrics } from 'src/telemetry/platform-metrics';

/** Slots without a database: only the bookkeeping and the queue are exercised (claims need Postgres; see the docker specs). */
function slotsWith(maxConcurrent: number): { slots: JobSlots; queue: InMemoryQueue } {
  const queue = new InMemoryQueue();
  const config = { maxConcurrent } as JobsConfig;
  const slots = new JobSlots({} as TenantScopedRepository<JobEntity>, {} as DataSource, queue, config, {} as JobEvents, {} as QuotasService, new PlatformMetrics());
  return { slots, queue };
}

describe('job slots', () => {
  it('should hand out at most maxConcurrent slots, counting reserved and running jobs, and take a slot back once', () => {
    const { slots } = slotsWith(2);
    const first = slots.reserveSlot()!;
    const second = slots.reserveSlot()!;
    expect(slots.reserveSlot()).toBeUndefined();
    // A reserved slot turns into a running job: still busy.
    slots.occupy('j1', 'w1');
    first();
    first();
    expect(slots.reserveSlot()).toBeUndefined();
    second();
    expect(slots.reserveSlot()).toBeDefined();
    slots.vacate('j1');
    expect(slots.reserveSlot()).toBeDefined();
    expect(slots.reserveSlot()).toBeUndefined();
  });

  it('should hand out no slot once stopping', () => {
    const { slots } = slotsWith(4);
    slots.stop();
    expect(slots.stopping).toBe(true);
    expect(slots.reserveSlot()).toBeUndefined();
  });

  it('should start deferred jobs of a workspace oldest first, with a slow backstop while one of its jobs runs here', async () => {
    const { slots, queue } = slotsWith(4);
    await slots.defer({ id: 'a', workspaceId: 'w1' });
    slots.occupy('r1', 'w1');
    expect(slots.runsHere('w1')).toBe(true);
    expect(slots.runsHere('w2')).toBe(false);
    await slots.defer({ id: 'b', workspaceId: 'w1' });
    expect(queue.enqueued.map((e) => [e.queue, e.item.id, e.options?.delaySeconds])).toEqual([
      [JOBS_QUEUE, 'a', 1],
      [JOBS_QUEUE, 'b', 5],
    ]);
    expect(slots.takeDeferred('w2')).toBeUndefined();
    expect(slots.takeDeferred('w1')?.id).toBe('a');
    expect(slots.takeDeferred('w1')?.id).toBe('b');
    expect(slots.takeDeferred('w1')).toBeUndefined();
  });

  it('should queue a job that found every slot busy, and start the oldest waiting one when a slot frees', async () => {
    const { slots, queue } = slotsWith(1);
    await slots.waitForSlot({ id: 'a', workspaceId: 'w1' }, 0);
    await slots.requeueBusy({ id: 'b', workspaceId: 'w2' });
    expect(queue.enqueued.map((e) => [e.item.id, e.options?.delaySeconds])).toEqual([
      ['a', 0],
      ['b', 2],
    ]);
    expect(slots.takeWaiting()?.id).toBe('a');
    expect(slots.takeWaiting()?.id).toBe('b');
    expect(slots.takeWaiting()).toBeUndefined();
  });
});

describe('job container', () => {
  it('should label the container with its job, workspace, installation and deadline, over any internal labels', () => {
    const job = Object.assign(new JobEntity(), { id: 'j1', workspaceId: 'w1', spec: normalizeSpec({ image: 'orcaops/busybox', command: 'true' }) });
    job.spec.internal = { labels: { 'orcaops.job_id': 'spoofed', 'orcaops.workflow_run': 'r1' } };
    const spec = containerSpecFor(job, 'install-1', 1_700_000_000_500);
    expect(spec.name).toBe('orcaops-job-j1');
    expect(spec.labels).toEqual({ ...jobLabels(job, 'install-1', 1_700_000_000_500), 'orcaops.workflow_run': 'r1' });
    expect(spec.labels['orcaops.deadline']).toBe('1700000001');
    expect(spec.command).toEqual(['sleep', '2147483647']);
  });
});
