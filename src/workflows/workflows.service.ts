import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import { DataSource } from 'typeorm';
import { stringify } from 'yaml';
import { AuditService } from 'src/audit/audit.service';
import { notFound, OrcaOpsError } from 'src/common/errors/orcaops.error';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { JobLogsResponseDto } from 'src/jobs/dto/job-response.dto';
import { JobsService } from 'src/jobs/jobs.service';
import { SessionLinks } from 'src/session-links/session-links.service';
import { assertPermission } from 'src/tenancy/assert-permission';
import { requireWorkspace } from 'src/tenancy/tenant-context.factory';
import { TenantContext } from 'src/tenancy/tenant-context';
import { loadWorkflow } from 'src/workflows/engine/loader';
import { plan } from 'src/workflows/engine/plan';
import { evaluateWorkflowEnv, resolveInputs } from 'src/workflows/engine/run-inputs';
import type { Diagnostic, JsonObject, RunContext, Workflow } from 'src/workflows/engine/model';
import {
  ListWorkflowsQueryDto,
  SubmitWorkflowDto,
  WorkflowListResponseDto,
  WorkflowPlanResponseDto,
  WorkflowRunResponseDto,
  WorkflowRunWaitResponseDto,
} from 'src/workflows/dto/workflow.dto';
import { WorkflowInstanceEntity } from 'src/workflows/entities/workflow-instance.entity';
import { WorkflowRunEntity } from 'src/workflows/entities/workflow-run.entity';
import { initialRunState } from 'src/workflows/runner/engine';
import { WorkflowRunEvents } from 'src/workflows/workflow-run-events';
import { WorkflowInstanceStore } from 'src/workflows/runner/workflow-instance-store';
import { WorkflowRunnerService } from 'src/workflows/runner/workflow-runner.service';
import { WorkflowSourcesService } from 'src/workflows/sources/workflow-sources.service';
import { toPlanResponse, toRunResponse, toRunSummary } from 'src/workflows/workflows.mappers';
import type { WorkflowArtifactsResponseDto } from 'src/workflows/dto/workflow-outputs-response.dto';
import { workflowFingerprint } from 'src/workflows/workflow-fingerprint';
import { parseWorkflowRunQuery } from 'src/workflows/workflow-run-query';

/** Runs one delete-by-query call removes at most (more=true: call again); each run is its own transaction. */
export const WORKFLOW_BULK_DELETE_MAX = 200;

/** Image for jobs whose runs-on maps to nothing more specific (a Linux label or none). */
export const DEFAULT_WORKFLOW_IMAGE = 'orcaops/python';
/** A waiting reader re-reads at least this often: a run driven by another server sends no local signal. */
const WAIT_REREAD_MS = 1_000;

/** Workflow runs as every front end sees them: submit (or plan), read, cancel, rerun, logs. Tenant-scoped. */
@Injectable()
export class WorkflowsService {
  // Nine: the front ends' one entry for runs (submit with sources and session, read, cancel, rerun, logs through jobs).
  constructor(
    @InjectScopedRepository(WorkflowRunEntity) private readonly runs: TenantScopedRepository<WorkflowRunEntity>,
    @InjectScopedRepository(WorkflowInstanceEntity) private readonly instances: TenantScopedRepository<WorkflowInstanceEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly runner: WorkflowRunnerService,
    private readonly store: WorkflowInstanceStore,
    private readonly jobs: JobsService,
    private readonly audit: AuditService,
    private readonly events: WorkflowRunEvents,
    private readonly sources: WorkflowSourcesService,
    private readonly sessions: SessionLinks,
  ) {}

  /**
   * Resolves when the run changes next, or after `timeoutMs` (callers re-read with get(), which checks
   * access). A wake-up signal only: it carries no data, so it needs no tenant check of its own.
   */
  nextChange(runId: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return this.events.next(runId, timeoutMs, signal);
  }

  async submit(ctx: TenantContext, dto: SubmitWorkflowDto): Promise<WorkflowRunResponseDto | WorkflowPlanResponseDto> {
    assertPermission(ctx, 'workflow:create');
    const { workspaceId } = requireWorkspace(ctx);
    const { workflow, source, warnings } = this.load(dto);
    const context = runContext(workflow, dto, ctx);
    const uploaded = dto.source_id ? await this.sources.require(ctx, dto.source_id) : null;
    const sourceId = uploaded?.id ?? null;
    if (dto.dry_run) {
      const planned = plan(workflow, { platforms: context.platforms, defaultImage: context.defaultImage, github: context.github, inputs: context.inputs, vars: context.vars });
      return toPlanResponse(planned, warnings);
    }
    const sessionId = await this.sessions.resolveForCreate(ctx, workspaceId, dto.session_id);
    const id = randomUUID();
    const maxParallel = dto.max_parallel ?? workflow.maxParallel ?? Math.max(1, cpus().length);
    const state = initialRunState(workflow, context, maxParallel, Date.now());
    await this.dataSource.transaction(async (manager) => {
      await this.sessions.lockOpen(manager, workspaceId, sessionId);
      const row: Partial<WorkflowRunEntity> = {
        id, name: workflow.name.slice(0, 256), file: workflow.file.slice(0, 256), source, spec: workflow, inputs: context.inputs, envOverrides: dto.env ?? {},
        context, jobStates: state.jobs, maxParallel, status: 'running', warnings, createdBy: ctx.principal.tokenId, runnerId: this.runner.runnerId, startedAt: new Date(state.startedAt), sourceId, sessionId,
        fingerprint: workflowFingerprint(workflow, uploaded?.sha256),
      };
      await this.runs.withManager(manager).insert(workspaceId, row);
      await this.audit.record(ctx, { action: 'workflow.create', resourceType: 'workflow', resourceId: id, sessionId, details: { name: workflow.name, jobs: workflow.jobs.length } }, manager);
    });
    const run = await this.find(ctx, id, 'workflow:read');
    this.runner.start(run);
    return this.view(run);
  }

  async list(ctx: TenantContext, q: ListWorkflowsQueryDto): Promise<WorkflowListResponseDto> {
    assertPermission(ctx, 'workflow:read');
    const { workspaceId } = requireWorkspace(ctx);
    const qb = this.runs.queryBuilder(workspaceId, 'r').select(['r.id', 'r.name', 'r.status', 'r.conclusion', 'r.sessionId', 'r.createdAt', 'r.finishedAt']);
    if (q.status) qb.andWhere('r.status = :status', { status: q.status });
    if (q.session_id) qb.andWhere('r.session_id = :sessionId', { sessionId: q.session_id.toLowerCase() });
    const rows = await qb.orderBy('r.created_at', 'DESC').addOrderBy('r.id', 'DESC').take(q.limit ?? 50).getMany();
    return { items: rows.map(toRunSummary) };
  }

  async get(ctx: TenantContext, id: string): Promise<WorkflowRunResponseDto> {
    return this.view(await this.find(ctx, id, 'workflow:read'));
  }

  /**
   * Long-poll: the run once its version differs from `after` (without `after`: once it completes), once
   * it completes, or when the timeout passes. Wakes on the run's change signal and re-reads at least every
   * WAIT_REREAD_MS, so a run driven by another server is noticed too.
   */
  async wait(ctx: TenantContext, id: string, opts: { timeoutMs: number; after?: string }, signal?: AbortSignal): Promise<WorkflowRunWaitResponseDto> {
    const until = Date.now() + opts.timeoutMs;
    const settled = (r: WorkflowRunResponseDto): boolean => r.status === 'completed' || (opts.after !== undefined && r.version !== opts.after);
    // Subscribed before the first read: a change committed while a read is in flight still wakes us.
    const changes = this.events.watch(id);
    try {
      let run = await this.get(ctx, id);
      while (!settled(run) && Date.now() < until && !signal?.aborted) {
        await changes.next(Math.min(WAIT_REREAD_MS, until - Date.now()), signal);
        run = await this.get(ctx, id);
      }
      return { ...run, terminal: run.status === 'completed', timed_out: !settled(run) };
    } finally {
      changes.close();
    }
  }

  /** Journals the cancel on the run; its runner stops every running job and service, then concludes it. */
  async cancel(ctx: TenantContext, id: string): Promise<WorkflowRunResponseDto> {
    const run = await this.find(ctx, id, 'workflow:cancel');
    if (run.status !== 'running') throw new OrcaOpsError('conflict', `workflow run ${id} already ended (${run.conclusion ?? run.status})`, { status: run.status });
    await this.requestCancel(run, ctx);
    return this.get(ctx, id);
  }

  /**
   * Cancels a session's running workflow runs (a session ended with cleanup, or expired idle); returns
   * how many. The caller checked the session; 'system' is the idle reaper (audited as the system).
   */
  async cancelForSession(actor: TenantContext | 'system', workspaceId: string, sessionId: string): Promise<number> {
    if (actor !== 'system') assertPermission(actor, 'workflow:cancel');
    const running = await this.runs.find(workspaceId, { where: { sessionId, status: 'running' } });
    let cancelled = 0;
    for (const run of running) if (await this.requestCancel(run, actor)) cancelled++;
    return cancelled;
  }

  /** Cancels every running run of a workspace, or only one token's (src/governance); returns how many. */
  async cancelAllFor(workspaceId: string, createdBy?: string): Promise<number> {
    const running = await this.runs.find(workspaceId, { where: { status: 'running', ...(createdBy ? { createdBy } : {}) } });
    let cancelled = 0;
    for (const run of running) if (await this.requestCancel(run, 'system')) cancelled++;
    return cancelled;
  }

  /** Compare-and-set on a running run; false (nothing audited) when it completed meanwhile. Wakes its local loop. */
  private async requestCancel(run: WorkflowRunEntity, actor: TenantContext | 'system'): Promise<boolean> {
    const changed = await this.dataSource.transaction(async (manager) => {
      if (!(await this.runs.withManager(manager).update(run.workspaceId, { id: run.id, status: 'running' }, { cancelledBy: 'user' }))) return false;
      const record = { action: 'workflow.cancel', resourceType: 'workflow', resourceId: run.id, sessionId: run.sessionId ?? undefined };
      if (actor === 'system') await this.audit.recordSystem(run.workspaceId, record, manager);
      else await this.audit.record(actor, record, manager);
      return true;
    });
    this.runner.wake(run.id);
    return changed;
  }

  /**
   * Deletes a finished run with its instances and its instance jobs (their output and artifacts).
   * Refused while it runs: cancel it first.
   */
  async delete(ctx: TenantContext, id: string): Promise<void> {
    const run = await this.find(ctx, id, 'workflow:delete');
    const conflict = (): OrcaOpsError => new OrcaOpsError('conflict', `workflow run ${id} is running; cancel it before deleting`, { status: 'running' });
    if (run.status === 'running') throw conflict();
    if (!(await this.remove(run, ctx))) throw conflict();
  }

  /**
   * Deletes runs that finished longer ago than their workspace's retention (the jobs' setting,
   * `job_retention_days`, or `defaultDays`), as the system; returns how many. A sweep over every
   * workspace (the documented exemption from scoped repositories, like the jobs' retention).
   */
  async deleteExpired(defaultDays: number): Promise<number> {
    const rows: Array<{ id: string; workspace_id: string }> = await this.dataSource.query(
      `SELECT r.id, r.workspace_id FROM workflow_runs r JOIN workspaces w ON w.id = r.workspace_id
        WHERE r.status = 'completed'
          AND r.finished_at < now() - make_interval(days => COALESCE((w.settings->>'job_retention_days')::int, $1))
        LIMIT 500`,
      [defaultDays],
    );
    let deleted = 0;
    for (const row of rows) {
      const run = await this.runs.findOne(row.workspace_id, { id: row.id });
      if (run && (await this.remove(run, 'system'))) deleted++;
    }
    return deleted;
  }

  /**
   * Admins: deletes completed runs matching a run-search query (`until:30d status:failed`, see
   * workflow-run-query.ts), oldest first, at most WORKFLOW_BULK_DELETE_MAX per call, each run with its
   * jobs in its own short transaction (no long lock); one summary audit row with the counts.
   */
  async deleteByQuery(ctx: TenantContext, q: string, dryRun: boolean): Promise<{ deleted: number; more: boolean; dry_run: boolean }> {
    assertPermission(ctx, 'workspace:admin');
    const { workspaceId } = requireWorkspace(ctx);
    const filter = parseWorkflowRunQuery(q);
    const qb = this.runs.queryBuilder(workspaceId, 'r').andWhere("r.status = 'completed'");
    filter.created.forEach((c, i) => qb.andWhere(`r.created_at ${c.op} :at${i}`, { [`at${i}`]: c.at }));
    if (filter.conclusions) qb.andWhere('r.conclusion IN (:...conclusions)', { conclusions: filter.conclusions });
    if (filter.sessionId) qb.andWhere('r.session_id = :sessionId', { sessionId: filter.sessionId });
    if (filter.fingerprintPrefix) qb.andWhere('r.fingerprint LIKE :fp', { fp: `${filter.fingerprintPrefix}%` });
    const rows = await qb.select('r.id', 'id').orderBy('r.created_at', 'ASC').limit(WORKFLOW_BULK_DELETE_MAX + 1).getRawMany<{ id: string }>();
    const ids = rows.slice(0, WORKFLOW_BULK_DELETE_MAX).map((r) => r.id);
    const more = rows.length > WORKFLOW_BULK_DELETE_MAX;
    if (dryRun) return { deleted: ids.length, more, dry_run: true };
    let deleted = 0;
    for (const id of ids) {
      const run = await this.runs.findOne(workspaceId, { id });
      if (run && (await this.remove(run, ctx))) deleted++;
    }
    await this.audit.record(ctx, { action: 'workflow.bulk_delete', resourceType: 'workflow', details: { query: q, deleted, more } });
    return { deleted, more, dry_run: false };
  }

  /** One transaction: the run (compare-and-set on completed: a rerun may have restarted it), its instances, its jobs, the audit. */
  private async remove(run: WorkflowRunEntity, actor: TenantContext | 'system'): Promise<boolean> {
    const { workspaceId } = run;
    const jobIds = await this.dataSource.transaction(async (manager) => {
      const instances = await this.instances.withManager(manager).find(workspaceId, { where: { runId: run.id } });
      if (!(await this.runs.withManager(manager).delete(workspaceId, { id: run.id, status: 'completed' }))) return undefined;
      const ids = [...new Set(instances.flatMap((i) => [i.jobId, ...i.attempts.map((a) => a.job_id)]).filter((j): j is string => !!j))];
      const deletedJobs = await this.jobs.deleteFinished(manager, workspaceId, ids);
      const record = { action: 'workflow.delete', resourceType: 'workflow', resourceId: run.id, sessionId: run.sessionId ?? undefined, details: { jobs_deleted: deletedJobs.length, ...(actor === 'system' ? { reason: 'retention' } : {}) } };
      if (actor === 'system') await this.audit.recordSystem(workspaceId, record, manager);
      else await this.audit.record(actor, record, manager);
      return deletedJobs;
    });
    if (!jobIds) return false;
    await this.jobs.deleteStored(workspaceId, jobIds);
    return true;
  }

  /**
   * Runs the failed and cancelled instances of a finished run again (new attempts), and every job that
   * depends on them; instances that succeeded are kept with their outputs.
   */
  async rerunFailed(ctx: TenantContext, id: string): Promise<WorkflowRunResponseDto> {
    const run = await this.find(ctx, id, 'workflow:create');
    if (run.status !== 'completed') throw new OrcaOpsError('conflict', `workflow run ${id} is still running`, { status: run.status });
    if (run.conclusion === 'success') throw new OrcaOpsError('conflict', `workflow run ${id} succeeded; nothing to rerun`, { conclusion: run.conclusion });
    // A rerun is new work in the run's session: refused (409) once that session has ended.
    if (run.sessionId) await this.sessions.resolveForCreate(ctx, run.workspaceId, run.sessionId);
    const rows = await this.instances.find(run.workspaceId, { where: { runId: id } });
    const reset = new Set(Object.values(run.jobStates).filter((j) => j.result === 'failure' || j.result === 'cancelled').map((j) => j.jobId));
    const downstream = new Set<string>();
    for (let grew = true; grew; ) {
      grew = false;
      for (const job of run.spec.jobs) {
        if (downstream.has(job.id) || reset.has(job.id)) continue;
        if (job.needs.some((n) => reset.has(n) || downstream.has(n))) {
          downstream.add(job.id);
          grew = true;
        }
      }
    }
    const jobStates = structuredClone(run.jobStates);
    for (const jobId of [...reset, ...downstream]) {
      const js = jobStates[jobId]!;
      delete js.result;
      delete js.outcome;
      if (downstream.has(jobId) || js.phase !== 'expanded') Object.assign(js, { phase: 'pending', instanceKeys: [] });
    }
    const remove: string[] = [];
    const requeue: string[] = [];
    for (const row of rows) {
      if (downstream.has(row.workflowJob) || (reset.has(row.workflowJob) && jobStates[row.workflowJob]!.phase === 'pending')) remove.push(row.id);
      else if (reset.has(row.workflowJob) && row.conclusion !== 'success' && row.conclusion !== 'skipped') requeue.push(row.id);
    }
    await this.dataSource.transaction(async (manager) => {
      await this.store.resetForRerun(manager, { runId: id, workspaceId: run.workspaceId }, { remove, requeue, jobStates, runnerId: this.runner.runnerId });
      await this.audit.record(ctx, { action: 'workflow.rerun', resourceType: 'workflow', resourceId: id, details: { jobs: [...reset, ...downstream] } }, manager);
    });
    const updated = await this.find(ctx, id, 'workflow:read');
    this.runner.start(updated);
    return this.view(updated);
  }

  /** Output of one instance (its latest attempt's job unless `attempt` is given), through the job's logs. */
  async logs(ctx: TenantContext, id: string, q: { instance: string; attempt?: number; tail?: number }): Promise<JobLogsResponseDto & { job_id: string }> {
    const jobId = await this.instanceJob(ctx, id, q.instance, q.attempt);
    return { job_id: jobId, ...(await this.jobs.readLogs(ctx, jobId, { ...(q.tail ? { tail: q.tail } : {}), limit: 1000 })) };
  }

  /** The OrcaOps job behind an instance attempt (callers follow its log stream or artifacts directly). */
  async instanceJob(ctx: TenantContext, id: string, instance: string, attempt?: number): Promise<string> {
    const run = await this.find(ctx, id, 'workflow:read');
    const rows = await this.instances.find(run.workspaceId, { where: { runId: id } });
    const row = rows.find((r) => r.instanceKey === instance) ?? rows.find((r) => r.displayName === instance) ?? rows.filter((r) => r.workflowJob === instance).at(0);
    if (!row) throw notFound('workflow instance', instance);
    const jobId = attempt ? row.attempts.find((a) => a.attempt === attempt)?.job_id : row.jobId;
    if (!jobId) throw new OrcaOpsError('not_found', `instance ${row.displayName} has no job${attempt ? ` for attempt ${attempt}` : ''} (status ${row.status})`, { instance: row.instanceKey });
    return jobId;
  }

  /** Each instance's job artifacts (files), and the named artifacts they make up (name → file names). */
  async artifacts(ctx: TenantContext, id: string): Promise<WorkflowArtifactsResponseDto> {
    const run = await this.find(ctx, id, 'workflow:read');
    const rows = await this.instances.find(run.workspaceId, { where: { runId: id }, order: { matrixIndex: 'ASC' } });
    const items = [];
    for (const row of rows) {
      if (!row.jobId) continue;
      const artifacts = await this.jobs.listArtifacts(ctx, row.jobId);
      const named = Object.fromEntries(Object.entries(row.stepState?.artifacts ?? {}).map(([name, files]) => [name, files.map((f) => f.file)]));
      if (artifacts.length) items.push({ instance: row.instanceKey, display_name: row.displayName, job_id: row.jobId, artifacts, named });
    }
    return { items };
  }

  private async view(run: WorkflowRunEntity): Promise<WorkflowRunResponseDto> {
    const rows = await this.instances.find(run.workspaceId, { where: { runId: run.id }, order: { matrixIndex: 'ASC' } });
    return toRunResponse(run, rows);
  }

  private load(dto: SubmitWorkflowDto): { workflow: Workflow; source: string; warnings: string[] } {
    if ((dto.yaml === undefined) === (dto.workflow === undefined)) {
      throw new OrcaOpsError('validation_failed', 'The request is invalid', { fields: [{ field: 'yaml', messages: ['give exactly one of yaml or workflow'] }] });
    }
    const source = dto.yaml ?? stringify(dto.workflow);
    const file = dto.file ?? '<inline>';
    const result = loadWorkflow(source, { file, skipUnsupported: dto.skip_unsupported ?? false });
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length || !result.workflow) {
      throw new OrcaOpsError('validation_failed', `The workflow has ${errors.length} error${errors.length === 1 ? '' : 's'}`, {
        diagnostics: errors.map((d) => diagnosticView(d, file)),
      });
    }
    const warnings = result.diagnostics.filter((d) => d.severity === 'warning').map((d) => diagnosticText(d, file));
    return { workflow: overrideImages(result.workflow, dto.images ?? {}), source, warnings };
  }

  private async find(ctx: TenantContext, id: string, permission: Parameters<typeof assertPermission>[1]): Promise<WorkflowRunEntity> {
    assertPermission(ctx, permission);
    const { workspaceId } = requireWorkspace(ctx);
    const run = await this.runs.findOne(workspaceId, { id });
    if (!run) throw notFound('workflow run', id);
    return run;
  }
}

/** Exact image references replaced (after expressions, images are also mapped by the runner's platforms). */
function overrideImages(workflow: Workflow, images: Record<string, string>): Workflow {
  if (!Object.keys(images).length) return workflow;
  const map = (image: string): string => images[image.trim()] ?? image;
  return {
    ...workflow,
    platforms: Object.fromEntries(Object.entries(workflow.platforms).map(([k, v]) => [k, map(v)])),
    jobs: workflow.jobs.map((job) => ({
      ...job,
      ...(job.image !== undefined ? { image: map(job.image) } : {}),
      ...(job.container ? { container: { ...job.container, image: map(job.container.image) } } : {}),
      services: job.services.map((s) => ({ ...s, image: map(s.image) })),
    })),
  };
}

function diagnosticText(d: Diagnostic, file: string): string {
  return `${file}:${d.line}:${d.column}: ${d.severity === 'warning' ? 'warning: ' : ''}${d.message}`;
}

function diagnosticView(d: Diagnostic, file: string): Record<string, unknown> {
  return { file, line: d.line, column: d.column, code: d.code, path: d.path, message: d.message, text: diagnosticText(d, file) };
}

function runContext(workflow: Workflow, dto: SubmitWorkflowDto, ctx: TenantContext): RunContext {
  const resolved = resolveInputs(workflow, dto.inputs ?? {});
  if (resolved.errors.length) {
    throw new OrcaOpsError('validation_failed', 'The workflow inputs are invalid', { fields: resolved.errors.map((m) => ({ field: 'inputs', messages: [m] })) });
  }
  const inputs = resolved.inputs;
  const github: JsonObject = { workflow: workflow.name, event_name: 'workflow_dispatch', event: { inputs }, actor: ctx.principal.tokenName, repository: '', ref: '', sha: '', server_url: '', run_number: 1 };
  const env = evaluateWorkflowEnv(workflow, { github, inputs, vars: {} });
  return {
    github,
    inputs,
    vars: {},
    env: { ...env, ...dto.env },
    defaultImage: DEFAULT_WORKFLOW_IMAGE,
    platforms: { ...workflow.platforms, ...dto.platforms },
  };
}
