import { invalidField } from 'src/common/errors/orcaops.error';
import type { CreateJobDto } from 'src/jobs/dto/create-job.dto';
import type {
  CleanupPolicy,
  JobReason,
  JobSpec,
  JobStatus,
  StepResult} from 'src/jobs/job-model';
import {
  DEFAULT_RESOURCES,
  DEFAULT_TIMEOUT_SECONDS
} from 'src/jobs/job-model';

/** Pure decisions of the job lifecycle (no I/O), each with its spec in job-rules.spec.ts. */

/** The stored spec: defaults filled in, and the either/or rules class-validator cannot express. */
export function normalizeSpec(dto: CreateJobDto): JobSpec {
  if (dto.command !== undefined && dto.steps !== undefined) throw invalidField('command', 'give either command or steps, not both');
  const steps = dto.steps ?? (dto.command !== undefined ? [{ command: dto.command }] : undefined);
  if (!steps?.length) throw invalidField('steps', 'a job needs at least one step (steps or command)');
  steps.forEach((step, i) => {
    if ((step.command === undefined) === (step.args === undefined)) {
      throw invalidField(`steps.${i}`, 'each step needs exactly one of command or args');
    }
  });
  (dto.artifacts ?? []).forEach((pattern, i) => {
    const problem = artifactPatternProblem(pattern);
    if (problem) throw invalidField(`artifacts.${i}`, problem);
  });
  return {
    image: dto.image,
    steps: steps.map((s) => ({ ...s })),
    env: { ...dto.env },
    ...(dto.secrets && Object.keys(dto.secrets).length ? { secrets: { ...dto.secrets } } : {}),
    resources: { ...DEFAULT_RESOURCES, ...stripUndefined(dto.resources ?? {}) },
    network: dto.network ?? 'none',
    ...(dto.egress ? { egress: stripUndefined({ ...dto.egress }) } : {}),
    timeout_seconds: dto.timeout_seconds ?? DEFAULT_TIMEOUT_SECONDS,
    artifacts: dto.artifacts ?? [],
    cleanup_policy: dto.cleanup_policy ?? 'remove_on_completion',
    ...(dto.pull_policy ? { pull_policy: dto.pull_policy } : {}),
  };
}

/** Artifacts come from the job's workspace (or /tmp): no "..", no other absolute paths. */
export function artifactPatternProblem(pattern: string): string | undefined {
  if (pattern.split('/').includes('..')) return 'artifact paths may not contain ".."';
  if (pattern.startsWith('/') && !/^\/(workspace|tmp)\/./.test(pattern)) {
    return 'absolute artifact paths must be under /workspace or /tmp';
  }
  return undefined;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Allowed status transitions; every update is a compare-and-set from these "from" states. */
const TRANSITIONS: Record<JobStatus, readonly JobStatus[]> = {
  // Approved → queued; rejected, expired or cancelled by its owner → cancelled. It never runs from here.
  awaiting_approval: ['queued', 'cancelled'],
  queued: ['running', 'cancelled', 'failed'],
  running: ['succeeded', 'failed', 'timed_out', 'cancelled'],
  succeeded: [],
  failed: [],
  timed_out: [],
  cancelled: [],
};

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function fromStatesFor(to: JobStatus): JobStatus[] {
  return (Object.keys(TRANSITIONS) as JobStatus[]).filter((from) => TRANSITIONS[from].includes(to));
}

export interface RunFacts {
  steps: StepResult[];
  /** The server decided to stop the job before sending a kill, recorded in this order of precedence. */
  cancelled: boolean;
  deadlineExceeded: boolean;
  /** Something in the container was OOM-killed and a step failed. */
  oomKilled: boolean;
  artifactError?: string;
}

export interface Outcome {
  status: Extract<JobStatus, 'succeeded' | 'failed' | 'timed_out' | 'cancelled'>;
  reason: JobReason;
  exitCode: number | null;
  message: string | null;
}

/**
 * How a run ended. The server's own decisions (cancel, timeout) win over exit codes, because its kill
 * also produces 137; OOM counts only when a step actually failed (hardening.md §4.3).
 */
export function classifyOutcome(facts: RunFacts): Outcome {
  const ran = facts.steps.filter((s) => s.status !== 'pending' && s.status !== 'skipped');
  const last = ran[ran.length - 1];
  const exitCode = last?.exit_code ?? null;
  if (facts.cancelled) return { status: 'cancelled', reason: 'cancelled', exitCode, message: 'cancelled by request' };
  const timedOutStep = ran.find((s) => s.status === 'timed_out');
  if (facts.deadlineExceeded || timedOutStep) {
    const message = timedOutStep && !facts.deadlineExceeded ? `step ${timedOutStep.index + 1} timed out` : 'job timed out';
    return { status: 'timed_out', reason: 'timeout', exitCode, message };
  }
  const failed = ran.find((s) => s.status === 'failed');
  if (failed && facts.oomKilled) {
    return { status: 'failed', reason: 'oom_killed', exitCode: failed.exit_code, message: 'out of memory: a process was killed by the memory limit' };
  }
  const blocking = ran.find((s) => s.status === 'failed' && !s.continue_on_error);
  if (blocking) {
    return { status: 'failed', reason: 'step_failed', exitCode: blocking.exit_code, message: `step ${blocking.index + 1} exited with ${blocking.exit_code ?? 'no code'}` };
  }
  if (facts.artifactError) return { status: 'failed', reason: 'artifact_error', exitCode, message: facts.artifactError };
  return { status: 'succeeded', reason: 'completed', exitCode, message: null };
}

/** Whether to remove the container after the run (the seed's table, hardening.md keeps it). */
export function shouldRemoveContainer(policy: CleanupPolicy, status: Outcome['status']): boolean {
  switch (policy) {
    case 'always_remove':
      return true;
    case 'never_remove':
      return false;
    case 'remove_on_completion':
      return status === 'succeeded' || status === 'cancelled';
    case 'keep_on_completion':
      return status === 'timed_out' || status === 'cancelled';
    case 'remove_on_timeout':
      return status === 'timed_out' || status === 'cancelled';
  }
}
