import type { ArtifactManifest } from 'src/workflows/engine/artifacts';
import type { InstanceReason, InstanceStatus, JobResult, JsonValue } from 'src/workflows/engine/model';

/** A run's own lifecycle (the engine decides instance transitions; this is the run record's). */
export const WORKFLOW_RUN_STATUSES = ['running', 'completed'] as const;
export type WorkflowRunStatus = (typeof WORKFLOW_RUN_STATUSES)[number];

/** One OrcaOps job started for one attempt of an instance (retries keep earlier attempts' jobs and logs). */
export interface InstanceAttempt {
  attempt: number;
  job_id: string | null;
  status: InstanceStatus;
  reason: InstanceReason | null;
  message: string | null;
  started_at: string;
  finished_at: string | null;
  /** CPU time of the attempt's service containers (counted against the CPU-seconds quotas); absent without services. */
  services_cpu_seconds?: number;
}

/** What a step left behind that later steps and the job's outputs read (`steps.<id>`). */
export interface StepRecord {
  id: string;
  outcome: 'success' | 'failure' | 'cancelled' | 'skipped';
  conclusion: 'success' | 'failure' | 'cancelled' | 'skipped';
  outputs: Record<string, string>;
}

/** The state the step driver carries between steps of one attempt (persisted on the instance row). */
export interface StepContextState {
  steps: StepRecord[];
  /** Variables added through $GITHUB_ENV, applied to later steps. */
  env: Record<string, string>;
  /** Directories added through $GITHUB_PATH, prepended to PATH for later steps. */
  path: string[];
  /** $GITHUB_STEP_SUMMARY contents, concatenated. */
  summary: string;
  /** Step-level problems (bad output file format, expression errors) shown in the instance view. */
  notes: string[];
  /**
   * The contexts fixed when the attempt started (github, inputs, vars, matrix, needs, strategy, job,
   * runner, and `env` = workflow env + job env, evaluated), so any server can resolve the next step.
   */
  contexts: Record<string, JsonValue>;
  /** Job declares container:/image: (container mode: default shell sh -e, as on GitHub). */
  containerJob: boolean;
  /** Job outputs, evaluated after the last step (even on failure). */
  jobOutputs?: Record<string, string>;
  /** Named artifacts this attempt uploaded (name → stored files), read by downloading jobs. */
  artifacts?: ArtifactManifest;
  /** The native `download:` entries were brought in (before the first step). */
  downloaded?: boolean;
}

export type { InstanceReason, InstanceStatus, JobResult };
