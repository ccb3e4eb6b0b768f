import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { KeyedGate } from 'src/common/keyed-gate';
import { invalidField, notFound, OrcaOpsError } from 'src/common/errors/orcaops.error';
import { AdmissionRefusalAudit } from 'src/quotas/admission-refusal-audit';
import { QuotaLimitResponseDto, QuotaLimitsResponseDto, SetQuotasDto, WorkspaceUsageResponseDto } from 'src/quotas/dto/quota.dto';
import { QuotaClock } from 'src/quotas/quota-clock';
import { EffectiveLimits, QuotaLimits } from 'src/quotas/quota-limits';
import {
  JOB_ADMISSION_QUOTAS,
  WORKFLOW_SERVICE_ADMISSION_QUOTAS,
  WORKFLOW_SOURCE_ADMISSION_QUOTAS,
  LEGACY_SETTING_QUOTAS,
  LegacyQuotaSetting,
  periodBounds,
  Quota,
  QUOTA_DEFINITIONS,
  QUOTAS,
  SANDBOX_ADMISSION_QUOTAS,
} from 'src/quotas/quota-model';
import { QuotaUsage } from 'src/quotas/quota-usage';
import { assertPermission } from 'src/tenancy/assert-permission';
import { TenantContext } from 'src/tenancy/tenant-context';

export interface JobDemand {
  /** The job collects artifacts, so it needs room under artifact_storage_bytes. */
  collectsArtifacts: boolean;
}

function resetsAt(quota: Quota, now: Date): string | null {
  const period = QUOTA_DEFINITIONS[quota].period;
  return period ? periodBounds(period, now).end.toISOString() : null;
}

const EXCEEDED_MESSAGES: Record<Quota, (limit: number) => string> = {
  concurrent_jobs: (l) => `This workspace may have at most ${l} unfinished jobs; wait for one to finish or cancel one`,
  running_jobs: (l) => `This workspace runs at most ${l} jobs at once`,
  jobs_per_day: (l) => `This workspace submitted its ${l} jobs for today (UTC)`,
  cpu_seconds_per_day: (l) => `This workspace used its ${l} CPU-seconds for today (UTC)`,
  cpu_seconds_per_month: (l) => `This workspace used its ${l} CPU-seconds for this month (UTC)`,
  concurrent_sandboxes: (l) => `This workspace may run at most ${l} sandboxes at once; delete one first`,
  sandbox_seconds_per_day: (l) => `This workspace used its ${l} sandbox-seconds for today (UTC)`,
  sandbox_seconds_per_month: (l) => `This workspace used its ${l} sandbox-seconds for this month (UTC)`,
  artifact_storage_bytes: (l) => `This workspace stores its ${l} bytes of artifacts; delete old jobs first`,
  workflow_service_containers: (l) => `This workspace runs at most ${l} workflow service containers at once (quota workflow_service_containers)`,
  workflow_service_memory_mb: (l) => `This workspace's workflow service containers may use at most ${l} MiB of memory at once (quota workflow_service_memory_mb)`,
  workflow_sources: (l) => `This workspace stores at most ${l} workflow sources (quota workflow_sources); unused ones are removed after 7 days`,
  workflow_source_bytes: (l) => `This workspace stores at most ${l} bytes of workflow sources (quota workflow_source_bytes); unused ones are removed after 7 days`,
};

/** What one admission adds to a quota, where it is more than one unit (bytes, MiB, several containers). */
export type QuotaDemand = Partial<Record<Quota, number>>;

type AdmissionKind = 'job' | 'sandbox' | 'workflow_source' | 'workflow_service';

/**
 * Limits and accounting for every kind of work. Admission runs in the transaction that inserts the job
 * or sandbox row, under a per-workspace advisory lock: concurrent admissions in one workspace (on any
 * server) take turns, each counts what the previous ones committed, so none can overshoot a limit.
 */
/**
 * Admissions of one workspace running at once in this process; more wait in memory (up to
 * ADMISSION_QUEUE, then 429). They would only wait for the workspace's advisory lock anyway, and there
 * each would hold one of the database connections every tenant shares: a tenant's burst of submits
 * must queue behind its own admissions, not everyone's requests.
 */
export const ADMISSIONS_PER_WORKSPACE = 2;
export const ADMISSION_QUEUE = 256;

@Injectable()
export class QuotasService {
  private readonly admissions = new KeyedGate(ADMISSIONS_PER_WORKSPACE, ADMISSION_QUEUE, 'admissions');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly limits: QuotaLimits,
    private readonly usage: QuotaUsage,
    private readonly clock: QuotaClock,
    private readonly audit: AuditService,
    private readonly refusals: AdmissionRefusalAudit,
  ) {}

  /** Checks the job quotas, then runs `insert` in the same transaction and counts the job. 429 quota_exceeded (audited) when over. */
  admitJob<T>(
    ctx: TenantContext,
    workspaceId: string,
    demand: JobDemand,
    insert: (manager: EntityManager, admitted: { runningJobsCap: number }) => Promise<T>,
  ): Promise<T> {
    const checks = demand.collectsArtifacts ? [...JOB_ADMISSION_QUOTAS, 'artifact_storage_bytes' as const] : JOB_ADMISSION_QUOTAS;
    return this.admit(ctx, workspaceId, 'job', checks, async (manager, now, limits) => {
      // The running-jobs cap rides along (already read): a job the runner can start at once is claimed at insert.
      const result = await insert(manager, { runningJobsCap: limits.running_jobs.limit ?? Infinity });
      await this.usage.addJob(manager, workspaceId, now);
      return result;
    });
  }

  /** Checks the sandbox quotas, then runs `insert` in the same transaction. */
  admitSandbox<T>(ctx: TenantContext, workspaceId: string, insert: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.admit(ctx, workspaceId, 'sandbox', SANDBOX_ADMISSION_QUOTAS, (manager) => insert(manager));
  }

  /** An uploaded workflow source: its count and bytes are checked, then `insert` runs in the same transaction. */
  admitWorkflowSource<T>(ctx: TenantContext, workspaceId: string, bytes: number, insert: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.admit(ctx, workspaceId, 'workflow_source', WORKFLOW_SOURCE_ADMISSION_QUOTAS, (manager) => insert(manager), { demand: { workflow_source_bytes: bytes } });
  }

  /**
   * A workflow instance's service containers, before any starts: the CPU-seconds quotas and the
   * service caps are checked and `reserve` records the reservation in the same transaction. A refusal
   * is audited only when `audit` (a caller that waits and retries audits its final answer).
   */
  admitWorkflowServices(
    ctx: TenantContext,
    workspaceId: string,
    demand: { containers: number; memoryMb: number },
    reserve: (manager: EntityManager) => Promise<void>,
    audit = true,
  ): Promise<void> {
    return this.admit(ctx, workspaceId, 'workflow_service', WORKFLOW_SERVICE_ADMISSION_QUOTAS, (manager) => reserve(manager), {
      demand: { workflow_service_containers: demand.containers, workflow_service_memory_mb: demand.memoryMb },
      audit,
    });
  }

  /** A finished job's measured CPU-seconds, in the transaction that records its end. */
  async recordJobCpu(manager: EntityManager, workspaceId: string, cpuSeconds: number | null): Promise<void> {
    if (cpuSeconds && cpuSeconds > 0) await this.usage.addCpuSeconds(manager, workspaceId, cpuSeconds, this.clock.now());
  }

  /**
   * The workspace's admission lock, to the end of `manager`'s transaction. Admissions hold it while
   * they count and insert; the job runner takes it to claim against the running-jobs cap, so a job
   * claimed at admission and one claimed from the queue are counted against each other.
   */
  async lockWorkspace(manager: EntityManager, workspaceId: string): Promise<void> {
    await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`quota:${workspaceId}`]);
  }

  /** Jobs of the workspace running now, as the running-jobs cap counts them (in the caller's transaction). */
  runningJobs(manager: EntityManager, workspaceId: string): Promise<number> {
    return this.usage.current(manager, workspaceId, 'running_jobs', this.clock.now());
  }

  /** The runner's per-workspace cap on running jobs (Infinity when unlimited). */
  async runningJobsCap(manager: EntityManager, workspaceId: string): Promise<number> {
    return (await this.limits.effective(manager, workspaceId)).running_jobs.limit ?? Infinity;
  }

  /** Of the given workspaces, those whose daily or monthly sandbox-seconds are used up (the reaper ends their sandboxes). */
  async sandboxSecondsExhausted(workspaceIds: string[]): Promise<Set<string>> {
    const exhausted = new Set<string>();
    const now = this.clock.now();
    const manager = this.dataSource.manager;
    for (const workspaceId of workspaceIds) {
      const limits = await this.limits.effective(manager, workspaceId);
      for (const quota of ['sandbox_seconds_per_day', 'sandbox_seconds_per_month'] as const) {
        const limit = limits[quota].limit;
        if (limit !== null && (await this.usage.current(manager, workspaceId, quota, now)) >= limit) exhausted.add(workspaceId);
      }
    }
    return exhausted;
  }

  /** GET /v1/workspaces/:id/usage: live use of every quota against its limit. */
  async workspaceUsage(ctx: TenantContext, workspaceId: string): Promise<WorkspaceUsageResponseDto> {
    assertPermission(ctx, 'workspace:read');
    await this.assertVisible(ctx, workspaceId);
    const now = this.clock.now();
    const manager = this.dataSource.manager;
    const limits = await this.limits.effective(manager, workspaceId);
    const items = [];
    for (const quota of QUOTAS) {
      const current = await this.usage.current(manager, workspaceId, quota, now);
      const { limit } = limits[quota];
      items.push({ ...this.limitView(quota, limits), current, remaining: limit === null ? null : Math.max(0, limit - current), resets_at: resetsAt(quota, now) });
    }
    return { workspace_id: workspaceId, measured_at: now.toISOString(), items };
  }

  /** Limits of a workspace (workspace members) or the organisation defaults (null; organisation admins). */
  async getLimits(ctx: TenantContext, workspaceId: string | null): Promise<QuotaLimitsResponseDto> {
    if (workspaceId === null) assertPermission(ctx, 'org:admin');
    else {
      assertPermission(ctx, 'workspace:read');
      await this.assertVisible(ctx, workspaceId);
    }
    const limits = await this.limits.effective(this.dataSource.manager, workspaceId);
    return { workspace_id: workspaceId, items: QUOTAS.map((q) => this.limitView(q, limits)) };
  }

  /** Sets or resets limits (organisation admins), audited in the same transaction. */
  async setLimits(ctx: TenantContext, workspaceId: string | null, dto: SetQuotasDto): Promise<QuotaLimitsResponseDto> {
    assertPermission(ctx, 'org:admin');
    if (workspaceId !== null) await this.assertVisible(ctx, workspaceId);
    const limits = Object.fromEntries(Object.entries(dto.limits ?? {}).filter(([, v]) => v !== undefined)) as Partial<Record<Quota, number | null>>;
    const reset = dto.reset ?? [];
    const both = reset.filter((q) => q in limits);
    if (both.length) {
      throw invalidField('reset', `both set and reset: ${both.join(', ')}`);
    }
    await this.dataSource.transaction(async (manager) => {
      await this.limits.set(manager, workspaceId, limits, reset, ctx.principal.tokenId);
      await this.audit.record(
        ctx,
        { action: 'quota.update', resourceType: workspaceId ? 'workspace' : 'organisation', resourceId: workspaceId ?? undefined, workspaceId, details: { limits, reset } },
        manager,
      );
    });
    return this.getLimits(ctx, workspaceId);
  }

  /**
   * The pre-quota workspace settings keys (max_concurrent_jobs, max_sandboxes,
   * max_sandbox_seconds_per_day), written as workspace overrides in the caller's transaction.
   * WorkspacesService has already checked that the caller is an organisation admin and audits the change.
   */
  async applyLegacySettings(manager: EntityManager, ctx: TenantContext, workspaceId: string, settings: Partial<Record<LegacyQuotaSetting, number | null>>): Promise<void> {
    const limits: Partial<Record<Quota, number | null>> = {};
    for (const [key, quota] of Object.entries(LEGACY_SETTING_QUOTAS) as Array<[LegacyQuotaSetting, Quota]>) {
      if (settings[key] !== undefined) limits[quota] = settings[key];
    }
    await this.limits.set(manager, workspaceId, limits, [], ctx.principal.tokenId);
  }

  private async admit<T>(
    ctx: TenantContext,
    workspaceId: string,
    kind: AdmissionKind,
    checks: readonly Quota[],
    insert: (manager: EntityManager, now: Date, limits: EffectiveLimits) => Promise<T>,
    options: { demand?: QuotaDemand; audit?: boolean } = {},
  ): Promise<T> {
    try {
      return await this.admissions.run(workspaceId, () => this.dataSource.transaction(async (manager) => {
        // One lock per workspace for every admission: held to commit, so the next admission counts this one.
        await this.lockWorkspace(manager, workspaceId);
        const now = this.clock.now();
        const limits = await this.limits.effective(manager, workspaceId);
        for (const quota of checks) {
          const { limit } = limits[quota];
          if (limit === null) continue;
          const current = await this.usage.current(manager, workspaceId, quota, now);
          // One unit unless the demand says more: `current >= limit` for a job, `current + bytes > limit` for a source.
          const wanted = options.demand?.[quota] ?? 1;
          if (wanted > 0 && current + wanted > limit) throw this.exceeded(quota, limit, current, now, options.demand?.[quota]);
        }
        return insert(manager, now, limits);
      }));
    } catch (error) {
      if (error instanceof OrcaOpsError && error.code === 'quota_exceeded' && options.audit !== false) {
        await this.refusals.record({ ctx, workspaceId, kind, details: { ...(error.details as Record<string, unknown>) } });
      }
      throw error;
    }
  }

  private exceeded(quota: Quota, limit: number, current: number, now: Date, requested?: number): OrcaOpsError {
    const resets = resetsAt(quota, now);
    return new OrcaOpsError('quota_exceeded', `${EXCEEDED_MESSAGES[quota](limit)}${resets ? `; the count resets at ${resets}` : ''}`, {
      quota,
      limit,
      current,
      ...(requested !== undefined ? { requested } : {}),
      ...(resets ? { resets_at: resets } : {}),
    });
  }

  private limitView(quota: Quota, limits: EffectiveLimits): QuotaLimitResponseDto {
    const def = QUOTA_DEFINITIONS[quota];
    return { quota, limit: limits[quota].limit, source: limits[quota].source, unit: def.unit, period: def.period ?? null, description: def.description };
  }

  /** Same answer as WorkspacesService.findAccessible: another tenant's workspace is a 404 like a missing one. */
  private async assertVisible(ctx: TenantContext, workspaceId: string): Promise<void> {
    if (ctx.principal.kind === 'workspace' && ctx.principal.workspaceId !== workspaceId) throw notFound('workspace', workspaceId);
    const rows: unknown[] = await this.dataSource.query('SELECT 1 FROM workspaces WHERE id = $1', [workspaceId]);
    if (!rows.length) throw notFound('workspace', workspaceId);
  }
}
