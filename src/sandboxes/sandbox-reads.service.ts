import { Injectable } from '@nestjs/common';
import { In } from 'typeorm';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { SandboxEntity } from 'src/sandboxes/entities/sandbox.entity';

const LIVE_SANDBOX_STATUSES = ['starting', 'ready'] as const;

export interface SessionSandboxSpend {
  sandboxCount: number;
  sandboxSeconds: number;
}

/**
 * Reads of sandbox rows that features above sandboxes need (the session view), so only
 * SandboxesModule registers the sandbox repository. Callers have checked permissions; every read is
 * scoped to the workspace given.
 */
@Injectable()
export class SandboxReads {
  constructor(@InjectScopedRepository(SandboxEntity) private readonly sandboxes: TenantScopedRepository<SandboxEntity>) {}

  /** Status of each of these sandboxes of the workspace (the environment reaper: a sandbox that ended ends its environment). */
  async statuses(workspaceId: string, ids: string[]): Promise<Map<string, SandboxEntity['status']>> {
    if (!ids.length) return new Map();
    const rows = await this.sandboxes.find(workspaceId, { where: { id: In(ids) }, select: { id: true, status: true } });
    return new Map(rows.map((r) => [r.id, r.status]));
  }

  /** A session's sandboxes, newest first. */
  listForSession(workspaceId: string, sessionId: string, take: number): Promise<SandboxEntity[]> {
    return this.sandboxes.find(workspaceId, { where: { sessionId }, order: { createdAt: 'DESC', id: 'DESC' }, take });
  }

  countLiveForSession(workspaceId: string, sessionId: string): Promise<number> {
    return this.sandboxes.count(workspaceId, { sessionId, status: In([...LIVE_SANDBOX_STATUSES]) });
  }

  async spendForSession(workspaceId: string, sessionId: string): Promise<SessionSandboxSpend> {
    const row = await this.sandboxes
      .queryBuilder(workspaceId, 's')
      .andWhere('s.session_id = :id', { id: sessionId })
      .select('COUNT(*)', 'sandbox_count')
      .addSelect('COALESCE(SUM(GREATEST(0, EXTRACT(EPOCH FROM COALESCE(s.stopped_at, now()) - COALESCE(s.ready_at, s.created_at)))), 0)', 'sandbox_seconds')
      .getRawOne<{ sandbox_count: string; sandbox_seconds: string }>();
    return { sandboxCount: Number(row?.sandbox_count ?? 0), sandboxSeconds: Number(row?.sandbox_seconds ?? 0) };
  }
}
