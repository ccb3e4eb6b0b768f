import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { periodBounds, Quota, QuotaPeriod, utcDay } from 'src/quotas/quota-model';

/** Job states that hold a concurrent_jobs slot (awaiting_approval once approvals exist). */
const ACTIVE_JOB_STATES = ['queued', 'running', 'awaiting_approval'];
/** Sandbox states that hold a concurrent_sandboxes slot. */
const LIVE_SANDBOX_STATES = ['starting', 'ready', 'stopping'];
/** Environment states that hold their services' reservation (src/environments/environment-model.ts). */
const RESERVING_ENVIRONMENT_STATES = ['starting', 'ready', 'stopping'];
/** Service reservations: running workflow instances' and live environments' (both run through ServiceContainers). */
const SERVICE_RESERVATIONS = (column: 'service_containers' | 'service_memory_mb'): string => `
  SELECT (SELECT COALESCE(SUM(${column}), 0) FROM workflow_instances WHERE workspace_id = $1 AND status = 'running')
       + (SELECT COALESCE(SUM(${column}), 0) FROM environments WHERE workspace_id = $1 AND status = ANY($2)) AS n`;

/** Each sandbox's overlap with [$2, $3) in seconds, from ready_at (created_at if never ready) to stopped_at ($4 = now while live). */
const SANDBOX_SECONDS = `
  SELECT COALESCE(SUM(GREATEST(0, EXTRACT(EPOCH FROM
           LEAST(COALESCE(s.stopped_at, $4::timestamptz), $3::timestamptz) - GREATEST(COALESCE(s.ready_at, s.created_at), $2::timestamptz)))), 0) AS n
    FROM sandboxes s
   WHERE s.workspace_id = $1 AND (s.stopped_at IS NULL OR s.stopped_at > $2::timestamptz) AND COALESCE(s.ready_at, s.created_at) < $3::timestamptz`;

/**
 * Current use of each quota, computed in Postgres: concurrency and storage from the authoritative rows
 * (jobs, sandboxes, job_artifacts), jobs and CPU-seconds from the daily ledger, sandbox-seconds from the
 * sandbox rows' lifetimes. Nothing is held in memory, so every server agrees and a restart loses nothing.
 * System reads by workspace id: callers check access first.
 */
@Injectable()
export class QuotaUsage {
  async current(manager: EntityManager, workspaceId: string, quota: Quota, now: Date): Promise<number> {
    switch (quota) {
      case 'concurrent_jobs':
        return this.scalar(manager, `SELECT count(*) AS n FROM jobs WHERE workspace_id = $1 AND status = ANY($2)`, [workspaceId, ACTIVE_JOB_STATES]);
      case 'running_jobs':
        return this.scalar(manager, `SELECT count(*) AS n FROM jobs WHERE workspace_id = $1 AND status = 'running'`, [workspaceId]);
      case 'concurrent_sandboxes':
        return this.scalar(manager, `SELECT count(*) AS n FROM sandboxes WHERE workspace_id = $1 AND status = ANY($2)`, [workspaceId, LIVE_SANDBOX_STATES]);
      case 'jobs_per_day':
        return this.ledger(manager, workspaceId, 'jobs_created', 'day', now);
      case 'cpu_seconds_per_day':
        return Math.floor(await this.ledger(manager, workspaceId, 'cpu_seconds', 'day', now));
      case 'cpu_seconds_per_month':
        return Math.floor(await this.ledger(manager, workspaceId, 'cpu_seconds', 'month', now));
      case 'sandbox_seconds_per_day':
        return this.sandboxSeconds(manager, workspaceId, 'day', now);
      case 'sandbox_seconds_per_month':
        return this.sandboxSeconds(manager, workspaceId, 'month', now);
      case 'artifact_storage_bytes':
        return this.scalar(manager, `SELECT COALESCE(SUM(size_bytes), 0) AS n FROM job_artifacts WHERE workspace_id = $1`, [workspaceId]);
      case 'workflow_service_containers':
        // Reserved on the instance (or environment) row at admission, released at teardown; a crashed runner's instance stops counting once recovered.
        return this.scalar(manager, SERVICE_RESERVATIONS('service_containers'), [workspaceId, RESERVING_ENVIRONMENT_STATES]);
      case 'workflow_service_memory_mb':
        return this.scalar(manager, SERVICE_RESERVATIONS('service_memory_mb'), [workspaceId, RESERVING_ENVIRONMENT_STATES]);
      case 'workflow_sources':
        return this.scalar(manager, `SELECT count(*) AS n FROM workflow_sources WHERE workspace_id = $1`, [workspaceId]);
      case 'workflow_source_bytes':
        return this.scalar(manager, `SELECT COALESCE(SUM(size_bytes), 0) AS n FROM workflow_sources WHERE workspace_id = $1`, [workspaceId]);
    }
  }

  /** Counts one admitted job in today's ledger row (call inside the admitting transaction). */
  async addJob(manager: EntityManager, workspaceId: string, now: Date): Promise<void> {
    await manager.query(
      `INSERT INTO quota_usage_days (workspace_id, day, jobs_created) VALUES ($1, $2, 1)
       ON CONFLICT (workspace_id, day) DO UPDATE SET jobs_created = quota_usage_days.jobs_created + 1`,
      [workspaceId, utcDay(now)],
    );
  }

  /** Adds a finished job's measured CPU-seconds to the ledger row of the day it finished. */
  async addCpuSeconds(manager: EntityManager, workspaceId: string, seconds: number, now: Date): Promise<void> {
    await manager.query(
      `INSERT INTO quota_usage_days (workspace_id, day, cpu_seconds) VALUES ($1, $2, $3)
       ON CONFLICT (workspace_id, day) DO UPDATE SET cpu_seconds = quota_usage_days.cpu_seconds + EXCLUDED.cpu_seconds`,
      [workspaceId, utcDay(now), seconds],
    );
  }

  private ledger(manager: EntityManager, workspaceId: string, column: 'jobs_created' | 'cpu_seconds', period: QuotaPeriod, now: Date): Promise<number> {
    const { start, end } = periodBounds(period, now);
    return this.scalar(
      manager,
      `SELECT COALESCE(SUM(${column}), 0) AS n FROM quota_usage_days WHERE workspace_id = $1 AND day >= $2::date AND day < $3::date`,
      [workspaceId, utcDay(start), utcDay(end)],
    );
  }

  private async sandboxSeconds(manager: EntityManager, workspaceId: string, period: QuotaPeriod, now: Date): Promise<number> {
    const { start, end } = periodBounds(period, now);
    return Math.floor(await this.scalar(manager, SANDBOX_SECONDS, [workspaceId, start, end, now]));
  }

  private async scalar(manager: EntityManager, sql: string, params: unknown[]): Promise<number> {
    const rows: Array<{ n: string | number }> = await manager.query(sql, params);
    return Number(rows[0]?.n ?? 0);
  }
}
