import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { Brackets, DataSource } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { notFound } from 'src/common/errors/orcaops.error';
import { decodeCursor, encodeCursor } from 'src/common/pagination/keyset-cursor';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { JobsService } from 'src/jobs/jobs.service';
import { SandboxesService } from 'src/sandboxes/sandboxes.service';
import { OpenSessionDto, SessionListResponseDto, SessionResponseDto, SessionViewResponseDto } from 'src/sessions/dto/session.dto';
import { AgentSessionEntity } from 'src/session-links/entities/agent-session.entity';
import { SessionView } from 'src/sessions/session-view.service';
import { DEFAULT_SESSION_IDLE_SECONDS, SessionStatus } from 'src/session-links/session-model';
import { toSessionResponse } from 'src/sessions/sessions.mappers';
import { assertPermission } from 'src/tenancy/assert-permission';
import { hasPermission, TenantContext } from 'src/tenancy/tenant-context';
import { requireWorkspace } from 'src/tenancy/tenant-context.factory';
import { WorkflowsService } from 'src/workflows/workflows.service';

export interface ListSessionsFilter {
  status?: SessionStatus;
  agentType?: string;
  since?: Date;
  until?: Date;
  cursor?: string;
  limit: number;
}

/** Job statuses that keep a session from idling out (its client is waiting on them). */
const ACTIVE_JOB_STATUSES = ['queued', 'running'];

/**
 * Agent sessions as every front end sees them: open, list, view (what it created and spent), end
 * (optionally stopping its sandboxes and cancelling its jobs through their services), and idle expiry.
 * Reads jobs, sandboxes and workflow runs for the view through SessionView; changes them only
 * through JobsService, SandboxesService and WorkflowsService.
 */
@Injectable()
export class SessionsService {
  private readonly logger = new Logger('Sessions');

  constructor(
    @InjectScopedRepository(AgentSessionEntity) private readonly sessions: TenantScopedRepository<AgentSessionEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly view: SessionView,
    private readonly jobs: JobsService,
    private readonly sandboxes: SandboxesService,
    private readonly workflows: WorkflowsService,
    private readonly audit: AuditService,
  ) {}

  async open(ctx: TenantContext, dto: OpenSessionDto): Promise<SessionResponseDto> {
    assertPermission(ctx, 'session:create');
    const { workspaceId } = requireWorkspace(ctx);
    const id = randomUUID();
    const session = await this.dataSource.transaction(async (manager) => {
      const saved = await this.sessions.withManager(manager).insert(workspaceId, {
        id,
        agentType: dto.agent_type,
        name: dto.name ?? null,
        metadata: dto.metadata ?? {},
        status: 'open',
        idleTimeoutSeconds: dto.idle_timeout_seconds ?? DEFAULT_SESSION_IDLE_SECONDS,
        cleanupOnIdle: dto.cleanup_on_idle ?? true,
        createdBy: ctx.principal.tokenId,
        lastActivityAt: new Date(),
        endedAt: null,
        endReason: null,
      });
      await this.audit.record(ctx, { action: 'session.open', resourceType: 'session', resourceId: id, sessionId: id, details: { agent_type: dto.agent_type, name: dto.name ?? null } }, manager);
      return saved;
    });
    return toSessionResponse(session);
  }

  async list(ctx: TenantContext, filter: ListSessionsFilter): Promise<SessionListResponseDto> {
    assertPermission(ctx, 'session:read');
    const { workspaceId } = requireWorkspace(ctx);
    const qb = this.sessions.queryBuilder(workspaceId, 's');
    if (filter.status) qb.andWhere('s.status = :status', { status: filter.status });
    if (filter.agentType) qb.andWhere('s.agent_type = :agentType', { agentType: filter.agentType });
    if (filter.since) qb.andWhere('s.created_at >= :since', { since: filter.since });
    if (filter.until) qb.andWhere('s.created_at < :until', { until: filter.until });
    if (filter.cursor) {
      const [at, cid] = decodeCursor(filter.cursor);
      qb.andWhere(new Brackets((w) => w.where('s.created_at < :at', { at }).orWhere('s.created_at = :at AND s.id < :cid', { at, cid })));
    }
    const rows = await qb.orderBy('s.created_at', 'DESC').addOrderBy('s.id', 'DESC').take(filter.limit + 1).getMany();
    const page = rows.slice(0, filter.limit);
    const last = page[page.length - 1];
    return { items: page.map(toSessionResponse), next_cursor: rows.length > filter.limit && last ? encodeCursor(last.createdAt, last.id) : null };
  }

  /** The session, what it created (newest first) and what that spent. */
  async get(ctx: TenantContext, id: string): Promise<SessionViewResponseDto> {
    assertPermission(ctx, 'session:read');
    const { workspaceId } = requireWorkspace(ctx);
    return this.view.of(workspaceId, await this.find(workspaceId, id));
  }

  /**
   * open → ended (reason `ended`), audited. With cleanup, its live sandboxes are stopped (exit reason
   * session_ended), its running workflow runs and unfinished jobs cancelled, through their services and with the caller's
   * permissions. Ending an ended session changes nothing but still cleans up when asked.
   */
  async end(ctx: TenantContext, id: string, cleanup: boolean): Promise<SessionViewResponseDto> {
    assertPermission(ctx, 'session:create');
    const { workspaceId } = requireWorkspace(ctx);
    await this.find(workspaceId, id);
    if (cleanup) await this.assertMayClean(ctx, workspaceId, id);
    await this.dataSource.transaction(async (manager) => {
      const ended = await this.sessions.withManager(manager).update(workspaceId, { id, status: 'open' }, { status: 'ended', endReason: 'ended', endedAt: new Date() });
      if (ended) await this.audit.record(ctx, { action: 'session.end', resourceType: 'session', resourceId: id, sessionId: id, details: { cleanup } }, manager);
    });
    const result = cleanup ? await this.cleanUp(ctx, workspaceId, id) : undefined;
    return { ...(await this.get(ctx, id)), ...(result && { cleanup: result }) };
  }

  /**
   * Idle expiry across every workspace (a system task, the documented exemption from scoped
   * repositories; it acts on each row within its workspace): open sessions that no request carried for
   * their idle timeout, and with no queued or running job, end with reason `idle`. `now` is a
   * parameter so tests control the clock. Returns the ids it ended.
   */
  async expireIdle(now: Date = new Date()): Promise<string[]> {
    const idle = `s.status = 'open' AND s.last_activity_at + make_interval(secs => s.idle_timeout_seconds) <= :now
      AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.session_id = s.id AND j.workspace_id = s.workspace_id AND j.status IN (:...active))
      AND NOT EXISTS (SELECT 1 FROM workflow_runs w WHERE w.session_id = s.id AND w.workspace_id = s.workspace_id AND w.status = 'running')`;
    const candidates = await this.dataSource
      .getRepository(AgentSessionEntity)
      .createQueryBuilder('s')
      .where(idle, { now, active: ACTIVE_JOB_STATUSES })
      .orderBy('s.last_activity_at', 'ASC')
      .take(500)
      .getMany();
    const expired: string[] = [];
    for (const session of candidates) {
      try {
        if (await this.expire(session, idle, now)) expired.push(session.id);
      } catch (error) {
        this.logger.warn({ msg: 'session expiry failed', sessionId: session.id, err: String(error) });
      }
    }
    return expired;
  }

  private async expire(session: AgentSessionEntity, idle: string, now: Date): Promise<boolean> {
    const { id, workspaceId } = session;
    const ended = await this.dataSource.transaction(async (manager) => {
      // Compare-and-set on the same condition: a request that touched it meanwhile keeps it open.
      const result = await manager
        .createQueryBuilder()
        .update(AgentSessionEntity)
        .set({ status: 'ended', endReason: 'idle', endedAt: now })
        .where(`id = :id AND workspace_id = :ws AND EXISTS (SELECT 1 FROM agent_sessions s WHERE s.id = :id AND ${idle})`, { id, ws: workspaceId, now, active: ACTIVE_JOB_STATUSES })
        .execute();
      if (!result.affected) return false;
      await this.audit.recordSystem(workspaceId, { action: 'session.expire', resourceType: 'session', resourceId: id, sessionId: id, details: { reason: 'idle', idle_timeout_seconds: session.idleTimeoutSeconds, cleanup: session.cleanupOnIdle } }, manager);
      return true;
    });
    if (ended && session.cleanupOnIdle) await this.cleanUp('system', workspaceId, id);
    return ended;
  }

  private async cleanUp(actor: TenantContext | 'system', workspaceId: string, id: string): Promise<NonNullable<SessionViewResponseDto['cleanup']>> {
    const sandboxesStopped = await this.sandboxes.stopForSession(actor, workspaceId, id);
    // Runs first: their runners stop the instance jobs and services they started; the jobs' cancel catches the rest.
    const runsCancelled = await this.workflows.cancelForSession(actor, workspaceId, id);
    const jobsCancelled = await this.jobs.cancelForSession(actor, workspaceId, id);
    return { sandboxes_stopped: sandboxesStopped, jobs_cancelled: jobsCancelled, workflow_runs_cancelled: runsCancelled };
  }

  /**
   * Cleanup acts with the caller's rights, asked only for the kinds of work there is to clean; a denial
   * is audited like a route denial.
   */
  private async assertMayClean(ctx: TenantContext, workspaceId: string, id: string): Promise<void> {
    for (const permission of await this.view.cleanupNeeds(workspaceId, id)) {
      if (hasPermission(ctx, permission)) continue;
      await this.audit.record(ctx, { action: 'auth.forbidden', outcome: 'denied', resourceType: 'session', resourceId: id, sessionId: id, details: { required: permission, cleanup: true } });
      assertPermission(ctx, permission);
    }
  }

  private async find(workspaceId: string, id: string): Promise<AgentSessionEntity> {
    const session = await this.sessions.findOne(workspaceId, { id });
    if (!session) throw notFound('session', id);
    return session;
  }
}
