/**
 * The workflow engine's model: the types the runner consumes. Pure data, no behaviour.
 *
 * Flow (every step is a pure function in src/workflows/engine; the runner persists and acts):
 *
 *   YAML text ──loadWorkflow()──▶ { workflow: Workflow, diagnostics: Diagnostic[] }
 *        (loader.ts: yaml Document API + LineCounter, aliases, GitHub keys with warnings,
 *         seed aliases normalised; validate.ts: needs, cycles, expressions, ids — all errors at once)
 *
 *   Workflow ──plan()──▶ Plan            (dry run: jobs, static instances, display names, an order)
 *
 *   Workflow ──initialRunState()──▶ RunState
 *   loop:
 *     decide(state, now) ──▶ Decision    (ready jobs: evaluate `if`, expand matrix → new instances
 *                                          or skip; instances to start under max-parallel; fail-fast
 *                                          and timeout cancellations; retries due; run completion)
 *     runner persists the Decision, then acts on it (starts containers, cancels, …)
 *     applyDecision(state, decision) ──▶ RunState   (the same transitions the runner persisted)
 *     runner reports instance results with recordInstanceResult(state, key, result) ──▶ RunState
 *
 * Values that GitHub lets be expressions keep their raw template text (a string containing `${{ }}`)
 * in the model; evaluate them with expressions.ts (`evaluateTemplate`) in the right context.
 * Instance identity is the job id plus canonical JSON of the matrix values (never an index), so resume
 * and rerun line up even for matrices computed at run time.
 */

import type { HealthcheckSpec, ServiceDefinition } from 'src/services-runtime/service-spec';

/** A JSON value: what matrix values, outputs parsed with fromJSON and contexts hold. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Where a node starts in the source file (1-based). */
export interface SourceLocation {
  line: number;
  column: number;
}

export type DiagnosticSeverity = 'error' | 'warning';

export interface Diagnostic {
  severity: DiagnosticSeverity;
  /** Stable machine code, e.g. `unknown-need`, `cycle`, `unknown-key`, `bad-expression`. */
  code: string;
  message: string;
  /** Path in the document, e.g. `jobs.build.steps[2].if`. */
  path: string;
  line: number;
  column: number;
}

/**
 * A value that is either already typed or a raw `${{ }}` template still to be evaluated
 * (e.g. `timeout-minutes: ${{ matrix.t }}`).
 */
export type Templated<T> = T | string;

// ─── The normalised workflow ────────────────────────────────────────────────────────────────────────

export type BuiltinStepKind = 'checkout' | 'upload-artifact' | 'download-artifact' | 'cache';

export type StepAction =
  /** A script; may itself be one `${{ }}` expression. */
  | { kind: 'run'; script: string }
  /** One of the closed set of `uses:` shims. */
  | { kind: BuiltinStepKind; uses: string; with: Record<string, string> }
  /** Any other `uses:` when the load asked to skip unsupported steps: the step is skipped with a warning. */
  | { kind: 'unsupported'; uses: string; with: Record<string, string> };

export interface StepSpec {
  /** 0-based position in the job. */
  index: number;
  /** The user's `id`, or a generated one (`__run`, `__run_2`, …) as GitHub does. */
  id: string;
  /** True when `id` was generated: such steps' outputs are not reachable through `steps`. */
  generatedId: boolean;
  name?: string;
  /** Raw condition (with or without `${{ }}`); absent means `success()`. */
  if?: string;
  action: StepAction;
  env: Record<string, string>;
  /** `bash`, `sh`, `python`, `pwsh` or a custom template containing `{0}`. */
  shell?: string;
  workingDirectory?: string;
  continueOnError: Templated<boolean>;
  timeoutMinutes?: Templated<number>;
  loc: SourceLocation;
}

export interface ContainerSpec {
  image: string;
  env: Record<string, string>;
  ports: string[];
  volumes: string[];
  /** docker-run flags (allow-listed by the runner); may be an expression evaluating to ''. */
  options?: string;
  /** `credentials:` was given (never stored: no registry login happens offline; design §2.6). */
  hasCredentials?: boolean;
  loc: SourceLocation;
}

export type { HealthcheckSpec };

/** A workflow service as written: the machinery's definition plus where it was written. */
export interface ServiceSpec extends ServiceDefinition {
  loc: SourceLocation;
}

export type MatrixRow = JsonObject;

/**
 * A matrix as written. Each piece may be an unevaluated expression; such a matrix expands only when the
 * job becomes ready (its needs' outputs are known).
 */
export interface MatrixSpec {
  /** Dimensions in YAML order; `values` is a list, or an expression producing one. */
  dimensions: { name: string; values: JsonValue[] | string; loc: SourceLocation }[];
  include: MatrixRow[] | string;
  exclude: MatrixRow[] | string;
  loc: SourceLocation;
}

export interface StrategySpec {
  /** A matrix, or one expression producing the whole matrix object. */
  matrix?: MatrixSpec | string;
  failFast: Templated<boolean>;
  maxParallel?: Templated<number>;
}

/** `strategy:` written out, or the whole strategy as one expression (docker-library python ci.yml). */
export type JobStrategy = { kind: 'static'; spec: StrategySpec } | { kind: 'expression'; expression: string };

export type RetryCondition = 'failure' | 'timeout' | 'infra' | 'any';

export interface RetrySpec {
  /** 0 means no retry. */
  max: number;
  when: RetryCondition[];
  backoff: { delayMs: number; factor: number; maxDelayMs: number };
}

export interface ArtifactSpec {
  name: string;
  paths: string[];
  when: 'success' | 'failure' | 'always';
  ifNoFiles: 'warn' | 'error' | 'ignore';
}

export interface RunDefaults {
  shell?: string;
  workingDirectory?: string;
}

export interface JobSpec {
  id: string;
  /** 0-based YAML position; orders the ready set deterministically. */
  order: number;
  /** Raw `name:`; may contain `${{ }}` (then evaluated per instance, no matrix suffix). */
  name?: string;
  needs: string[];
  /** Raw condition; absent means `success()`. */
  if?: string;
  runsOn?: string | string[];
  /** Native `image:` (exclusive with `container`). */
  image?: string;
  container?: ContainerSpec;
  services: ServiceSpec[];
  env: Record<string, string>;
  defaults: RunDefaults;
  strategy?: JobStrategy;
  continueOnError: Templated<boolean>;
  /** Minutes; default 360. */
  timeoutMinutes: Templated<number>;
  /** name → template, evaluated at the end of each instance. */
  outputs: Record<string, string>;
  steps: StepSpec[];
  retry: RetrySpec;
  artifacts: ArtifactSpec[];
  /** `job-id[/artifact-name]` entries (native). */
  download: string[];
  /**
   * Set when the job can never run here (a Windows/macOS runner label): the job is skipped with
   * reason `unsupported_runner`. Labels that are expressions are resolved at expansion time instead.
   */
  unsupportedRunner?: string;
  loc: SourceLocation;
}

export interface WorkflowInputSpec {
  description?: string;
  type: 'string' | 'boolean' | 'number' | 'choice';
  default?: JsonValue;
  required: boolean;
  options?: string[];
}

export interface Workflow {
  name: string;
  /** The file name used in diagnostics (may be `<inline>`). */
  file: string;
  env: Record<string, string>;
  defaults: RunDefaults;
  inputs: Record<string, WorkflowInputSpec>;
  /** Jobs in YAML order. */
  jobs: JobSpec[];
  /** Global cap on running instances; undefined = the runner's default (CPU count). */
  maxParallel?: number;
  /** Whole-run deadline. */
  timeoutMs?: number;
  /** runs-on label → image. */
  platforms: Record<string, string>;
  /** Only `always` loads (finished instances are always removed); other values are refused by the loader. */
  cleanup: 'always';
}

export interface LoadOptions {
  /** File name for diagnostics. */
  file?: string;
  /** Other `uses:` become skipped steps with a warning instead of errors. */
  skipUnsupported?: boolean;
}

export interface LoadResult {
  /** Present when there are no errors (warnings allowed). */
  workflow?: Workflow;
  diagnostics: Diagnostic[];
}

// ─── Instances ──────────────────────────────────────────────────────────────────────────────────────

export interface JobInstance {
  /** `job_id` + canonical JSON of the matrix values, e.g. `test{"node":18,"os":"a"}`; `test` without a matrix. */
  key: string;
  /** First 8 hex chars of sha256(key): for Docker names `orcaops-<run8>-<job>-<hash8>`. */
  hash: string;
  jobId: string;
  /** 0-based position in matrix order (display and admission order only — never identity). */
  index: number;
  /** GitHub format: `job (v1, v2)`. */
  displayName: string;
  matrix: MatrixRow;
  /** Image resolved from container.image → image → platforms[runs-on] → default; absent if unresolved. */
  image?: string;
  /** Set when runs-on resolved to a label with no Linux mapping: the instance is skipped. */
  unsupportedRunner?: string;
}

// ─── Run state (what decide() reads) ────────────────────────────────────────────────────────────────

/** GitHub's four results, as `needs.<id>.result` exposes them. */
export type JobResult = 'success' | 'failure' | 'cancelled' | 'skipped';

export type InstanceStatus =
  /** Expanded, waiting for a parallel slot. */
  | 'queued'
  /** Between retry attempts, until `retryAt`. */
  | 'waiting'
  /** Handed to the runner (starting or running). */
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'cancelled'
  | 'skipped';

export type InstanceReason =
  | 'timed_out'
  | 'infra_error'
  /** The instance's job was refused at admission (403 policy_denied / 429 quota_exceeded): never retried. */
  | 'policy_denied'
  | 'quota_exceeded'
  | 'unsupported_runner'
  | 'interrupted'
  | 'fail_fast'
  | 'run_cancelled'
  | 'run_timed_out'
  | 'needs_not_satisfied'
  | 'condition_false'
  | 'expansion_error';

export interface InstanceState {
  instance: JobInstance;
  status: InstanceStatus;
  /** Result before continue-on-error (native `needs.<id>.outcome`). Set once final. */
  outcome?: JobResult;
  /** Result after continue-on-error (what `needs.<id>.result` and fail-fast see). Set once final. */
  conclusion?: JobResult;
  reason?: InstanceReason;
  /** Evaluated job outputs (strings). */
  outputs: Record<string, string>;
  /** 1-based attempt number of the current/last attempt. */
  attempt: number;
  startedAt?: number;
  finishedAt?: number;
  /** When a `waiting` instance may start again. */
  retryAt?: number;
  /** A cancellation was requested while running (fail-fast, timeout, run cancel). */
  cancelRequested?: InstanceReason;
  /** The runner was told to stop it (decide() emitted cancelRunning); not re-emitted. */
  stopSent?: boolean;
  /** When it became ready to start (admission is FIFO across jobs). */
  queuedAt?: number;
}

export type JobPhase =
  /** Needs not all final yet. */
  | 'pending'
  /** `if` was true and the matrix expanded; instances exist. */
  | 'expanded'
  /** Skipped as a whole (condition false, needs not satisfied, unsupported runner). */
  | 'skipped'
  /** Could not expand (bad matrix expression, empty matrix, > 256 instances, evaluation error). */
  | 'failed';

export interface JobState {
  jobId: string;
  phase: JobPhase;
  reason?: InstanceReason;
  /** Human-readable detail for `failed`/`skipped` (e.g. the expansion error). */
  message?: string;
  /** Instance keys in matrix order (empty unless expanded). */
  instanceKeys: string[];
  failFast: boolean;
  /** Per-matrix cap; undefined = unlimited. */
  maxParallel?: number;
  /** Set once every instance is final (or the job was skipped/failed). */
  result?: JobResult;
  /** Aggregate before continue-on-error. */
  outcome?: JobResult;
}

/** Static contexts of the run, fixed at submit time. */
export interface RunContext {
  github: JsonObject;
  inputs: JsonObject;
  vars: JsonObject;
  /** Workflow-level env, already evaluated. */
  env: Record<string, string>;
  /** Image when nothing else resolves one. */
  defaultImage: string;
  /** Effective platforms (workflow's, overridden by the runner's config). */
  platforms: Record<string, string>;
}

export interface RunState {
  workflow: Workflow;
  context: RunContext;
  jobs: Record<string, JobState>;
  instances: Record<string, InstanceState>;
  /** Global cap on running instances. */
  maxParallel: number;
  startedAt: number;
  /** Set when the run is cancelled (by a user, or by the workflow timeout). */
  cancelled?: 'user' | 'timeout';
  /** Set once the run is complete. */
  conclusion?: JobResult;
}

// ─── Decisions (what decide() returns) ──────────────────────────────────────────────────────────────

export interface JobExpansion {
  jobId: string;
  instances: JobInstance[];
  failFast: boolean;
  maxParallel?: number;
}

export interface Decision {
  /** Ready jobs whose `if` was false or whose needs failed: skipped as a whole. */
  skipJobs: { jobId: string; reason: InstanceReason; message: string }[];
  /** Ready jobs whose `if` was true: their instances (to persist as `queued`). */
  expandJobs: JobExpansion[];
  /** Ready jobs that could not expand (job result `failure`). */
  failJobs: { jobId: string; message: string }[];
  /** Expanded instances skipped individually (e.g. runs-on an unsupported runner via matrix). */
  skipInstances: { key: string; reason: InstanceReason }[];
  /** Queued/waiting instances to start now, in admission order, within max-parallel. */
  startInstances: { key: string; attempt: number; timeoutMs: number }[];
  /** Queued/waiting instances that will never start (fail-fast, run cancelled). */
  cancelQueued: { key: string; reason: InstanceReason }[];
  /** Running instances the runner must stop (fail-fast, run cancel or timeout, instance timeout). */
  cancelRunning: { key: string; reason: InstanceReason }[];
  /** Set when the workflow timeout has passed and the run is not yet cancelled. */
  cancelRun?: 'timeout';
  /** Set when nothing is left to do. */
  complete?: { conclusion: JobResult };
  /** The `now` decide() was called with; applyDecision() stamps transitions with it. */
  decidedAt?: number;
}

// ─── Dry-run plan ───────────────────────────────────────────────────────────────────────────────────

export interface PlannedJob {
  id: string;
  name: string;
  needs: string[];
  /** `static`: instances listed; `dynamic`: the matrix or strategy expands at run time. */
  expansion: 'static' | 'dynamic';
  instances: { key: string; displayName: string; matrix: MatrixRow; image?: string }[];
  /** Set when the job cannot run here (unsupported runner) or its static matrix is invalid. */
  skippedReason?: string;
  steps: number;
}

export interface Plan {
  name: string;
  jobs: PlannedJob[];
  /** A valid topological order of job ids (ties by YAML position). */
  order: string[];
  /** Total of static instances (dynamic jobs count 0). */
  staticInstanceCount: number;
}

export const MATRIX_INSTANCE_LIMIT = 256;
export const DEFAULT_JOB_TIMEOUT_MINUTES = 360;
