import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { randomBytes } from 'node:crypto';
import { JobReads } from 'src/jobs/job-reads.service';
import { jobsConfig } from 'src/jobs/jobs.config';
import type { DrivenJob, DrivenJobIo, JobStepDriver } from 'src/jobs/job-step-driver';
import type { JobStepSpec, StepResult } from 'src/jobs/job-model';
import { evaluateCondition, evaluateTemplate, interpolate, parseCondition, toBoolean, toNumber } from 'src/workflows/engine/expressions';
import { artifactNameProblem, parseDownloadEntry } from 'src/workflows/engine/artifacts';
import type { BuiltinStepKind, JobSpec, JsonValue, StepSpec } from 'src/workflows/engine/model';
import type { WorkflowInstanceEntity } from 'src/workflows/entities/workflow-instance.entity';
import { WorkflowInstanceStore } from 'src/workflows/runner/workflow-instance-store';
import { parseFileCommands, parsePathFile } from 'src/workflows/runner/file-commands';
import { RunRef, ShimOutcome, UploadRequest, WorkflowArtifacts } from 'src/workflows/runner/workflow-artifacts';
import { readFilesProgram, splitFiles, STATE_DIR, stepDisplayName, stepFileEnv, stepFilesProblem, stepProgram } from 'src/workflows/runner/step-commands';
import type { StepContextState, StepRecord } from 'src/workflows/workflow-model';
import { SecretMasker } from 'src/common/masking/secret-masker';
import { SecretsService } from 'src/secrets/secrets.service';
import { secretReferences } from 'src/workflows/engine/secret-references';

export const WORKFLOW_STEP_DRIVER = 'workflow';
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED_ENV = /^(GITHUB_|ORCAOPS_)/;

interface Loaded {
  instance: WorkflowInstanceEntity;
  run: RunRef & { sourceId: string | null };
  jobs: JobSpec[];
  job: JobSpec;
  state: StepContextState;
  /** The `secrets` context: the values this job refers to, opened in memory only (never in `state`). */
  secrets: Record<string, string>;
  /** Masks those values in everything the driver stores (outputs, env, summary, notes, step names). */
  masker: SecretMasker;
}

type Evaluation = ReturnType<WorkflowStepDriver['evaluation']>;

/**
 * Resolves a workflow instance's steps inside its OrcaOps job (design §2.4, §3.3.3, §3.10): evaluates
 * each step's `if` with step-level status functions, its env and script with the expression
 * evaluator, runs it under the right shell, then parses $GITHUB_OUTPUT/$GITHUB_ENV/$GITHUB_PATH/
 * $GITHUB_STEP_SUMMARY; after the last step evaluates the job's outputs. State lives on the instance
 * row, so whichever server runs the job can drive it. (A system component: it acts for a job the
 * workflow runner already admitted, reading the rows by job id within that job's workspace.)
 */
@Injectable()
export class WorkflowStepDriver implements JobStepDriver {
  private readonly cache = new Map<string, Loaded>();

  constructor(
    private readonly store: WorkflowInstanceStore,
    private readonly artifacts: WorkflowArtifacts,
    private readonly jobReads: JobReads,
    @Inject(jobsConfig.KEY) private readonly config: Pick<ConfigType<typeof jobsConfig>, 'stepFileMaxBytes'>,
    private readonly secretValues: SecretsService,
  ) {}

  async before(handle: DrivenJob, index: number, failed: boolean, io: DrivenJobIo): Promise<JobStepSpec | null> {
    const loaded = await this.load(handle);
    const step = loaded.job.steps[index];
    if (!step) return null;
    const ctx = this.evaluation(loaded, failed);
    if (index === 0 && loaded.job.download.length && !loaded.state.downloaded) {
      const problem = await this.nativeDownloads(loaded, io);
      if (problem) return this.failingStep(loaded, step, problem);
    }
    let run: boolean;
    try {
      run = evaluateCondition(parseCondition(step.if), ctx);
    } catch (error) {
      return this.failingStep(loaded, step, `if: ${(error as Error).message}`);
    }
    if (!run) {
      this.record(loaded, step, 'skipped', 'skipped', {});
      await this.save(loaded);
      return null;
    }
    if (step.action.kind !== 'run') return this.shimStep(loaded, step, ctx, io);
    try {
      const env = this.stepEnv(loaded, step, ctx);
      const script = interpolate(step.action.script, { ...ctx, contexts: { ...ctx.contexts, env } });
      const shell = step.shell ?? loaded.job.defaults.shell ?? loaded.state.contexts.__defaultShell;
      const continueOnError = typeof step.continueOnError === 'string' ? toBoolean(evaluateTemplate(step.continueOnError, ctx)) : step.continueOnError;
      const minutes = step.timeoutMinutes === undefined ? undefined : typeof step.timeoutMinutes === 'string' ? toNumber(evaluateTemplate(step.timeoutMinutes, ctx)) : step.timeoutMinutes;
      const workingDirectory = step.workingDirectory ?? loaded.job.defaults.workingDirectory;
      return {
        name: step.name ? loaded.masker.maskText(interpolate(step.name, ctx)) : stepDisplayName(step),
        args: ['/bin/sh', '-c', stepProgram(index, script, typeof shell === 'string' ? shell : undefined, loaded.state.containerJob, loaded.state.path)],
        env: { ...env, ...stepFileEnv(index) },
        cwd: workingDirectory ? (workingDirectory.startsWith('/') ? workingDirectory : `/workspace/${workingDirectory}`) : '/workspace',
        continue_on_error: continueOnError,
        ...(minutes && minutes > 0 ? { timeout_seconds: Math.ceil(minutes * 60) } : {}),
      };
    } catch (error) {
      return this.failingStep(loaded, step, (error as Error).message);
    }
  }

  async after(handle: DrivenJob, index: number, result: StepResult, io: DrivenJobIo): Promise<string | undefined> {
    const loaded = await this.load(handle);
    const step = loaded.job.steps[index];
    if (!step) return undefined;
    let problem: string | undefined;
    let outputs: Record<string, string> = {};
    if (step.action.kind === 'run') {
      const marker = `--ORCAOPS-${randomBytes(6).toString('hex')}--`;
      const max = this.config.stepFileMaxBytes;
      // Four files plus markers and statuses: a bound on what the helper may print in all.
      const read = await io.exec(['/bin/sh', '-c', readFilesProgram(index, marker, max)], 30_000, 4 * (max + 1) + 4096);
      const unreadable = stepFilesProblem(read.stdout, marker, max, read.truncated === true);
      const files = unreadable ? { output: '', env: '', path: '', summary: '' } : splitFiles(read.stdout, marker);
      if (unreadable) problem = unreadable;
      const out = parseFileCommands(files.output);
      const env = parseFileCommands(files.env);
      if (!out.ok) problem ??= `$GITHUB_OUTPUT: ${out.error}`;
      else if (Buffer.byteLength(JSON.stringify([out.values, ...loaded.state.steps.filter((s) => s.id !== step.id).map((s) => s.outputs)])) > max) {
        problem ??= `$GITHUB_OUTPUT: the job's step outputs would be larger than the ${max}-byte limit (ORCAOPS_STEP_FILE_MAX_BYTES)`;
      } else outputs = out.values;
      if (!env.ok) problem ??= `$GITHUB_ENV: ${env.error}`;
      else {
        const next = { ...loaded.state.env };
        for (const [name, value] of Object.entries(env.values)) {
          if (!ENV_NAME.test(name) || RESERVED_ENV.test(name)) loaded.state.notes.push(`step ${step.id}: $GITHUB_ENV name '${name}' ignored`);
          else next[name] = value;
        }
        // The job's state is saved after every step: what the steps add up to is bounded too.
        if (Buffer.byteLength(JSON.stringify(next)) > max) problem ??= `$GITHUB_ENV: the job's environment would be larger than the ${max}-byte limit (ORCAOPS_STEP_FILE_MAX_BYTES)`;
        else loaded.state.env = next;
      }
      const path = [...parsePathFile(files.path).reverse(), ...loaded.state.path];
      if (Buffer.byteLength(path.join(':')) > max) problem ??= `$GITHUB_PATH: the job's PATH additions would be larger than the ${max}-byte limit (ORCAOPS_STEP_FILE_MAX_BYTES)`;
      else loaded.state.path = path;
      if (files.summary.trim()) loaded.state.summary = boundedSummary(loaded.state.summary, files.summary, max);
    }
    const failed = problem !== undefined || result.status !== 'succeeded';
    const outcome = result.status === 'cancelled' ? 'cancelled' : failed ? 'failure' : 'success';
    const conclusion = outcome === 'failure' && result.continue_on_error ? 'success' : outcome;
    if (problem) loaded.state.notes.push(`step ${step.id}: ${problem}`);
    this.record(loaded, step, outcome, conclusion, outputs);
    await this.save(loaded);
    return problem;
  }

  async finish(handle: DrivenJob, steps: StepResult[], io: DrivenJobIo): Promise<string | undefined> {
    const loaded = await this.load(handle);
    const failed = steps.some((s) => (s.status === 'failed' && !s.continue_on_error) || s.status === 'timed_out');
    const ctx = this.evaluation(loaded, failed);
    const problem = await this.nativeUploads(loaded, failed, ctx, io);
    const outputs: Record<string, string> = {};
    for (const [name, template] of Object.entries(loaded.job.outputs)) {
      try {
        outputs[name] = interpolate(template, ctx);
      } catch (error) {
        loaded.state.notes.push(`output ${name}: ${(error as Error).message}`);
      }
    }
    loaded.state.jobOutputs = outputs;
    await this.save(loaded);
    this.cache.delete(handle.id);
    return problem;
  }

  /** Drops the cached state of a job (when it ends without reaching finish()). */
  forget(jobId: string): void {
    this.cache.delete(jobId);
  }

  private evaluation(loaded: Loaded, failed: boolean): { contexts: Record<string, JsonValue>; status: { success(): boolean; failure(): boolean; cancelled(): boolean } } {
    const steps: Record<string, JsonValue> = {};
    for (const s of loaded.state.steps) {
      const spec = loaded.job.steps.find((x) => x.id === s.id);
      if (spec && !spec.generatedId) steps[s.id] = { outputs: s.outputs, outcome: s.outcome, conclusion: s.conclusion };
    }
    const { __defaultShell: _shell, ...contexts } = loaded.state.contexts;
    return {
      contexts: { ...contexts, env: { ...(contexts.env as Record<string, string>), ...loaded.state.env }, steps, secrets: loaded.secrets },
      status: { success: () => !failed, failure: () => failed, cancelled: () => false },
    };
  }

  private stepEnv(loaded: Loaded, step: StepSpec, ctx: { contexts: Record<string, JsonValue> }): Record<string, string> {
    const env: Record<string, string> = { ...(ctx.contexts.env as Record<string, string>) };
    for (const [name, value] of Object.entries(step.env)) env[name] = interpolate(value, { ...ctx, contexts: { ...ctx.contexts, env } });
    return Object.fromEntries(Object.entries(env).filter(([name]) => ENV_NAME.test(name)));
  }

  /** The built-in `uses:` actions: checkout of the run's source, artifacts between jobs, cache as a no-op. */
  private async shimStep(loaded: Loaded, step: StepSpec, ctx: Evaluation, io: DrivenJobIo): Promise<JobStepSpec> {
    if (step.action.kind === 'run') throw new Error('not a shim step');
    const { uses } = step.action;
    let outcome: ShimOutcome;
    try {
      // Inputs of skipped actions and the cache no-op are never evaluated (an error there must not fail a skip).
      const evaluated = step.action.kind !== 'unsupported' && step.action.kind !== 'cache';
      const given = evaluated ? Object.fromEntries(Object.entries(step.action.with).map(([k, v]) => [k, interpolate(v, ctx).trim()])) : {};
      outcome = await this.runShim(loaded, step.action.kind, uses, given, io);
    } catch (error) {
      return this.failingStep(loaded, step, `${uses}: ${(error as Error).message}`);
    }
    if (outcome.manifest) loaded.state.artifacts = outcome.manifest;
    if (outcome.problem) return this.failingStep(loaded, step, outcome.problem);
    loaded.state.notes.push(`step ${step.id}: ${outcome.line}`);
    await this.save(loaded);
    return { name: stepDisplayName(step), args: ['/bin/sh', '-c', 'echo "$ORCAOPS_STEP_NOTE"'], env: { ORCAOPS_STEP_NOTE: outcome.line } };
  }

  private async runShim(loaded: Loaded, kind: BuiltinStepKind | 'unsupported', uses: string, given: Record<string, string>, io: DrivenJobIo): Promise<ShimOutcome> {
    switch (kind) {
      case 'unsupported':
        return { line: `skipped unsupported step ${uses}` };
      case 'cache':
        return { line: `${uses}: no-op in OrcaOps` };
      case 'checkout':
        return this.artifacts.checkout(loaded.run, loaded.run.sourceId, io, containerPath(given.path));
      case 'upload-artifact': {
        const request = uploadRequest(given);
        if (typeof request === 'string') return { line: request, problem: request };
        return this.artifacts.upload(io, loaded.state.artifacts ?? {}, request);
      }
      case 'download-artifact': {
        const name = given.name || undefined;
        if (name && artifactNameProblem(name)) return { line: '', problem: artifactNameProblem(name) };
        const byName = !name && !/^true$/i.test(given['merge-multiple'] ?? '');
        return this.artifacts.download(loaded.run, loaded.jobs, loaded.job, io, { ...(name ? { name } : {}), target: containerPath(given.path), byName });
      }
    }
  }

  /** Native `download: [job[/name]]`, before the first step, into /workspace (paths as uploaded). */
  private async nativeDownloads(loaded: Loaded, io: DrivenJobIo): Promise<string | undefined> {
    loaded.state.downloaded = true;
    let problem: string | undefined;
    for (const entry of loaded.job.download) {
      const { job, name } = parseDownloadEntry(entry);
      try {
        const outcome = await this.artifacts.download(loaded.run, loaded.jobs, loaded.job, io, { from: job, ...(name ? { name } : {}), target: '/workspace', byName: false });
        loaded.state.notes.push(`download ${entry}: ${outcome.line}`);
        problem ??= outcome.problem && `download ${entry}: ${outcome.problem}`;
      } catch (error) {
        problem ??= `download ${entry}: ${(error as Error).message}`;
      }
      if (problem) break;
    }
    await this.save(loaded);
    return problem;
  }

  /** Native `artifacts:` after the last step, as `when` says; `if-no-files: error` fails the job. */
  private async nativeUploads(loaded: Loaded, failed: boolean, ctx: Evaluation, io: DrivenJobIo): Promise<string | undefined> {
    let problem: string | undefined;
    for (const artifact of loaded.job.artifacts) {
      if ((artifact.when === 'success' && failed) || (artifact.when === 'failure' && !failed)) continue;
      try {
        const patterns = artifact.paths.map((p) => interpolate(p, ctx));
        const outcome = await this.artifacts.upload(io, loaded.state.artifacts ?? {}, { name: artifact.name, patterns, root: 'workspace', ifNoFiles: artifact.ifNoFiles });
        if (outcome.manifest) loaded.state.artifacts = outcome.manifest;
        loaded.state.notes.push(`artifacts: ${outcome.line}`);
        problem ??= outcome.problem;
      } catch (error) {
        problem ??= `artifact '${artifact.name}': ${(error as Error).message}`;
      }
    }
    return problem;
  }

  private failingStep(loaded: Loaded, step: StepSpec, message: string): JobStepSpec {
    loaded.state.notes.push(`step ${step.id}: ${message}`);
    return { name: stepDisplayName(step), args: ['/bin/sh', '-c', 'echo "$ORCAOPS_STEP_ERROR" >&2; exit 1'], env: { ORCAOPS_STEP_ERROR: message } };
  }

  private record(loaded: Loaded, step: StepSpec, outcome: StepRecord['outcome'], conclusion: StepRecord['conclusion'], outputs: Record<string, string>): void {
    loaded.state.steps = [...loaded.state.steps.filter((s) => s.id !== step.id), { id: step.id, outcome, conclusion, outputs: step.generatedId ? {} : outputs }];
  }

  private async load(handle: DrivenJob): Promise<Loaded> {
    const cached = this.cache.get(handle.id);
    if (cached) return cached;
    const instance = await this.store.instanceOfJob(handle.workspaceId, handle.id).catch(() => this.instanceOfNewJob(handle));
    const run = await this.store.runOf(handle.workspaceId, instance.runId);
    const job = run.spec.jobs.find((j) => j.id === instance.workflowJob);
    if (!job || !instance.stepState) throw new Error(`workflow instance for job ${handle.id} has no step state`);
    // GitHub semantics: a secret that does not exist is absent from the context (an empty string).
    const values = await this.secretValues.open(handle.workspaceId, secretReferences(job));
    const secrets = Object.fromEntries(values);
    const loaded = { instance, run: { id: run.id, workspaceId: run.workspaceId, createdBy: run.createdBy, sourceId: run.sourceId }, jobs: run.spec.jobs, job, state: instance.stepState, secrets, masker: new SecretMasker(values.values()) };
    this.cache.set(handle.id, loaded);
    return loaded;
  }

  /**
   * The runner records an attempt's job id once submit returns, but a job claimed at insert may already
   * be running by then: its instance is found through the run, instance hash and attempt its job carries.
   */
  private async instanceOfNewJob(handle: DrivenJob): Promise<WorkflowInstanceEntity> {
    const job = await this.jobReads.find(handle.workspaceId, handle.id);
    const labels = job?.spec.internal?.labels ?? {};
    const runId = labels['orcaops.workflow_run'];
    const hash = labels['orcaops.workflow_instance'];
    const attempt = job?.metadata.attempt;
    if (!runId || !hash || typeof attempt !== 'number') throw new Error(`job ${handle.id} is not a workflow instance's job`);
    const instance = await this.store.instanceByAttempt(handle.workspaceId, runId, hash, attempt);
    if (!instance) throw new Error(`no workflow instance runs job ${handle.id}`);
    return instance;
  }

  private async save(loaded: Loaded): Promise<void> {
    // Nothing derived from a secret is stored in clear: step outputs, $GITHUB_ENV, the summary, notes, job outputs.
    if (!loaded.masker.empty) loaded.state = loaded.masker.maskValue(loaded.state);
    await this.store.saveStepState(loaded.instance.workspaceId, loaded.instance.id, loaded.state);
  }
}

/** `with.path` of checkout/download: relative to the workspace, absolute as given. */
function containerPath(path: string | undefined): string {
  if (!path || path === '.') return '/workspace';
  return path.startsWith('/') ? path : `/workspace/${path.replace(/^\.\//, '')}`;
}

/** The job summary with a step's summary appended, the job's total kept within `max` bytes (the rest is cut and said so). */
function boundedSummary(summary: string, step: string, max: number): string {
  const next = `${summary}${step.trimEnd()}\n`;
  if (Buffer.byteLength(next) <= max) return next;
  const note = `\n[summary truncated at the ${max}-byte limit]\n`;
  if (summary.endsWith(note)) return summary;
  return `${Buffer.from(next).subarray(0, Math.max(0, max - Buffer.byteLength(note))).toString('utf8')}${note}`;
}

const IF_NO_FILES = new Set(['warn', 'error', 'ignore']);

/** `actions/upload-artifact` inputs (name default `artifact`, path lines, if-no-files-found), or what is wrong with them. */
function uploadRequest(given: Record<string, string>): UploadRequest | string {
  const name = given.name || 'artifact';
  const bad = artifactNameProblem(name);
  if (bad) return bad;
  const lines = (given.path ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines.some((l) => l.startsWith('!'))) return `exclude patterns ('!…') in 'path' are not supported`;
  if (!lines.length) return 'Input required and not supplied: path';
  const ifNoFiles = given['if-no-files-found'] || 'warn';
  if (!IF_NO_FILES.has(ifNoFiles)) return `'if-no-files-found' must be warn, error or ignore, not '${ifNoFiles}'`;
  return { name, patterns: lines, root: 'github', ifNoFiles: ifNoFiles as UploadRequest['ifNoFiles'] };
}

export { STATE_DIR };
