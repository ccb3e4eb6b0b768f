import { Logger } from '@nestjs/common';
import type { JobArtifactEntity } from 'src/jobs/entities/job-artifact.entity';
import type { JobEntity } from 'src/jobs/entities/job.entity';
import type { JobLogWriter, StoredOutput } from 'src/jobs/job-logs.service';
import type { JobReason, RunPhases, StepResult } from 'src/jobs/job-model';
import type { RunFacts } from 'src/jobs/job-rules';
import type { EngineHealth } from 'src/runtime/engine-health.service';
import { ImagePullError, RuntimeError } from 'src/runtime/runtime.errors';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';

// What the runner's units share about one run: its in-memory state and small helpers.

const logger = new Logger('JobRunner');

/** Waits for `promise` at most `ms` (the timer does not outlive it). */
export async function settledWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** Settles when the run is aborted, with what wait() would say of a killed process. */
export function abortedWait(signal: AbortSignal): Promise<{ exitCode: number; oomKilled: boolean }> {
  return new Promise((resolve) => {
    const done = (): void => resolve({ exitCode: 137, oomKilled: false });
    if (signal.aborted) done();
    else signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * A job whose server went away while its container ran as the main process, taken over by this server
 * (JobReconcilerService → JobRunnerService.adopt): attach to the container again, skipping the output
 * already stored, and wait for its end.
 */
export interface Adoption {
  containerId: string;
  output: StoredOutput;
}

/** A taken slot of this server; calling it gives the slot back (again: nothing). */
export type Slot = () => void;

export type ClaimedFields = Pick<JobEntity, 'status' | 'startedAt' | 'heartbeatAt' | 'runnerId' | 'containerName' | 'containerState'>;

export interface RunState {
  job: JobEntity;
  writer: JobLogWriter;
  steps: StepResult[];
  facts: RunFacts;
  containerId?: string;
  /** The image reference the container is created from (pinned by digest once resolved; job-executor.ts). */
  image?: string;
  cpuSeconds: number | null;
  memoryPeakBytes: number | null;
  /** Largest block I/O totals and process count seen by a sample (the run record's resources). */
  blockReadBytes: number | null;
  blockWriteBytes: number | null;
  pidsPeak: number | null;
  /** Phases reached so far (the run record; queued and admitted come from the row). */
  phases: RunPhases;
  engineVersion: string | null;
  runtimeVersion: string | null;
  controller: AbortController;
  failure?: { reason: JobReason; message: string };
  artifacts: JobArtifactEntity[];
  /** Consecutive samples that could not reach the engine. */
  engineFailures: number;
  /** Settles when the run has ended and its container is released. */
  ended: Promise<void>;
  /** Set when this server took the run over from one that went away. */
  adoption?: Adoption;
  /** The opened secrets the job asked for (spec.secrets), set in the container's environment; never stored. */
  secretEnv?: Record<string, string>;
  /** True once the container runs its one step as the main process: another server can take it over. */
  reattachable: boolean;
  /** Aborted at shutdown for a reattachable run: stop watching, leave the container running and the job `running`. */
  detach: AbortController;
}

/** True when the run was left to the next server (shutdown) rather than stopped. */
export function detached(state: RunState): boolean {
  return state.detach.signal.aborted && !state.controller.signal.aborted;
}

/** The reason and message a run ends with when `error` stopped it (the engine's health is re-checked when it was lost). */
export function failureFor(error: unknown, engine: EngineHealth): { reason: JobReason; message: string } {
  if (error instanceof ImagePullError) return { reason: 'image_pull_failed', message: `image pull failed (${error.reason}): ${error.message}` };
  // A secret deleted between admission and start: say which.
  if (error instanceof OrcaOpsError) return { reason: 'internal_error', message: error.message };
  if (error instanceof RuntimeError) {
    if (error.code === 'image_not_found') return { reason: 'image_not_found', message: error.message };
    if (error.code === 'engine_unavailable') {
      engine.invalidate();
      return { reason: 'engine_unavailable', message: 'the Docker engine became unreachable' };
    }
  }
  logger.error({ msg: 'job failed with an internal error', err: String((error as Error)?.stack ?? error) });
  return { reason: 'internal_error', message: 'internal error while running the job' };
}
