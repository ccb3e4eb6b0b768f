import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { Quota, QUOTA_DEFINITIONS, QUOTAS } from 'src/quotas/quota-model';

export type LimitSource = 'workspace' | 'organisation' | 'default';

export interface EffectiveLimit {
  /** null = unlimited */
  limit: number | null;
  source: LimitSource;
}

export type EffectiveLimits = Record<Quota, EffectiveLimit>;

/**
 * The quota_limits table: organisation defaults (workspace_id NULL) and workspace overrides, the one
 * place limits are stored. A workspace's limit is its override, else the organisation default, else the
 * built-in value. System access by workspace id: callers check permissions first.
 */
@Injectable()
export class QuotaLimits {
  /** Every quota's limit for the workspace; null workspaceId = the organisation defaults. */
  async effective(manager: EntityManager, workspaceId: string | null): Promise<EffectiveLimits> {
    const rows: Array<{ workspace_id: string | null; quota: Quota; limit_value: string | null }> = await manager.query(
      `SELECT workspace_id, quota, limit_value FROM quota_limits WHERE workspace_id IS NULL OR workspace_id = $1`,
      [workspaceId],
    );
    const result = {} as EffectiveLimits;
    for (const quota of QUOTAS) result[quota] = { limit: QUOTA_DEFINITIONS[quota].builtIn, source: 'default' };
    // Organisation rows first, then the workspace's own, so an override wins.
    for (const row of [...rows].sort((a, b) => Number(a.workspace_id !== null) - Number(b.workspace_id !== null))) {
      if (!(row.quota in result)) continue;
      result[row.quota] = { limit: row.limit_value === null ? null : Number(row.limit_value), source: row.workspace_id ? 'workspace' : 'organisation' };
    }
    return result;
  }

  /** Upserts limits (null = unlimited) and deletes the reset ones, in the caller's transaction. */
  async set(manager: EntityManager, workspaceId: string | null, limits: Partial<Record<Quota, number | null>>, reset: Quota[], by: string): Promise<void> {
    const conflict = workspaceId === null ? '(quota) WHERE workspace_id IS NULL' : '(workspace_id, quota) WHERE workspace_id IS NOT NULL';
    for (const [quota, limit] of Object.entries(limits)) {
      if (limit === undefined) continue;
      await manager.query(
        `INSERT INTO quota_limits (id, workspace_id, quota, limit_value, updated_by) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT ${conflict} DO UPDATE SET limit_value = EXCLUDED.limit_value, updated_by = EXCLUDED.updated_by, updated_at = now()`,
        [randomUUID(), workspaceId, quota, limit, by],
      );
    }
    if (reset.length) {
      await manager.query(`DELETE FROM quota_limits WHERE workspace_id IS NOT DISTINCT FROM $1 AND quota = ANY($2)`, [workspaceId, reset]);
    }
  }
}
