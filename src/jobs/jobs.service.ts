import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Readable } from 'node:stream';
import { Brackets, DataSource, EntityManager, In, Not } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { notFound, OrcaOpsError } from 'src/common/errors/orcaops.error';
import { decodeCursor, encodeCursor } from 'src/common/pagination/keyset-cursor';
import type { SignalWatch } from 'src/common/keyed-signal';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { CreateJobDto } from 'src/jobs/dto/create-job.dto';
import { ArtifactResponseDto, JobListResponseDto, JobLogsResponseDto, JobResponseDto, JobSummaryResponseDto } from 'src/jobs/dto/job-response.dto';
import { JobArtifactEntity } from 'src/jobs/entities/job-artifact.entity';
import { JobEntity } from 'src/jobs/entities/job.entity';
import { JobAdmission, SubmitResult } from 'src/jobs/job-admission.service';
import { JOB_DISPATCH, JobDispatch } from 'src/jobs/job-dispatch';
import { afterWake, isSettled, JobChange, JobEvents } from 'src/jobs/job-events';
import { JobLogsService } from 'src/jobs/job-logs.service';
import { JobSummaries } from 'src/jobs/job-summaries.service';
import { JobInternalSpec, JobStatus, TERMINAL_STATUSES } from 'src/jobs/job-model';
import { toArtifactResponse, toJobResponse, toJobSummaryResponse, toLogChunk } from 'src/jobs/jobs.mappers';
import type { PolicyDecision } from 'src/policies/policy-model';
import { ARTIFACT_STORAGE, ArtifactStorage } from 'src/storage/artifact-storage.port';
import { assertPermission } from 'src/tenancy/assert-permission';
import { requireWorkspace } from 'src/tenancy/tenant-context.factory';
import { TenantContext } from 'src/tenancy/tenant-context';

export interface ListJobsFilter {
  status?: JobStatus;
  tag?: string;
  image?: string;
  sessionId?: string;
  since?: Date;
  until?: Date;
  cursor?: string;
  limit: number;
}

export interface LogEvent {
  id: number;
  event: 'output' | 'status' | 'end';
  data: unknown;
}

/** Chunks read per query while streaming: what one open stream holds in memory besides its socket buffer. */
export const STREAM_BATCH_ROWS = 16;

/** Jobs as every front end sees them: submit, read, follow, cancel, delete. Tenant-scoped throughout. */
@Injectable()
export class JobsService {
  // Ten: the front ends' one entry for jobs (reads, logs, summaries, follow, cancel, delete); admission is JobAdmission's.
  constructor(
    @InjectScopedRepository(JobEntity) private readonly jobs: TenantScopedRepository<JobEntity>,
    @InjectScopedRepository(JobArtifactEntity) private readonly artifacts: TenantScopedRepository<JobArtifactEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(ARTIFACT_STORAGE) private readonly storage: ArtifactStorage,
    @Inject(JOB_DISPATCH) private readonly runner: JobDispatch,
    private readonly logs: JobLogsService,
    private readonly events: JobEvents,
    private readonly audit: AuditService,
    private readonly admission: JobAdmission,
    private readonly summaries: JobSummaries,
  ) {}

  /** `internal`: set only by other services (workflows), never from a request. Admission is JobAdmission's. */
  submit(ctx: TenantContext, dto: CreateJobDto, idempotencyHeader?: string, internal?: JobInternalSpec): Promise<SubmitResult> {
    return this.admission.submit(ctx, dto, idempotencyHeader, internal);
  }

  /** The dry run behind POST /v1/policies/evaluate: this spec's decision, nothing created or recorded. */
  evaluatePolicy(ctx: TenantContext, dto: CreateJobDto): Promise<PolicyDecision> {
    return this.admission.evaluatePolicy(ctx, dto);
  }

  async get(ctx: TenantContext, id: string): Promise<JobResponseDto> {
    return toJobResponse(await this.find(ctx, id, 'job:read'));
  }

  async list(ctx: TenantContext, filter: ListJobsFilter): Promise<JobListResponseDto> {
    assertPermission(ctx, 'job:read');
    const { workspaceId } = requireWorkspace(ctx);
    const qb = this.jobs.queryBuilder(workspaceId, 'j');
    if (filter.status) qb.andWhere('j.status = :status', { status: filter.status });
    if (filter.tag) qb.andWhere(':tag = ANY(j.tags)', { tag: filter.tag });
    if (filter.image) {
      if (filter.image.endsWith('*')) qb.andWhere('j.image LIKE :image', { image: `${filter.image.slice(0, -1).replace(/[%_]/g, '\\$&')}%` });
      else qb.andWhere('j.image = :image', { image: filter.image });
    }
    if (filter.sessionId) qb.andWhere('j.session_id = :sessionId', { sessionId: filter.sessionId.toLowerCase() });
    if (filter.since) qb.andWhere('j.created_at >= :since', { since: filter.since });
    if (filter.until) qb.andWhere('j.created_at < :until', { until: filter.until });
    if (filter.cursor) {
      const [at, cid] = decodeCursor(filter.cursor);
      qb.andWhere(new Brackets((w) => w.where('j.created_at < :at', { at }).orWhere('j.created_at = :at AND j.id < :cid', { at, cid })));
    }
    const rows = await qb.orderBy('j.created_at', 'DESC').addOrderBy('j.id', 'DESC').take(filter.limit + 1).getMany();
    const page = rows.slice(0, filter.limit);
    const last = page[page.length - 1];
    return { items: page.map(toJobResponse), next_cursor: rows.length > filter.limit && last ? encodeCursor(last.createdAt, last.id) : null };
  }

  /** queued → cancelled at once; running → the runner kills the container (here or via its heartbeat poll). */
  async cancel(ctx: TenantContext, id: string): Promise<JobResponseDto> {
    const job = await this.find(ctx, id, 'job:cancel');
    if (TERMINAL_STATUSES.has(job.status)) {
      throw new OrcaOpsError('conflict', `job ${id} already ended (${job.status})`, { status: job.status });
    }
    await this.cancelRow(job, ctx);
    return toJobResponse(await this.find(ctx, id, 'job:read'));
  }

  /**
   * Cancels a session's unfinished jobs (a session ended with cleanup, or expired idle); returns how
   * many. The caller checked the session; 'system' is the idle reaper (audited as the system).
   */
  async cancelForSession(actor: TenantContext | 'system', workspaceId: string, sessionId: string): Promise<number> {
    if (actor !== 'system') assertPermission(actor, 'job:cancel');
    const open = await this.jobs.find(workspaceId, { where: { sessionId, status: Not(In([...TERMINAL_STATUSES])) } });
    let cancelled = 0;
    for (const job of open) if (await this.cancelRow(job, actor)) cancelled++;
    return cancelled;
  }

  /**
   * Cancels every unfinished job of a workspace, or only those one token submitted (workspace suspended
   * or archived, token revoked; src/governance). Audited per job as the system; the caller audits why.
   */
  async cancelAllFor(workspaceId: string, createdBy?: string): Promise<number> {
    const open = await this.jobs.find(workspaceId, { where: { status: Not(In([...TERMINAL_STATUSES])), ...(createdBy ? { createdBy } : {}) } });
    let cancelled = 0;
    for (const job of open) if (await this.cancelRow(job, 'system')) cancelled++;
    return cancelled;
  }

  /** Compare-and-set on the status; false (and nothing audited) when the job ended meanwhile. */
  private async cancelRow(job: JobEntity, actor: TenantContext | 'system'): Promise<boolean> {
    const { id } = job;
    const changed = await this.dataSource.transaction(async (manager) => {
      const jobs = this.jobs.withManager(manager);
      const now = new Date();
      // A job still waiting for approval is cancelled like a queued one; its approval can then no longer release it.
      const cancelledQueued = await jobs.update(job.workspaceId, { id, status: In(['queued', 'awaiting_approval']) }, {
        status: 'cancelled',
        reason: 'cancelled',
        message: 'cancelled before it started',
        finishedAt: now,
        cancelRequestedAt: now,
      });
      const cancelledRunning = !cancelledQueued && (await jobs.update(job.workspaceId, { id, status: 'running' }, { cancelRequestedAt: now }));
      if (!cancelledQueued && !cancelledRunning) return false;
      const record = { action: 'job.cancel', resourceType: 'job', resourceId: id, sessionId: job.sessionId ?? undefined, details: { status: job.status } };
      if (actor === 'system') await this.audit.recordSystem(job.workspaceId, record, manager);
      else await this.audit.record(actor, record, manager);
      return true;
    });
    this.runner.abortLocal(id);
    this.events.notify(id);
    return changed;
  }

  /** Deletes the record, its output and artifacts. Refused while the job is queued or running. */
  async delete(ctx: TenantContext, id: string): Promise<void> {
    const job = await this.find(ctx, id, 'job:delete');
    if (!TERMINAL_STATUSES.has(job.status)) {
      throw new OrcaOpsError('conflict', `job ${id} is ${job.status}; cancel it before deleting`, { status: job.status });
    }
    await this.dataSource.transaction(async (manager) => {
      await this.jobs.withManager(manager).delete(job.workspaceId, { id });
      await this.audit.record(ctx, { action: 'job.delete', resourceType: 'job', resourceId: id, sessionId: job.sessionId ?? undefined }, manager);
    });
    await this.deleteStored(job.workspaceId, [id]);
  }

  /**
   * Deletes finished jobs of one workspace in the caller's transaction (a workflow run's instance jobs
   * go with the run); returns the ids deleted. Jobs not finished are left. After the commit, deleteStored
   * removes their files.
   */
  async deleteFinished(manager: EntityManager, workspaceId: string, ids: string[]): Promise<string[]> {
    if (!ids.length) return [];
    const result = await manager
      .createQueryBuilder()
      .delete()
      .from(JobEntity)
      .where('workspace_id = :workspaceId AND id IN (:...ids) AND status IN (:...done)', { workspaceId, ids, done: [...TERMINAL_STATUSES] })
      .returning('id')
      .execute();
    return (result.raw as Array<{ id: string }>).map((r) => r.id);
  }

  /** The stored artifacts of deleted jobs (after their rows' delete committed). */
  async deleteStored(workspaceId: string, ids: string[]): Promise<void> {
    for (const id of ids) await this.storage.deletePrefix(`${workspaceId}/${id}`);
  }

  /**
   * Long-poll until the job has settled (terminal, container released) or the timeout passes; returns
   * its current state. The runner's own news needs no re-read: progress means still running, and its
   * last notification carries the settled job.
   */
  async wait(ctx: TenantContext, id: string, timeoutMs: number, signal?: AbortSignal): Promise<JobResponseDto> {
    const until = Date.now() + timeoutMs;
    // Subscribed before the first read: an end committed while a read is in flight still wakes us.
    const changes = this.events.watch(id);
    try {
      let job = await this.find(ctx, id, 'job:read');
      while (!isSettled(job) && Date.now() < until && !signal?.aborted) {
        const next = afterWake(await changes.next(Math.min(1000, until - Date.now()), signal), job.workspaceId);
        if (next === 'reread') job = await this.find(ctx, id, 'job:read');
        else if (next !== 'keep') job = next;
      }
      return toJobResponse(job);
    } finally {
      changes.close();
    }
  }

  async readLogs(ctx: TenantContext, id: string, q: { after?: number; tail?: number; limit?: number }): Promise<JobLogsResponseDto> {
    const job = await this.find(ctx, id, 'job:read');
    const rows = q.tail
      ? await this.logs.tail(job.workspaceId, id, q.tail)
      : await this.logs.read(job.workspaceId, id, q.after ?? 0, q.limit ?? 1000);
    const last = rows[rows.length - 1];
    const nextAfter = last?.seq ?? q.after ?? 0;
    const more = q.tail ? [] : await this.logs.read(job.workspaceId, id, nextAfter, 1);
    return {
      items: rows.map(toLogChunk),
      next_after: nextAfter,
      complete: TERMINAL_STATUSES.has(job.status) && more.length === 0,
      truncated: job.outputTruncated,
    };
  }

  /**
   * Live output as events from the first byte: chunks after `lastEventId`, then new ones as they are
   * stored, then one `end` event with the terminal state. Resumable: event ids are chunk seq numbers.
   */
  async *streamLogs(ctx: TenantContext, id: string, lastEventId: number, signal: AbortSignal): AsyncGenerator<LogEvent> {
    const changes = this.events.watch(id);
    try {
      yield* this.logEvents(ctx, id, lastEventId, signal, changes);
    } finally {
      changes.close();
    }
  }

  private async *logEvents(ctx: TenantContext, id: string, lastEventId: number, signal: AbortSignal, changes: SignalWatch<JobChange>): AsyncGenerator<LogEvent> {
    let job = await this.find(ctx, id, 'job:read');
    let after = lastEventId;
    yield { id: after, event: 'status', data: { status: job.status } };
    while (!signal.aborted) {
      const rows = await this.logs.read(job.workspaceId, id, after, STREAM_BATCH_ROWS);
      for (const row of rows) {
        after = row.seq;
        yield { id: row.seq, event: 'output', data: toLogChunk(row) };
      }
      if (rows.length === STREAM_BATCH_ROWS) continue;
      if (isSettled(job)) {
        const final = toJobResponse(job);
        yield { id: after, event: 'end', data: { status: final.status, reason: final.reason, exit_code: final.exit_code, truncated: final.usage.output_truncated } };
        return;
      }
      // Output is re-read after every wake-up; the job row only when the runner did not hand it over.
      const next = afterWake(await changes.next(1000, signal), job.workspaceId);
      if (next === 'reread') job = await this.find(ctx, id, 'job:read');
      else if (next !== 'keep') job = next;
    }
  }

  /** What a finished job's output says went wrong; a job that has not ended has no summary yet (409). */
  async summary(ctx: TenantContext, id: string): Promise<JobSummaryResponseDto> {
    const job = await this.find(ctx, id, 'job:read');
    if (!TERMINAL_STATUSES.has(job.status)) {
      throw new OrcaOpsError('conflict', `job ${id} is ${job.status}: its summary is written when it ends`, { status: job.status });
    }
    return toJobSummaryResponse(job, await this.summaries.forJob(job));
  }

  async listArtifacts(ctx: TenantContext, id: string): Promise<ArtifactResponseDto[]> {
    const job = await this.find(ctx, id, 'job:read');
    const rows = await this.artifacts.find(job.workspaceId, { where: { jobId: id }, order: { name: 'ASC' } });
    return rows.map(toArtifactResponse);
  }

  async openArtifact(ctx: TenantContext, id: string, name: string): Promise<{ artifact: ArtifactResponseDto; body: Readable }> {
    const job = await this.find(ctx, id, 'job:read');
    const row = await this.artifacts.findOne(job.workspaceId, { jobId: id, name });
    if (!row) throw notFound('artifact', name);
    return { artifact: toArtifactResponse(row), body: await this.storage.open(row.storageKey) };
  }

  private async find(ctx: TenantContext, id: string, permission: Parameters<typeof assertPermission>[1]): Promise<JobEntity> {
    assertPermission(ctx, permission);
    const { workspaceId } = requireWorkspace(ctx);
    const job = await this.jobs.findOne(workspaceId, { id });
    if (!job) throw notFound('job', id);
    return job;
  }
}
