import type { EgressNarrowing } from 'src/policies/egress-rules';
/** The job model's closed vocabularies (shared by entities, DTOs, the runner and front ends). */
import type { CleanupPolicy, NetworkMode, PullPolicy, ResourceLimits } from 'src/domain/container-spec';

// awaiting_approval: a policy held the job for a human decision; it is not enqueued until approved.
export const JOB_STATUSES = ['awaiting_approval', 'queued', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'timed_out', 'cancelled']);

export const JOB_REASONS = [
  'completed',
  'step_failed',
  'oom_killed',
  'timeout',
  'cancelled',
  'image_not_found',
  /** The image could not be pulled (message says why: unauthorized, not_found, registry_unreachable, denied_by_policy, too_large). */
  'image_pull_failed',
  'engine_unavailable',
  'interrupted',
  'policy_denied',
  'approval_rejected',
  'approval_expired',
  'artifact_error',
  'internal_error',
] as const;
export type JobReason = (typeof JOB_REASONS)[number];

// The container vocabulary is shared with sandboxes, workflows and policies; jobs' files import it from here.
export type { CleanupPolicy, NetworkMode } from 'src/domain/container-spec';
export {
  CLEANUP_POLICIES,
  DEFAULT_RESOURCES,
  DEFAULT_TIMEOUT_SECONDS,
  MAX_TIMEOUT_SECONDS,
  NETWORK_MODES,
  RESOURCE_BOUNDS,
} from 'src/domain/container-spec';

export interface JobStepSpec {
  name?: string;
  /** Run with /bin/sh -c. */
  command?: string;
  /** argv, run without a shell. Exactly one of command/args. */
  args?: string[];
  cwd?: string;
  env?: Record<string, string>;
  timeout_seconds?: number;
  continue_on_error?: boolean;
}

export type JobResources = ResourceLimits;

/** A finished step's status from its exit code: success when the code is in the job's success list ([0] by default). */
export function exitStatus(exitCode: number | null, successCodes: readonly number[] = [0]): 'succeeded' | 'failed' {
  return exitCode !== null && successCodes.includes(exitCode) ? 'succeeded' : 'failed';
}

/**
 * Set only by internal callers (workflows), never from a request body: where the job container's
 * network comes from and who supplies its steps.
 */
export interface JobInternalSpec {
  /** Join an internal per-instance network under aliases, or share another container's namespace. */
  attach?: { network: string; aliases: string[] } | { container: string };
  /** Extra /etc/hosts entries (name → IPv4). */
  extra_hosts?: Record<string, string>;
  /** A registered JobStepDriver resolves each step just before it runs (src/jobs/job-step-driver.ts). */
  step_driver?: string;
  /** Labels added to the job container (e.g. orcaops.workflow_run), for label-based cleanup. */
  labels?: Record<string, string>;
  /** The step driver collects artifacts (DrivenJobIo.collect): admission checks the artifact storage quota. */
  collects_artifacts?: boolean;
  /**
   * The agent session of the work that starts this job (a workflow run's instance jobs): linked as is,
   * without the open check, since that work was admitted while the session was open. Not stored in the spec.
   */
  inherited_session_id?: string;
  /**
   * Secrets the step driver puts into steps itself (workflow `${{ secrets.X }}`): names only; the
   * executor opens them to mask their values in the job's output.
   */
  mask_secrets?: string[];
  /**
   * Exit codes that count as success for every step (a sandbox profile's `success_exit_codes`); default [0].
   * The job's status, its cleanup policy and its record all follow from the step statuses this decides.
   */
  success_exit_codes?: number[];
  /** Numeric non-root uid:gid (workflow `container.options --user`); default 65534:65534. */
  user?: string;
  /** Extra size-capped tmpfs mounts (`--tmpfs`). */
  tmpfs?: Array<{ path: string; size_bytes: number; mode?: string; exec?: boolean }>;
  /**
   * Data volumes the workflow runner created (sized tmpfs, runtime createDataVolume) for the instance's
   * `container.volumes`, mounted by name; never a host path. The runner removes them with the instance.
   */
  volumes?: Array<{ name: string; target: string; read_only: boolean }>;
  /** /tmp size in bytes (`--tmpfs /tmp:size=…`). */
  tmp_bytes?: number;
  /** /dev/shm size in bytes (`--shm-size`). */
  shm_bytes?: number;
  /** Open-files limit (`--ulimit nofile=…`). */
  nofile?: number;
}

/** The normalised spec stored with the job (defaults filled in). */
export interface JobSpec {
  image: string;
  steps: JobStepSpec[];
  env: Record<string, string>;
  /** Environment variable → secret name (names only: values are opened when the container starts). */
  secrets?: Record<string, string>;
  resources: JobResources;
  network: NetworkMode;
  /** With network `egress`: the job's own destinations (narrowing the policy's). */
  egress?: EgressNarrowing;
  timeout_seconds: number;
  artifacts: string[];
  cleanup_policy: CleanupPolicy;
  /** Absent on jobs from before pull policies: if_not_present. */
  pull_policy?: PullPolicy;
  internal?: JobInternalSpec;
}

/** The approval a job waited for, as its requester sees it (kept on the job; the request row is the source). */
export interface JobApproval {
  id: string;
  status: 'pending' | 'approved' | 'rejected' | 'expired';
  reasons: Array<{ rule: string; field: string; message: string }>;
  expires_at: string;
  decided_by: string | null;
  decided_at: string | null;
  comment: string | null;
}

export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'timed_out' | 'cancelled' | 'skipped';

export interface StepResult {
  index: number;
  name: string;
  status: StepStatus;
  continue_on_error: boolean;
  exit_code: number | null;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
}


/**
 * When a run reached each phase (ISO 8601), for its record (docs/run-records.md). Steps carry their own
 * start/finish; a phase the run never reached is absent.
 */
export interface RunPhases {
  queued_at?: string;
  /** Claimed by a runner (a slot and the workspace's running-jobs cap). */
  admitted_at?: string;
  /** The container was created: the image is present on the engine. */
  image_ready_at?: string;
  /** The container started. */
  started_at?: string;
  steps_finished_at?: string;
  artifacts_started_at?: string;
  artifacts_finished_at?: string;
  finished_at?: string;
}
