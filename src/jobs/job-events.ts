import { Injectable } from '@nestjs/common';
import { KeyedSignal } from 'src/common/keyed-signal';
import type { JobEntity } from 'src/jobs/entities/job.entity';
import { TERMINAL_STATUSES } from 'src/jobs/job-model';

/**
 * What changed, when the notifier knows: `progress` (the runner's own step or output news: the job is
 * still running) or `settled` (the runner's final state, as committed, container released). A plain
 * notification (cancel, approval, reconciler...) makes readers re-read the row.
 */
export type JobChange = { kind: 'progress' } | { kind: 'settled'; job: JobEntity };

const PROGRESS: JobChange = { kind: 'progress' };

/**
 * A job reached its end for waiters: terminal, and its container released (removed, kept, or left to
 * the reaper). Between the terminal commit and the removal the row says `removing`: the exit code is
 * stored before the container goes (hardening.md §4.2.2), and a waiter still sees the container gone.
 */
export function isSettled(job: Pick<JobEntity, 'status' | 'containerState'>): boolean {
  return TERMINAL_STATUSES.has(job.status) && job.containerState !== 'removing';
}

/** In-process signal that a job (by id) has new output or changed state; see KeyedSignal. */
@Injectable()
export class JobEvents extends KeyedSignal<JobChange> {
  progress(jobId: string): void {
    this.notify(jobId, PROGRESS);
  }

  settled(job: JobEntity): void {
    this.notify(job.id, { kind: 'settled', job });
  }
}

/**
 * A reader's next step after a wake-up: the settled job when the runner handed it over, `keep` when
 * only the runner's progress came (the job is still running: nothing to re-read), else `reread`.
 */
export function afterWake(changes: Array<JobChange | undefined>, workspaceId: string): JobEntity | 'keep' | 'reread' {
  for (let i = changes.length - 1; i >= 0; i--) {
    const change = changes[i];
    if (change?.kind === 'settled' && change.job.workspaceId === workspaceId) return change.job;
  }
  return changes.length > 0 && changes.every((c) => c?.kind === 'progress') ? 'keep' : 'reread';
}
