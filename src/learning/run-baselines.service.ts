import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { notFound } from 'src/common/errors/orcaops.error';
import { decodeCursor, encodeCursor } from 'src/common/pagination/keyset-cursor';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import {
  applyRun,
  detectAnomalies,
  BaselineMeasure,
  BaselineState,
  ESTABLISHED_AFTER_RUNS,
  FinishedRun,
  isEstablished,
  MeasureSummary,
  summariseMeasure,
} from 'src/learning/baseline-stats';
import { AnomalyState, RunAnomalyEntity } from 'src/learning/entities/run-anomaly.entity';
import { RunBaselineEntity } from 'src/learning/entities/run-baseline.entity';
import { requireWorkspace } from 'src/tenancy/tenant-context.factory';
import { TenantContext } from 'src/tenancy/tenant-context';

export interface BaselineView {
  fingerprint: string;
  runs: number;
  succeeded: number;
  failed: number;
  success_rate: number | null;
  recent_success_rate: number | null;
  established: boolean;
  established_after: number;
  duration_ms: MeasureSummary;
  memory_peak_bytes: MeasureSummary;
  cpu_seconds: MeasureSummary;
  last_run_at: string | null;
  since: string;
}

export const BASELINE_PAGE = { default: 50, max: 200 };

/**
 * Baselines per fingerprint (issue 16, part 1): a finished job updates its fingerprint's row in O(1)
 * (one locked read, the pure update of baseline-stats.ts, one write), off the finish path. Read and
 * reset per workspace; nothing of one workspace is visible to another.
 */
@Injectable()
export class RunBaselines {
  private readonly logger = new Logger('Baselines');
  /** Updates in flight (tests and shutdown wait for them). */
  private readonly pending = new Set<Promise<void>>();

  constructor(
    @InjectScopedRepository(RunBaselineEntity) private readonly baselines: TenantScopedRepository<RunBaselineEntity>,
    @InjectScopedRepository(RunAnomalyEntity) private readonly anomalies: TenantScopedRepository<RunAnomalyEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
  ) {}

  /** Off the caller's path: a failure is logged, never thrown (the run itself is already recorded). */
  recordLater(run: FinishedRun): void {
    const done = this.record(run)
      .catch((error: unknown) => this.logger.warn({ msg: 'could not update the baseline', fingerprint: run.fingerprint, err: String(error) }))
      .finally(() => this.pending.delete(done));
    this.pending.add(done);
  }

  /** Resolves once every update started so far has ended. */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  async record(run: FinishedRun): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const found = await this.dataSource.transaction(async (manager) => {
          const repo = this.baselines.withManager(manager);
          const row = await repo
            .queryBuilder(run.workspaceId, 'b')
            .andWhere('b.fingerprint = :fingerprint', { fingerprint: run.fingerprint })
            .setLock('pessimistic_write')
            .getOne();
          const before = stateOf(row);
          // Judged against the baseline before this run: a run never makes its own outlier look normal.
          const anomalies = detectAnomalies(before, run);
          const values = { ...columnsOf(applyRun(before, run)), lastRunAt: run.finishedAt };
          if (row) await repo.update(run.workspaceId, { id: row.id }, values);
          else await repo.insert(run.workspaceId, { id: randomUUID(), fingerprint: run.fingerprint, ...values });
          const rows = anomalies.map(({ kind, severity, ...evidence }) => ({ id: randomUUID(), fingerprint: run.fingerprint, jobId: run.jobId ?? null, kind, severity, evidence }));
          await this.anomalies.withManager(manager).insertMany(run.workspaceId, rows);
          return rows;
        });
        for (const anomaly of found) {
          await this.audit.recordSystem(run.workspaceId, {
            action: 'anomaly.detected',
            resourceType: 'anomaly',
            resourceId: anomaly.id,
            details: { fingerprint: run.fingerprint, job_id: anomaly.jobId, kind: anomaly.kind, severity: anomaly.severity, ...anomaly.evidence },
          });
        }
        return;
      } catch (error) {
        // Two first runs of a fingerprint raced to create its row: the loser applies its run to the winner's.
        if ((error as { code?: string }).code !== '23505' || attempt > 0) throw error;
      }
    }
  }

  async list(ctx: TenantContext, cursor: string | undefined, limit = BASELINE_PAGE.default): Promise<{ items: BaselineView[]; next_cursor: string | null }> {
    const { workspaceId } = requireWorkspace(ctx);
    const take = Math.min(limit, BASELINE_PAGE.max);
    const qb = this.baselines.queryBuilder(workspaceId, 'b');
    if (cursor) {
      const [at, id] = decodeCursor(cursor);
      qb.andWhere('(b.updated_at < :at OR (b.updated_at = :at AND b.id < :id))', { at, id });
    }
    const rows = await qb.orderBy('b.updated_at', 'DESC').addOrderBy('b.id', 'DESC').take(take + 1).getMany();
    const page = rows.slice(0, take);
    const last = page[page.length - 1];
    return { items: page.map(viewOf), next_cursor: rows.length > take && last ? encodeCursor(last.updatedAt, last.id) : null };
  }

  async get(ctx: TenantContext, fingerprint: string): Promise<BaselineView> {
    const { workspaceId } = requireWorkspace(ctx);
    const row = await this.baselines.findOne(workspaceId, { fingerprint });
    if (!row) throw notFound('baseline', fingerprint);
    return viewOf(row);
  }

  /** Forgets what was learnt (e.g. after a deliberate change of the job): the next run starts a new baseline. */
  async reset(ctx: TenantContext, fingerprint: string): Promise<void> {
    const { workspaceId } = requireWorkspace(ctx);
    const row = await this.baselines.findOne(workspaceId, { fingerprint });
    if (!row) throw notFound('baseline', fingerprint);
    await this.baselines.delete(workspaceId, { id: row.id });
    await this.audit.record(ctx, { action: 'baseline.reset', resourceType: 'baseline', resourceId: fingerprint, details: { runs: row.runs } });
  }

  /** Anomalies of this workspace, newest first; `state` filters (e.g. only the open ones). */
  async listAnomalies(
    ctx: TenantContext,
    filter: { state?: AnomalyState; cursor?: string; limit?: number },
  ): Promise<{ items: AnomalyView[]; next_cursor: string | null }> {
    const { workspaceId } = requireWorkspace(ctx);
    const take = Math.min(filter.limit ?? BASELINE_PAGE.default, BASELINE_PAGE.max);
    const qb = this.anomalies.queryBuilder(workspaceId, 'a');
    if (filter.state) qb.andWhere('a.state = :state', { state: filter.state });
    if (filter.cursor) {
      const [at, id] = decodeCursor(filter.cursor);
      qb.andWhere('(a.created_at < :at OR (a.created_at = :at AND a.id < :id))', { at, id });
    }
    const rows = await qb.orderBy('a.created_at', 'DESC').addOrderBy('a.id', 'DESC').take(take + 1).getMany();
    const page = rows.slice(0, take);
    const last = page[page.length - 1];
    return { items: page.map(anomalyView), next_cursor: rows.length > take && last ? encodeCursor(last.createdAt, last.id) : null };
  }

  /** An admin acknowledges or resolves an anomaly (or reopens it); audited. */
  async setAnomalyState(ctx: TenantContext, id: string, state: AnomalyState): Promise<AnomalyView> {
    const { workspaceId } = requireWorkspace(ctx);
    const row = await this.anomalies.findOne(workspaceId, { id });
    if (!row) throw notFound('anomaly', id);
    const stateChangedAt = new Date();
    await this.anomalies.update(workspaceId, { id }, { state, stateChangedAt });
    await this.audit.record(ctx, { action: 'anomaly.state', resourceType: 'anomaly', resourceId: id, details: { from: row.state, to: state } });
    return anomalyView(Object.assign(row, { state, stateChangedAt }));
  }
}

export interface AnomalyView {
  id: string;
  fingerprint: string;
  job_id: string | null;
  kind: string;
  severity: string;
  state: AnomalyState;
  evidence: RunAnomalyEntity['evidence'];
  detected_at: string;
  state_changed_at: string | null;
}

function anomalyView(row: RunAnomalyEntity): AnomalyView {
  return {
    id: row.id,
    fingerprint: row.fingerprint,
    job_id: row.jobId,
    kind: row.kind,
    severity: row.severity,
    state: row.state,
    evidence: row.evidence,
    detected_at: row.createdAt.toISOString(),
    state_changed_at: row.stateChangedAt?.toISOString() ?? null,
  };
}

function stateOf(row: RunBaselineEntity | null): BaselineState {
  const measure = (samples: number | undefined, ewma: number | null | undefined, sketch: Uint8Array | null | undefined) => ({
    samples: samples ?? 0,
    ewma: ewma ?? null,
    sketch: sketch ?? null,
  });
  return {
    runs: row?.runs ?? 0,
    succeeded: row?.succeeded ?? 0,
    failed: row?.failed ?? 0,
    successEwma: row?.successEwma ?? null,
    measures: {
      duration: measure(row?.durationSamples, row?.durationEwmaMs, row?.durationSketch),
      memory: measure(row?.memorySamples, row?.memoryEwmaBytes, row?.memorySketch),
      cpu: measure(row?.cpuSamples, row?.cpuEwmaSeconds, row?.cpuSketch),
    },
  };
}

function columnsOf(state: BaselineState): Partial<RunBaselineEntity> {
  const { duration, memory, cpu } = state.measures;
  return {
    runs: state.runs,
    succeeded: state.succeeded,
    failed: state.failed,
    successEwma: state.successEwma,
    durationSamples: duration.samples,
    durationEwmaMs: duration.ewma,
    durationSketch: duration.sketch,
    memorySamples: memory.samples,
    memoryEwmaBytes: memory.ewma,
    memorySketch: memory.sketch,
    cpuSamples: cpu.samples,
    cpuEwmaSeconds: cpu.ewma,
    cpuSketch: cpu.sketch,
  };
}

const rounded = (value: number | null): number | null => (value === null ? null : Math.round(value * 1000) / 1000);

function viewOf(row: RunBaselineEntity): BaselineView {
  const state = stateOf(row);
  const summary = (measure: BaselineMeasure): MeasureSummary => summariseMeasure(state.measures[measure]);
  return {
    fingerprint: row.fingerprint,
    runs: row.runs,
    succeeded: row.succeeded,
    failed: row.failed,
    success_rate: row.runs ? rounded(row.succeeded / row.runs) : null,
    recent_success_rate: rounded(row.successEwma),
    established: isEstablished(state),
    established_after: ESTABLISHED_AFTER_RUNS,
    duration_ms: summary('duration'),
    memory_peak_bytes: summary('memory'),
    cpu_seconds: summary('cpu'),
    last_run_at: row.lastRunAt?.toISOString() ?? null,
    since: row.createdAt.toISOString(),
  };
}
