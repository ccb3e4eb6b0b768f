import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { notFound, OrcaOpsError } from 'src/common/errors/orcaops.error';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { AgentSessionEntity } from 'src/session-links/entities/agent-session.entity';
import { TenantContext } from 'src/tenancy/tenant-context';

const TOUCH_EVERY_MS = 1_000;
const MAX_REMEMBERED_TOUCHES = 10_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface SessionState {
  status: AgentSessionEntity['status'];
  endReason: AgentSessionEntity['endReason'];
}

function ended(id: string, state: SessionState): OrcaOpsError {
  return new OrcaOpsError('conflict', `session ${id} has ended (${state.endReason ?? 'ended'}); open a new one`, {
    session_id: id,
    status: state.status,
    end_reason: state.endReason,
  });
}

/**
 * The session lookup that jobs and sandboxes use when they admit work (below them in the module graph:
 * it knows sessions, not jobs). Another workspace's session answers 404 like a missing one.
 */
@Injectable()
export class SessionLinks {
  private readonly recentTouches = new Map<string, number>();

  constructor(@InjectScopedRepository(AgentSessionEntity) private readonly sessions: TenantScopedRepository<AgentSessionEntity>) {}

  /**
   * The session new work belongs to: the body's `session_id`, else the request's X-OrcaOps-Session
   * header, else none. It must be this workspace's and open (404 / 409); it is touched.
   */
  async resolveForCreate(ctx: TenantContext, workspaceId: string, bodySessionId?: string | null): Promise<string | null> {
    const id = bodySessionId ?? ctx.sessionId ?? null;
    if (!id) return null;
    const state = await this.touch(workspaceId, id);
    if (state.status !== 'open') throw ended(id, state);
    return id.toLowerCase();
  }

  /**
   * Inside the create's transaction, before the insert: holds the session row (FOR SHARE) so an end
   * that runs concurrently either commits first (this answers 409) or waits and then sees the new row
   * in its cleanup.
   */
  async lockOpen(manager: EntityManager, workspaceId: string, id: string | null): Promise<void> {
    if (!id) return;
    const rows: Array<{ status: SessionState['status']; end_reason: SessionState['endReason'] }> = await manager.query(
      'SELECT status, end_reason FROM agent_sessions WHERE id = $1 AND workspace_id = $2 FOR SHARE',
      [id, workspaceId],
    );
    const row = rows[0];
    if (!row) throw notFound('session', id);
    if (row.status !== 'open') throw ended(id, { status: row.status, endReason: row.end_reason });
  }

  /**
   * touch(), skipped when this process touched the same session for the same workspace within
   * TOUCH_EVERY_MS: idle timeouts are at least a minute, so a second's delay in last_activity_at is
   * harmless. Keyed by workspace too, so another tenant's id always goes to the database (404).
   */
  async touchThrottled(workspaceId: string, id: string): Promise<void> {
    const key = `${workspaceId}/${id.toLowerCase()}`;
    const now = Date.now();
    if (now - (this.recentTouches.get(key) ?? 0) < TOUCH_EVERY_MS) return;
    await this.touch(workspaceId, id);
    if (this.recentTouches.size >= MAX_REMEMBERED_TOUCHES) this.recentTouches.clear();
    this.recentTouches.set(key, now);
  }

  /** A request carried the session: it must exist in this workspace (else 404); an open one is touched. */
  async touch(workspaceId: string, id: string): Promise<SessionState> {
    if (!UUID.test(id)) throw notFound('session', id);
    const touched = await this.sessions.update(workspaceId, { id: id.toLowerCase(), status: 'open' }, { lastActivityAt: new Date() });
    if (touched) return { status: 'open', endReason: null };
    const row = await this.sessions.findOne(workspaceId, { id: id.toLowerCase() });
    if (!row) throw notFound('session', id);
    return { status: row.status, endReason: row.endReason };
  }
}
