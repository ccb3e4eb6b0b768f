import { JobEntity } from 'src/jobs/entities/job.entity';
import type { JobChange } from 'src/jobs/job-events';
import { afterWake, isSettled, JobEvents } from 'src/jobs/job-events';

const job = (over: Partial<JobEntity>): JobEntity => Object.assign(new JobEntity(), { id: 'j1', workspaceId: 'w1', status: 'running', containerState: 'pending' }, over);

describe('job events', () => {
  it('settles a job once it is terminal and its container is no longer being removed', () => {
    expect(isSettled(job({ status: 'running' }))).toBe(false);
    expect(isSettled(job({ status: 'succeeded', containerState: 'removing' }))).toBe(false);
    expect(isSettled(job({ status: 'succeeded', containerState: 'removed' }))).toBe(true);
    expect(isSettled(job({ status: 'failed', containerState: 'pending' }))).toBe(true);
    expect(isSettled(job({ status: 'cancelled', containerState: 'none' }))).toBe(true);
  });

  it('tells a reader to use the settled job, keep waiting on progress, or re-read otherwise', () => {
    const settled = job({ status: 'succeeded', containerState: 'removed' });
    const progress: JobChange = { kind: 'progress' };
    expect(afterWake([progress, { kind: 'settled', job: settled }], 'w1')).toBe(settled);
    expect(afterWake([progress, progress], 'w1')).toBe('keep');
    // A plain notification (cancel, approval, reconciler) or a timeout: read the row.
    expect(afterWake([progress, undefined], 'w1')).toBe('reread');
    expect(afterWake([], 'w1')).toBe('reread');
    // Never another workspace's row, whatever the key.
    expect(afterWake([{ kind: 'settled', job: settled }], 'w2')).toBe('reread');
  });

  it('hands every payload since the last wait to a watcher, in order', async () => {
    const events = new JobEvents();
    const watch = events.watch('j1');
    const settled = job({ status: 'succeeded', containerState: 'removed' });
    events.progress('j1');
    events.notify('j1');
    events.settled(settled);
    expect(await watch.next(1_000)).toEqual([{ kind: 'progress' }, undefined, { kind: 'settled', job: settled }]);
    expect(await watch.next(10)).toEqual([]);
    watch.close();
  });
});
