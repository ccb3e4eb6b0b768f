import { Injectable, Logger } from '@nestjs/common';
import { decodeCursor, encodeCursor } from 'src/common/pagination/keyset-cursor';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { Brackets, EntityManager, Repository } from 'typeorm';
import { AuditEventEntity, AuditOutcome } from 'src/audit/entities/audit-event.entity';
import { insertRow } from 'src/database/row-statements';
import { TenantContext } from 'src/tenancy/tenant-context';

export interface AuditRecord {
  action: string;
  resourceType?: string;
  resourceId?: string;
  outcome?: AuditOutcome;
  details?: Record<string, unknown>;
  /** Overrides the workspace taken from the context (organisation admins act on any workspace). */
  workspaceId?: string | null;
  /** The agent session; record() falls back to the request's session (TenantContext.sessionId). */
  sessionId?: string | null;
}

export interface AnonymousAuditRecord extends AuditRecord {
  requestId?: string;
  clientIp?: string;
  via?: string;
}

export interface AuditQuery {
  workspaceId?: string;
  action?: string;
  actor?: string;
  resourceType?: string;
  resourceId?: string;
  sessionId?: string;
  since?: Date;
  until?: Date;
  cursor?: string;
  limit: number;
}

export interface AuditEventView {
  id: string;
  occurred_at: string;
  workspace_id: string | null;
  actor_type: string;
  actor_id: string | null;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  outcome: AuditOutcome;
  request_id: string | null;
  client_ip: string | null;
  via: string | null;
  session_id: string | null;
  details: Record<string, unknown>;
}

export interface AuditPage {
  items: AuditEventView[];
  next_cursor: string | null;
}

function toView(e: AuditEventEntity): AuditEventView {
  return {
    id: e.id,
    occurred_at: e.occurredAt.toISOString(),
    workspace_id: e.workspaceId,
    actor_type: e.actorType,
    actor_id: e.actorId,
    action: e.action,
    resource_type: e.resourceType,
    resource_id: e.resourceId,
    outcome: e.outcome,
    request_id: e.requestId,
    client_ip: e.clientIp,
    via: e.via,
    session_id: e.sessionId,
    details: e.details,
  };
}

const EXPORT_PAGE = 500;

/** `*` is the only wildcard: LIKE's own `%`, `_` and `\` match themselves. */
function actionPattern(action: string): string {
  return action.replace(/[\\%_]/g, '\\$&').replace(/\*/g, '%');
}

/** Append-only audit trail in Postgres. Writes inside the caller's transaction when given a manager. */
@Injectable()
export class AuditService {
  private readonly logger = new Logger('Audit');

  constructor(@InjectRepository(AuditEventEntity) private readonly events: Repository<AuditEventEntity>) {}

  async record(ctx: TenantContext, record: AuditRecord, manager?: EntityManager): Promise<void> {
    const principal = ctx.principal;
    const workspaceId =
      record.workspaceId !== undefined ? record.workspaceId : principal.kind === 'workspace' ? principal.workspaceId : null;
    await this.insert(
      {
        workspaceId,
        actorType: principal.kind,
        actorId: principal.tokenId,
        requestId: ctx.requestId,
        clientIp: ctx.clientIp ?? null,
        via: ctx.via,
      },
      { ...record, sessionId: record.sessionId !== undefined ? record.sessionId : (ctx.sessionId ?? null) },
      manager,
    );
  }

  /**
   * Events the server does on its own (sandbox expiry by the reaper, lost containers): actor "system",
   * no request. In the caller's transaction when given a manager, like record().
   */
  async recordSystem(workspaceId: string | null, record: AuditRecord, manager?: EntityManager): Promise<void> {
    await this.insert(
      { workspaceId, actorType: 'system', actorId: 'system', requestId: null, clientIp: null, via: 'system' },
      record,
      manager,
    );
  }

  /** Events with no authenticated caller (failed authentication). Never throws into the request. */
  async recordAnonymous(record: AnonymousAuditRecord): Promise<void> {
    try {
      await this.insert(
        {
          workspaceId: record.workspaceId ?? null,
          actorType: 'anonymous',
          actorId: null,
          requestId: record.requestId ?? null,
          clientIp: record.clientIp ?? null,
          via: record.via ?? 'rest',
        },
        record,
      );
    } catch (error) {
      this.logger.error({ msg: 'audit write failed', action: record.action, err: String(error) });
    }
  }

  private async insert(
    who: Pick<AuditEventEntity, 'workspaceId' | 'actorType' | 'actorId' | 'requestId' | 'clientIp' | 'via'>,
    record: AuditRecord,
    manager?: EntityManager,
  ): Promise<void> {
    const repository = manager ? manager.getRepository(AuditEventEntity) : this.events;
    await insertRow(repository, {
      id: randomUUID(),
      occurredAt: new Date(),
      ...who,
      action: record.action,
      resourceType: record.resourceType ?? null,
      resourceId: record.resourceId ?? null,
      outcome: record.outcome ?? 'success',
      sessionId: record.sessionId ?? null,
      details: (record.details ?? {}) as never,
    });
  }

  /**
   * What the caller may see: a workspace token sees its own workspace only; an organisation admin sees
   * everything, or one workspace when it filters by workspace_id.
   */
  list(ctx: TenantContext, q: AuditQuery): Promise<AuditPage> {
    const scope = ctx.principal.kind === 'workspace' ? ctx.principal.workspaceId : q.workspaceId;
    return this.query({ ...q, workspaceId: scope });
  }

  /**
   * Every event matching the filters, newest first (the order of list()), read in keyset pages of
   * EXPORT_PAGE rows: memory stays bounded however long the export. `limit` and `cursor` are ignored.
   */
  async *export(ctx: TenantContext, q: Omit<AuditQuery, 'cursor' | 'limit'>): AsyncGenerator<AuditEventView> {
    const scope = ctx.principal.kind === 'workspace' ? ctx.principal.workspaceId : q.workspaceId;
    let cursor: string | undefined;
    do {
      const page = await this.query({ ...q, workspaceId: scope, cursor, limit: EXPORT_PAGE });
      yield* page.items;
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
  }

  /** Newest first, keyset-paginated. workspaceId undefined = every workspace. */
  private async query(q: AuditQuery): Promise<AuditPage> {
    const qb = this.events.createQueryBuilder('e');
    if (q.workspaceId) qb.andWhere('e.workspace_id = :ws', { ws: q.workspaceId });
    if (q.action) qb.andWhere('e.action LIKE :action', { action: actionPattern(q.action) });
    if (q.actor) qb.andWhere('e.actor_id = :actor', { actor: q.actor });
    if (q.resourceType) qb.andWhere('e.resource_type = :rt', { rt: q.resourceType });
    if (q.resourceId) qb.andWhere('e.resource_id = :rid', { rid: q.resourceId });
    if (q.sessionId) qb.andWhere('e.session_id = :sid', { sid: q.sessionId });
    if (q.since) qb.andWhere('e.occurred_at >= :since', { since: q.since });
    if (q.until) qb.andWhere('e.occurred_at < :until', { until: q.until });
    if (q.cursor) {
      const [at, id] = decodeCursor(q.cursor);
      qb.andWhere(
        new Brackets((w) =>
          w.where('e.occurred_at < :at', { at }).orWhere('e.occurred_at = :at AND e.id < :id', { at, id }),
        ),
      );
    }
    const rows = await qb.orderBy('e.occurred_at', 'DESC').addOrderBy('e.id', 'DESC').take(q.limit + 1).getMany();
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return { items: page.map(toView), next_cursor: rows.length > q.limit && last ? encodeCursor(last.occurredAt, last.id) : null };
  }
}
