import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

/** A workspace's sandbox-seconds today (UTC) against its daily limit. */
export interface SandboxSecondsUsage {
  /** settings.max_sandbox_seconds_per_day; null = unlimited. */
  limit: number | null;
  /** Whole seconds used so far today (UTC), running sandboxes counted up to now. */
  current: number;
  /** Next UTC midnight (ISO), when the daily count starts again. */
  resetsAt: string;
}

/**
 * Today's UTC day and each sandbox's overlap with it, in seconds: from ready_at (created_at when it never
 * became ready) to stopped_at (now while it has not stopped). `s` is the sandboxes row, `d` the day.
 */
const DAY = `SELECT date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS start,
                    (date_trunc('day', now() AT TIME ZONE 'UTC') + interval '1 day') AT TIME ZONE 'UTC' AS "end"`;
const OVERLAP = `GREATEST(0, EXTRACT(EPOCH FROM LEAST(COALESCE(s.stopped_at, now()), d."end") - GREATEST(COALESCE(s.ready_at, s.created_at), d.start)))`;
const OVERLAPS_TODAY = `(s.stopped_at IS NULL OR s.stopped_at > d.start) AND COALESCE(s.ready_at, s.created_at) < d."end"`;
/** The workspace's limit, or NULL when unset (or not a positive number). */
const CAP = `CASE WHEN jsonb_typeof(w.settings->'max_sandbox_seconds_per_day') = 'number'
                   AND (w.settings->>'max_sandbox_seconds_per_day')::numeric > 0
                  THEN (w.settings->>'max_sandbox_seconds_per_day')::numeric END`;

/** Everything a create checks under the workspace lock, read in one statement. */
export interface SandboxAdmission {
  /** Sandboxes of the workspace in the given (slot-holding) statuses. */
  live: number;
  /** settings.max_sandboxes when it is a positive integer, else null (the server default applies). */
  maxSandboxes: number | null;
  seconds: SandboxSecondsUsage;
}

/**
 * The per-workspace daily sandbox-seconds quota, computed in Postgres from the sandbox rows (no
 * in-memory counters, so every server agrees and a restart loses nothing). A system read: it takes a
 * workspace id and answers for that workspace only; callers check access first.
 */
@Injectable()
export class SandboxQuota {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Sandbox-seconds the workspace used today (UTC). For the usage endpoint. */
  async sandboxSecondsToday(workspaceId: string): Promise<number> {
    return (await this.usage(workspaceId)).current;
  }

  /** Usage and limit in one statement; pass the create transaction's manager to read under its lock. */
  async usage(workspaceId: string, manager: EntityManager = this.dataSource.manager): Promise<SandboxSecondsUsage> {
    const rows: Array<{ cap: string | null; used: string; resets_at: Date }> = await manager.query(
      `WITH d AS (${DAY})
       SELECT (SELECT ${CAP} FROM workspaces w WHERE w.id = $1) AS cap,
              (SELECT COALESCE(SUM(${OVERLAP}), 0) FROM sandboxes s WHERE s.workspace_id = $1 AND ${OVERLAPS_TODAY}) AS used,
              d."end" AS resets_at
         FROM d`,
      [workspaceId],
    );
    const row = rows[0]!;
    return { limit: row.cap === null ? null : Number(row.cap), current: Math.floor(Number(row.used)), resetsAt: new Date(row.resets_at).toISOString() };
  }

  /**
   * The concurrent count, the workspace's own cap on it and today's sandbox-seconds, in one round trip:
   * a create reads them while it holds the workspace lock, so every statement there delays the next create.
   */
  async admission(workspaceId: string, statuses: string[], manager: EntityManager): Promise<SandboxAdmission> {
    const rows: Array<{ cap: string | null; max_sandboxes: string | null; live: string; used: string; resets_at: Date }> = await manager.query(
      `WITH d AS (${DAY})
       SELECT (SELECT ${CAP} FROM workspaces w WHERE w.id = $1) AS cap,
              (SELECT w.settings->>'max_sandboxes' FROM workspaces w WHERE w.id = $1) AS max_sandboxes,
              (SELECT count(*) FROM sandboxes s WHERE s.workspace_id = $1 AND s.status = ANY($2::text[])) AS live,
              (SELECT COALESCE(SUM(${OVERLAP}), 0) FROM sandboxes s WHERE s.workspace_id = $1 AND ${OVERLAPS_TODAY}) AS used,
              d."end" AS resets_at
         FROM d`,
      [workspaceId, statuses],
    );
    const row = rows[0]!;
    const max = Number(row.max_sandboxes);
    return {
      live: Number(row.live),
      maxSandboxes: row.max_sandboxes !== null && Number.isInteger(max) && max > 0 ? max : null,
      seconds: { limit: row.cap === null ? null : Number(row.cap), current: Math.floor(Number(row.used)), resetsAt: new Date(row.resets_at).toISOString() },
    };
  }

  /** Of the given workspaces, those whose daily limit is reached (the reaper ends their sandboxes). */
  async exhausted(workspaceIds: string[]): Promise<Set<string>> {
    if (!workspaceIds.length) return new Set();
    const rows: Array<{ id: string }> = await this.dataSource.query(
      `WITH d AS (${DAY}),
            capped AS (SELECT w.id, ${CAP} AS cap FROM workspaces w WHERE w.id = ANY($1::uuid[]))
       SELECT c.id
         FROM capped c CROSS JOIN d
         JOIN sandboxes s ON s.workspace_id = c.id AND ${OVERLAPS_TODAY}
        WHERE c.cap IS NOT NULL
        GROUP BY c.id, c.cap
       HAVING SUM(${OVERLAP}) >= c.cap`,
      [workspaceIds],
    );
    return new Set(rows.map((r) => r.id));
  }
}
