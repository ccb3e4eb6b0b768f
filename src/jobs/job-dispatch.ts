import type { EntityManager } from 'typeorm';
import type { JobEntity } from 'src/jobs/entities/job.entity';
import type { ClaimedFields, Slot } from 'src/jobs/job-run';
import type { WorkItem } from 'src/queue/work-queue.port';

/**
 * What JobsService and JobApprovalsService ask of the job runner (JobRunnerService implements it):
 * start a job here or queue it, claim it in the admitting transaction, stop a local run. Everything
 * else about running jobs stays behind this port.
 */
export interface JobDispatch {
  /** A slot on this server for a job about to be admitted, or undefined when busy or stopping; calling it gives it back. */
  reserveSlot(): Slot | undefined;
  /** In the admitting transaction: the fields that insert the job claimed by this server, or undefined at its workspace's cap. */
  claimAtInsert(manager: EntityManager, workspaceId: string, jobId: string, cap: number): Promise<ClaimedFields | undefined>;
  /** Runs a job inserted claimed in its reserved slot (`release` frees the slot when it ends). */
  runClaimed(job: JobEntity, release: Slot): void;
  /** A job admitted queued at its workspace's cap: starts when one of that workspace's jobs ends here. */
  deferAdmitted(item: WorkItem): Promise<void>;
  /** Starts a job here when a slot is free, else queues it for any server. */
  dispatch(item: WorkItem, submitted?: JobEntity): Promise<void>;
  /** Stops a job running in this process (cancel); false when it runs elsewhere or not at all. */
  abortLocal(jobId: string): boolean;
}

export const JOB_DISPATCH = Symbol('JobDispatch');
