import { Logger } from '@nestjs/common';
import type { JobArtifactEntity } from 'src/jobs/entities/job-artifact.entity';
import type { JobEntity } from 'src/jobs/entities/job.entity';
import type { JobLogWriter } from 'src/jobs/job-logs.service';
import type { JobReason, StepResult } from 'src/jobs/job-model';
import type { RunFacts } from 'src/jobs/job-rules';
import type { EngineHealth } from 'src/runtime/engine-health.service';
import { RuntimeError } from 'src/runtime/runtime.errors';
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

/** A taken slot of this server; calling it gives the slot back (again: nothing). */
export type Slot = () => void;

export type ClaimedFields = Pick<JobEntity, 'status' | 'startedAt' | 'heartbeatAt' | 'runnerId' | 'containerName' | 'containerState'>;

export interface RunState {
  job: JobEntity;
  writer: JobLogWriter;
  steps: StepResult[];
  facts: RunFacts;
  containerId?: string;
  cpuSeconds: number | null;
  memoryPeakBytes: number | null;
  controller: AbortController;
  failure?: { reason: JobReason; message: string };
  artifacts: JobArtifactEntity[];
  /** Consecutive samples that could not reach the engine. */
  engineFailures: number;
  /** Settles when the run has ended and its container is released. */
  ended: Promise<void>;
  /** The opened secrets the job asked for (spec.secrets), set in the container's environment; never stored. */
  secretEnv?: Record<string, string>;
}

/** The reason and message a run ends with when `error` stopped it (the engine's health is re-checked when it was lost). */
export function failureFor(error: unknown, engine: EngineHealth): { reason: JobReason; message: string } {
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
