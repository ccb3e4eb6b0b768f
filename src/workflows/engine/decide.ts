/**
 * The scheduler's pure decisions (design §3.1–3.8, §3.12). decide(state, now) reads the run state and
 * returns what to do next; applyDecision() and recordInstanceResult() are the matching reducers. The
 * runner persists each Decision, acts on it, then applies it; it calls decide() again after every
 * change (or uses advance() to settle the follow-up decisions at one instant).
 *
 * A ready queue, not stages: a job is evaluated as soon as its own needs have results.
 */
import type { StatusFunctions } from 'src/workflows/engine/expressions';
import {
  evaluateCondition,
  evaluateTemplate,
  parseCondition,
  toNumber,
} from 'src/workflows/engine/expressions';
import { expandJob, ExpansionError } from 'src/workflows/engine/instances';
import type {
  Decision,
  InstanceReason,
  InstanceState,
  JobResult,
  JobSpec,
  JobState,
  JsonObject,
  JsonValue,
  MatrixRow,
  RunContext,
  RunState,
  Workflow,
} from 'src/workflows/engine/model';
import { DEFAULT_JOB_TIMEOUT_MINUTES, MATRIX_INSTANCE_LIMIT } from 'src/workflows/engine/model';

/** What the runner reports when an instance attempt ends. */
export interface InstanceResult {
  /** Before continue-on-error. */
  outcome: JobResult;
  reason?: InstanceReason;
  outputs: Record<string, string>;
  /** Whether continue-on-error applies to this instance (evaluated by the runner with its matrix). */
  continueOnError: boolean;
}

const FINAL_STATUSES = new Set(['succeeded', 'failed', 'cancelled', 'skipped']);

export function isFinal(instance: InstanceState): boolean {
  return FINAL_STATUSES.has(instance.status);
}

export function initialRunState(
  workflow: Workflow,
  context: RunContext,
  maxParallel: number,
  startedAt: number,
): RunState {
  const jobs: Record<string, JobState> = {};
  for (const job of workflow.jobs)
    jobs[job.id] = { jobId: job.id, phase: 'pending', instanceKeys: [], failFast: true };
  return { workflow, context, jobs, instances: {}, maxParallel: Math.min(MATRIX_INSTANCE_LIMIT, Math.max(1, maxParallel)), startedAt };
}

function emptyDecision(now: number): Decision {
  return {
    skipJobs: [],
    expandJobs: [],
    failJobs: [],
    skipInstances: [],
    startInstances: [],
    cancelQueued: [],
    cancelRunning: [],
    decidedAt: now,
  };
}

/** True when the decision asks for nothing (the runner's loop stops). */
export function isEmptyDecision(d: Decision): boolean {
  const lists = [
    d.skipJobs,
    d.expandJobs,
    d.failJobs,
    d.skipInstances,
    d.startInstances,
    d.cancelQueued,
    d.cancelRunning,
  ];
  return lists.every((l) => l.length === 0) && !d.cancelRun && !d.complete;
}

// ─── decide ─────────────────────────────────────────────────────────────────────────────────────────

export function decide(state: RunState, now: number): Decision {
  const d = emptyDecision(now);
  if (state.conclusion) return d;
  if (
    !state.cancelled &&
    state.workflow.timeoutMs !== undefined &&
    now - state.startedAt >= state.workflow.timeoutMs
  )
    d.cancelRun = 'timeout';
  decideCancellations(state, d, now);
  decideReadyJobs(state, d);
  decideAdmissions(state, d, now);
  const next = applyDecision(state, d);
  const conclusion = runConclusion(next);
  if (conclusion) d.complete = { conclusion };
  return d;
}

function jobOf(state: RunState, jobId: string): JobSpec {
  const job = state.workflow.jobs.find((j) => j.id === jobId);
  if (!job) throw new Error(`Unknown job '${jobId}' in run state`);
  return job;
}

function instancesOf(state: RunState, jobState: JobState): InstanceState[] {
  return jobState.instanceKeys
    .map((k) => state.instances[k])
    .filter((i): i is InstanceState => i !== undefined);
}

/** Run timeout, user cancel already recorded, fail-fast, and instance timeouts. */
function decideCancellations(state: RunState, d: Decision, now: number): void {
  const stop = (instance: InstanceState, reason: InstanceReason): void => {
    if (!d.cancelRunning.some((c) => c.key === instance.instance.key))
      d.cancelRunning.push({ key: instance.instance.key, reason });
  };
  const drop = (instance: InstanceState, reason: InstanceReason): void => {
    if (!d.cancelQueued.some((c) => c.key === instance.instance.key))
      d.cancelQueued.push({ key: instance.instance.key, reason });
  };
  for (const instance of Object.values(state.instances)) {
    if (instance.status === 'running' && instance.cancelRequested && !instance.stopSent)
      stop(instance, instance.cancelRequested);
    if (!d.cancelRun) continue;
    if (instance.status === 'running' && !instance.cancelRequested) stop(instance, 'run_timed_out');
    if (instance.status === 'queued' || instance.status === 'waiting') drop(instance, 'run_timed_out');
  }
  for (const jobState of Object.values(state.jobs)) decideFailFast(state, jobState, stop, drop);
  for (const instance of Object.values(state.instances)) {
    if (instance.status !== 'running' || instance.cancelRequested || instance.startedAt === undefined)
      continue;
    if (
      now - instance.startedAt >=
      instanceTimeoutMs(state, instance.instance.jobId, instance.instance.matrix)
    )
      stop(instance, 'timed_out');
  }
}

/** A final failure (after retries and continue-on-error) cancels the job's other instances. */
function decideFailFast(
  state: RunState,
  jobState: JobState,
  stop: (i: InstanceState, r: InstanceReason) => void,
  drop: (i: InstanceState, r: InstanceReason) => void,
): void {
  if (jobState.phase !== 'expanded' || !jobState.failFast) return;
  const instances = instancesOf(state, jobState);
  if (!instances.some((i) => i.conclusion === 'failure')) return;
  for (const instance of instances) {
    if (instance.status === 'queued' || instance.status === 'waiting') drop(instance, 'fail_fast');
    else if (instance.status === 'running' && !instance.cancelRequested) stop(instance, 'fail_fast');
  }
}

/** Jobs whose needs all have results: evaluate `if`, then skip, fail or expand. */
function decideReadyJobs(state: RunState, d: Decision): void {
  const cancelled = !!state.cancelled || !!d.cancelRun;
  for (const job of state.workflow.jobs) {
    const jobState = state.jobs[job.id];
    if (jobState?.phase !== 'pending' || !job.needs.every((n) => state.jobs[n]?.result !== undefined))
      continue;
    decideReadyJob(state, job, cancelled, d);
  }
}

function decideReadyJob(state: RunState, job: JobSpec, cancelled: boolean, d: Decision): void {
  const status = jobStatusFunctions(state, job, cancelled);
  const contexts = { ...baseContexts(state), needs: needsContext(state, job) };
  let run: boolean;
  try {
    run = evaluateCondition(parseCondition(job.if), { contexts, status });
  } catch (err) {
    d.failJobs.push({
      jobId: job.id,
      message: `Job '${job.id}': evaluating 'if' failed: ${(err as Error).message}`,
    });
    return;
  }
  if (!run) {
    d.skipJobs.push(skipFor(job, status));
    return;
  }
  if (job.unsupportedRunner) {
    d.skipJobs.push({
      jobId: job.id,
      reason: 'unsupported_runner',
      message: `Job '${job.id}' runs on '${job.unsupportedRunner}', which has no Linux image mapping`,
    });
    return;
  }
  expandReadyJob(state, job, contexts, d);
}

function skipFor(job: JobSpec, status: StatusFunctions): Decision['skipJobs'][number] {
  if (!status.success() && !parseCondition(job.if).explicitStatus) {
    return {
      jobId: job.id,
      reason: 'needs_not_satisfied',
      message: `Job '${job.id}' skipped: a job it needs did not succeed`,
    };
  }
  return {
    jobId: job.id,
    reason: 'condition_false',
    message: `Job '${job.id}' skipped: condition '${job.if ?? 'success()'}' was false`,
  };
}

function expandReadyJob(
  state: RunState,
  job: JobSpec,
  contexts: Record<string, JsonValue>,
  d: Decision,
): void {
  try {
    const expanded = expandJob(job, {
      contexts,
      platforms: state.context.platforms,
      defaultImage: state.context.defaultImage,
    });
    const expansion = { jobId: job.id, instances: expanded.instances, failFast: expanded.failFast };
    d.expandJobs.push(
      expanded.maxParallel === undefined ? expansion : { ...expansion, maxParallel: expanded.maxParallel },
    );
    for (const instance of expanded.instances) {
      if (instance.unsupportedRunner)
        d.skipInstances.push({ key: instance.key, reason: 'unsupported_runner' });
    }
  } catch (err) {
    if (!(err instanceof ExpansionError)) throw err;
    d.failJobs.push({ jobId: job.id, message: err.message });
  }
}

/** Job-level status functions over the transitive needs (design §3.2.3). */
function jobStatusFunctions(state: RunState, job: JobSpec, cancelled: boolean): StatusFunctions {
  const results = [...ancestorsOf(state.workflow, job.id)].map((id) => state.jobs[id]?.result);
  return {
    success: () => !cancelled && results.every((r) => r === 'success'),
    failure: () => results.some((r) => r === 'failure'),
    cancelled: () => cancelled,
  };
}

export function ancestorsOf(workflow: Workflow, jobId: string): Set<string> {
  const byId = new Map(workflow.jobs.map((j) => [j.id, j]));
  const seen = new Set<string>();
  const pending = [...(byId.get(jobId)?.needs ?? [])];
  while (pending.length > 0) {
    const id = pending.pop() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    pending.push(...(byId.get(id)?.needs ?? []));
  }
  return seen;
}

function baseContexts(state: RunState): Record<string, JsonValue> {
  return {
    github: state.context.github,
    inputs: state.context.inputs,
    vars: state.context.vars,
    env: state.context.env,
    secrets: {},
  };
}

/**
 * The `needs` context for a job: direct needs only, with `result`, native `outcome`, `outputs` merged in
 * matrix order (empty values never overwrite) and native `instances`.
 */
export function needsContext(state: RunState, job: JobSpec): JsonObject {
  const needs: JsonObject = {};
  for (const id of job.needs) {
    const jobState = state.jobs[id];
    const instances = jobState ? instancesOf(state, jobState) : [];
    const outputs: Record<string, string> = {};
    for (const instance of instances) {
      for (const [name, value] of Object.entries(instance.outputs)) if (value !== '') outputs[name] = value;
    }
    needs[id] = {
      result: jobState?.result ?? null,
      outcome: jobState?.outcome ?? jobState?.result ?? null,
      outputs,
      instances: instances.map((i) => ({
        matrix: i.instance.matrix,
        result: i.conclusion ?? null,
        outputs: i.outputs,
      })),
    };
  }
  return needs;
}

export function instanceTimeoutMs(state: RunState, jobId: string, matrix: MatrixRow): number {
  const raw = jobOf(state, jobId).timeoutMinutes;
  let minutes: number;
  try {
    minutes =
      typeof raw === 'number'
        ? raw
        : toNumber(evaluateTemplate(raw, { contexts: { ...baseContexts(state), matrix, needs: {} } }));
  } catch {
    minutes = DEFAULT_JOB_TIMEOUT_MINUTES;
  }
  return (Number.isFinite(minutes) && minutes > 0 ? minutes : DEFAULT_JOB_TIMEOUT_MINUTES) * 60_000;
}

// ─── Admission (max-parallel) ───────────────────────────────────────────────────────────────────────

interface Candidate {
  key: string;
  jobId: string;
  attempt: number;
  matrix: MatrixRow;
  readyAt: number;
  order: number;
  index: number;
}

/** Oldest ready first (FIFO across jobs), then YAML order, then matrix order; within both caps. */
function decideAdmissions(state: RunState, d: Decision, now: number): void {
  const excluded = new Set([...d.cancelQueued.map((c) => c.key), ...d.skipInstances.map((s) => s.key)]);
  const running = Object.values(state.instances).filter((i) => i.status === 'running');
  const perJob = new Map<string, number>();
  for (const i of running) perJob.set(i.instance.jobId, (perJob.get(i.instance.jobId) ?? 0) + 1);
  const limits = jobLimits(state, d);
  let free = state.maxParallel - running.length;
  for (const candidate of admissionCandidates(state, d, now).filter((c) => !excluded.has(c.key))) {
    if (free <= 0) break;
    const count = perJob.get(candidate.jobId) ?? 0;
    const limit = limits.get(candidate.jobId);
    if (limit !== undefined && count >= limit) continue;
    d.startInstances.push({
      key: candidate.key,
      attempt: candidate.attempt,
      timeoutMs: instanceTimeoutMs(state, candidate.jobId, candidate.matrix),
    });
    perJob.set(candidate.jobId, count + 1);
    free--;
  }
}

function jobLimits(state: RunState, d: Decision): Map<string, number | undefined> {
  const limits = new Map<string, number | undefined>();
  for (const jobState of Object.values(state.jobs)) limits.set(jobState.jobId, jobState.maxParallel);
  for (const expansion of d.expandJobs) limits.set(expansion.jobId, expansion.maxParallel);
  return limits;
}

function admissionCandidates(state: RunState, d: Decision, now: number): Candidate[] {
  const candidates: Candidate[] = [];
  for (const instance of Object.values(state.instances)) {
    const ready =
      instance.status === 'queued' || (instance.status === 'waiting' && (instance.retryAt ?? 0) <= now);
    if (!ready) continue;
    const readyAt =
      instance.status === 'waiting' ? (instance.retryAt ?? now) : (instance.queuedAt ?? state.startedAt);
    candidates.push(candidate(state, instance.instance, instance.attempt + 1, readyAt));
  }
  for (const expansion of d.expandJobs) {
    for (const instance of expansion.instances) candidates.push(candidate(state, instance, 1, now));
  }
  return candidates.sort((a, b) => a.readyAt - b.readyAt || a.order - b.order || a.index - b.index);
}

function candidate(
  state: RunState,
  instance: InstanceState['instance'],
  attempt: number,
  readyAt: number,
): Candidate {
  const order = jobOf(state, instance.jobId).order;
  return {
    key: instance.key,
    jobId: instance.jobId,
    attempt,
    matrix: instance.matrix,
    readyAt,
    order,
    index: instance.index,
  };
}

// ─── Reducers ───────────────────────────────────────────────────────────────────────────────────────

/** The transitions of a Decision, applied to a copy of the state (the same ones the runner persisted). */
export function applyDecision(state: RunState, d: Decision): RunState {
  const next = structuredClone(state);
  const now = d.decidedAt ?? state.startedAt;
  if (d.cancelRun) next.cancelled = 'timeout';
  for (const s of d.skipJobs) finishJob(next, s.jobId, 'skipped', s.reason, s.message);
  for (const f of d.failJobs) finishJob(next, f.jobId, 'failure', 'expansion_error', f.message);
  for (const e of d.expandJobs) applyExpansion(next, e, now);
  for (const c of d.cancelQueued) finishInstance(next, c.key, 'cancelled', 'cancelled', c.reason, now);
  for (const s of d.skipInstances) finishInstance(next, s.key, 'skipped', 'skipped', s.reason, now);
  for (const c of d.cancelRunning)
    Object.assign(next.instances[c.key] ?? {}, { cancelRequested: c.reason, stopSent: true });
  for (const s of d.startInstances) startInstance(next, s.key, s.attempt, now);
  aggregateJobs(next);
  if (d.complete) next.conclusion = d.complete.conclusion;
  return next;
}

function finishJob(
  state: RunState,
  jobId: string,
  result: JobResult,
  reason: InstanceReason,
  message: string,
): void {
  const jobState = state.jobs[jobId];
  if (!jobState) return;
  Object.assign(jobState, {
    phase: result === 'skipped' ? 'skipped' : 'failed',
    reason,
    message,
    result,
    outcome: result,
  });
}

function applyExpansion(state: RunState, expansion: Decision['expandJobs'][number], now: number): void {
  const jobState = state.jobs[expansion.jobId];
  if (!jobState) return;
  jobState.phase = 'expanded';
  jobState.instanceKeys = expansion.instances.map((i) => i.key);
  jobState.failFast = expansion.failFast;
  if (expansion.maxParallel !== undefined) jobState.maxParallel = expansion.maxParallel;
  for (const instance of expansion.instances)
    state.instances[instance.key] = { instance, status: 'queued', outputs: {}, attempt: 0, queuedAt: now };
}

function finishInstance(
  state: RunState,
  key: string,
  result: JobResult,
  status: InstanceState['status'],
  reason: InstanceReason,
  now: number,
): void {
  const instance = state.instances[key];
  if (!instance) return;
  Object.assign(instance, { status, outcome: result, conclusion: result, reason, finishedAt: now });
  delete instance.retryAt;
}

function startInstance(state: RunState, key: string, attempt: number, now: number): void {
  const instance = state.instances[key];
  if (!instance) return;
  Object.assign(instance, { status: 'running', attempt, startedAt: now });
  delete instance.retryAt;
}

/** An attempt ended. Retries (design §3.12) put the instance back to `waiting`. */
export function recordInstanceResult(
  state: RunState,
  key: string,
  result: InstanceResult,
  now: number,
): RunState {
  const next = structuredClone(state);
  const instance = next.instances[key];
  if (!instance || isFinal(instance)) return next;
  const job = jobOf(next, instance.instance.jobId);
  if (shouldRetry(next, instance, job, result)) {
    const { delayMs, factor, maxDelayMs } = job.retry.backoff;
    Object.assign(instance, {
      status: 'waiting',
      retryAt: now + Math.min(delayMs * factor ** (instance.attempt - 1), maxDelayMs),
    });
    if (result.reason) instance.reason = result.reason;
    return next;
  }
  const outcome = finalOutcome(instance, result);
  const conclusion: JobResult = outcome === 'failure' && result.continueOnError ? 'success' : outcome;
  const reason = instance.cancelRequested ?? result.reason;
  Object.assign(instance, {
    status: statusFor(outcome),
    outcome,
    conclusion,
    outputs: result.outputs,
    finishedAt: now,
  });
  if (reason) instance.reason = reason;
  else delete instance.reason;
  aggregateJobs(next);
  return next;
}

function shouldRetry(
  state: RunState,
  instance: InstanceState,
  job: JobSpec,
  result: InstanceResult,
): boolean {
  if (
    result.outcome !== 'failure' ||
    state.cancelled ||
    (instance.cancelRequested && instance.cancelRequested !== 'timed_out')
  )
    return false;
  if (instance.attempt > job.retry.max) return false;
  const kind =
    result.reason === 'timed_out' || instance.cancelRequested === 'timed_out'
      ? 'timeout'
      : result.reason === 'infra_error' || result.reason === 'interrupted'
        ? 'infra'
        : 'failure';
  return job.retry.when.some((w) => w === 'any' || w === kind);
}

/** A stopped instance reads as cancelled, except a timeout, which is a failure (design §3.8). */
function finalOutcome(instance: InstanceState, result: InstanceResult): JobResult {
  if (!instance.cancelRequested || result.outcome === 'success') return result.outcome;
  return instance.cancelRequested === 'timed_out' ? 'failure' : 'cancelled';
}

function statusFor(outcome: JobResult): InstanceState['status'] {
  return ({ success: 'succeeded', failure: 'failed', cancelled: 'cancelled', skipped: 'skipped' } as const)[
    outcome
  ];
}

/** The run was cancelled by a user: queued work is dropped, running instances are asked to stop. */
export function cancelRun(state: RunState, now?: number): RunState {
  const next = structuredClone(state);
  if (next.conclusion || next.cancelled) return next;
  next.cancelled = 'user';
  for (const instance of Object.values(next.instances)) {
    if (instance.status === 'queued' || instance.status === 'waiting')
      finishInstance(
        next,
        instance.instance.key,
        'cancelled',
        'cancelled',
        'run_cancelled',
        now ?? next.startedAt,
      );
    else if (instance.status === 'running' && !instance.cancelRequested)
      instance.cancelRequested = 'run_cancelled';
  }
  aggregateJobs(next);
  return next;
}

// ─── Aggregation (design §3.1) ──────────────────────────────────────────────────────────────────────

function aggregateJobs(state: RunState): void {
  for (const jobState of Object.values(state.jobs)) {
    if (jobState.phase !== 'expanded') continue;
    const instances = instancesOf(state, jobState);
    if (!instances.every(isFinal)) {
      delete jobState.result;
      delete jobState.outcome;
      continue;
    }
    jobState.result = aggregateResult(instances.map((i) => [i.conclusion ?? 'skipped', i.reason]));
    jobState.outcome = aggregateResult(instances.map((i) => [i.outcome ?? 'skipped', i.reason]));
  }
}

/** Any failure (or a fail-fast cancellation) → failure; other cancellations → cancelled; all skipped → skipped. */
export function aggregateResult(results: [JobResult, InstanceReason | undefined][]): JobResult {
  if (results.some(([r, why]) => r === 'failure' || (r === 'cancelled' && why === 'fail_fast')))
    return 'failure';
  if (results.some(([r]) => r === 'cancelled')) return 'cancelled';
  return results.length > 0 && results.every(([r]) => r === 'skipped') ? 'skipped' : 'success';
}

/** The run's conclusion once every job has a result and nothing runs; undefined before. */
function runConclusion(state: RunState): JobResult | undefined {
  const jobs = Object.values(state.jobs);
  if (!jobs.every((j) => j.result !== undefined) || !Object.values(state.instances).every(isFinal))
    return undefined;
  if (jobs.some((j) => j.result === 'failure')) return 'failure';
  return state.cancelled ? 'cancelled' : 'success';
}

/**
 * Decides and applies repeatedly at one instant until nothing more happens; returns the final state and
 * the decisions in order (the runner persists and acts on each).
 */
export function advance(state: RunState, now: number): { state: RunState; decisions: Decision[] } {
  const decisions: Decision[] = [];
  let current = state;
  for (let round = 0; round < state.workflow.jobs.length + 3; round++) {
    const decision = decide(current, now);
    if (isEmptyDecision(decision)) break;
    decisions.push(decision);
    current = applyDecision(current, decision);
    if (current.conclusion) break;
  }
  return { state: current, decisions };
}
