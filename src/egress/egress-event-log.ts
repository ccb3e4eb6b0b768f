import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { PeriodicPass } from 'src/common/periodic-pass';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { egressConfig } from 'src/egress/egress.config';
import { EgressEventEntity } from 'src/egress/entities/egress-event.entity';
import { LessThan, type DataSource, type FindOptionsWhere } from 'typeorm';

export type EgressSubjectKind = 'job' | 'sandbox';

/** One egress decision: who, where to (name and address), allowed or denied by which rule, how much. */
export interface EgressEvent {
  at: string;
  workspace_id: string;
  subject_kind: EgressSubjectKind;
  subject_id: string;
  method: 'CONNECT' | 'HTTP';
  host: string;
  address: string | null;
  port: number;
  decision: 'allowed' | 'denied';
  rule: string;
  bytes_up: number;
  bytes_down: number;
  duration_ms: number;
}

export interface EgressQuery {
  job_id?: string;
  sandbox_id?: string;
  decision?: 'allowed' | 'denied';
  limit?: number;
}

const RETENTION_EVERY_MS = 3_600_000;

/**
 * The durable egress decision log (table egress_events). The relay never waits on the database:
 * record() only appends to a bounded buffer, written in batches every `flushMs` (one INSERT per
 * workspace per batch). Bounded everywhere: at most `pendingPerWorkspace` unwritten decisions per
 * workspace (a flood drops its own newest, never another workspace's), at most `logPerWorkspace` rows
 * kept per workspace (pruned every tenth of that many writes), and rows older than the workspace's job
 * retention go in an hourly sweep. Reads write the buffer first, so they see every decision this server made.
 */
@Injectable()
export class EgressEventLog implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('EgressEventLog');
  private pending = new Map<string, EgressEvent[]>();
  private readonly sincePrune = new Map<string, number>();
  private readonly dropped = new Map<string, number>();
  private writing: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private readonly retention: PeriodicPass<number>;
  /** Rows kept per workspace (settable by tests). */
  perWorkspace: number;

  constructor(
    @InjectScopedRepository(EgressEventEntity) private readonly events: TenantScopedRepository<EgressEventEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(egressConfig.KEY) private readonly config: ConfigType<typeof egressConfig>,
  ) {
    this.perWorkspace = config.logPerWorkspace;
    this.retention = new PeriodicPass({ name: 'egress log retention', intervalMs: RETENTION_EVERY_MS, pass: () => this.deleteExpired(), fallback: 0, logger: this.logger });
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.flush(), this.config.logFlushMs);
    this.timer.unref();
    this.retention.start();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.retention.stop();
    await this.flush();
  }

  /** Queues one decision for the next batch; never blocks and never throws. */
  record(event: EgressEvent): void {
    const list = this.pending.get(event.workspace_id) ?? [];
    if (list.length >= this.config.logPendingPerWorkspace) {
      this.dropped.set(event.workspace_id, (this.dropped.get(event.workspace_id) ?? 0) + 1);
      return;
    }
    list.push({ ...event, host: event.host.slice(0, 255) });
    this.pending.set(event.workspace_id, list);
  }

  /** Writes everything queued so far (batches run one at a time; a failed batch is logged and dropped). */
  flush(): Promise<void> {
    this.writing = this.writing.then(() => this.writeBatch()).catch((error: unknown) => this.logger.warn({ msg: 'egress log write failed', err: String(error) }));
    return this.writing;
  }

  /** Newest first, one workspace's only (REST, CLI and MCP read through this). */
  async forWorkspace(workspaceId: string, q: EgressQuery = {}): Promise<Array<Omit<EgressEvent, 'workspace_id'>>> {
    await this.flush();
    const where: FindOptionsWhere<EgressEventEntity> = {};
    if (q.job_id) Object.assign(where, { subjectKind: 'job', subjectId: q.job_id });
    if (q.sandbox_id) Object.assign(where, { subjectKind: 'sandbox', subjectId: q.sandbox_id });
    if (q.job_id && q.sandbox_id && q.job_id !== q.sandbox_id) return [];
    if (q.decision) where.decision = q.decision;
    const rows = await this.events.find(workspaceId, { where, order: { at: 'DESC', createdAt: 'DESC' }, take: q.limit ?? 100 });
    return rows.map(toEvent);
  }

  /** One hourly pass now (tests); answers how many rows it deleted. */
  sweep(): Promise<number> {
    return this.retention.run();
  }

  private async writeBatch(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    for (const [workspaceId, count] of this.dropped) this.logger.warn({ msg: 'egress log: decisions dropped (writer behind)', workspaceId, count });
    this.dropped.clear();
    for (const [workspaceId, list] of batch) {
      // Within one batch the order of rows is the order of decisions (created_at breaks ties of `at`).
      await this.events.insertMany(workspaceId, list.map((e) => toRow(e)));
      const writes = (this.sincePrune.get(workspaceId) ?? 0) + list.length;
      this.sincePrune.set(workspaceId, writes);
      if (writes >= Math.max(1, Math.floor(this.perWorkspace / 10))) {
        this.sincePrune.delete(workspaceId);
        await this.prune(workspaceId);
      }
    }
  }

  /** Keeps the workspace's newest perWorkspace rows (rows at the same instant as the oldest kept stay too). */
  private async prune(workspaceId: string): Promise<void> {
    const [oldestKept] = await this.events.find(workspaceId, { select: { id: true, at: true }, order: { at: 'DESC' }, skip: this.perWorkspace - 1, take: 1 });
    if (oldestKept) await this.events.delete(workspaceId, { at: LessThan(oldestKept.at) });
  }

  /** Rows older than their workspace's job retention (settings.job_retention_days), and old byte counters. */
  private async deleteExpired(): Promise<number> {
    const retention = `make_interval(days => COALESCE((w.settings->>'job_retention_days')::int, $1))`;
    const [, deleted] = await this.dataSource.query<[unknown, number]>(
      `DELETE FROM egress_events e USING workspaces w WHERE w.id = e.workspace_id AND e.at < now() - ${retention}`,
      [this.config.retentionDays],
    );
    await this.dataSource.query(`DELETE FROM egress_usage_days d USING workspaces w WHERE w.id = d.workspace_id AND d.day < (now() - ${retention})::date`, [this.config.retentionDays]);
    if (deleted) this.logger.log({ msg: 'retention deleted egress decisions', count: deleted });
    return deleted;
  }
}

function toRow(e: EgressEvent): Partial<EgressEventEntity> {
  return {
    id: randomUUID(),
    at: new Date(e.at),
    subjectKind: e.subject_kind,
    subjectId: e.subject_id,
    method: e.method,
    host: e.host,
    address: e.address,
    port: e.port,
    decision: e.decision,
    rule: e.rule,
    bytesUp: e.bytes_up,
    bytesDown: e.bytes_down,
    durationMs: Math.min(e.duration_ms, 2_147_483_647),
  };
}

function toEvent(r: EgressEventEntity): Omit<EgressEvent, 'workspace_id'> {
  return {
    at: r.at.toISOString(),
    subject_kind: r.subjectKind as EgressSubjectKind,
    subject_id: r.subjectId,
    method: r.method as EgressEvent['method'],
    host: r.host,
    address: r.address,
    port: r.port,
    decision: r.decision as EgressEvent['decision'],
    rule: r.rule,
    bytes_up: r.bytesUp,
    bytes_down: r.bytesDown,
    duration_ms: r.durationMs,
  };
}
