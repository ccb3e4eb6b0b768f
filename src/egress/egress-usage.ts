import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { egressConfig } from 'src/egress/egress.config';
import { EgressUsageDayEntity } from 'src/egress/entities/egress-usage-day.entity';

const utcDay = (now = new Date()): string => now.toISOString().slice(0, 10);

/**
 * Today's egress bytes per workspace (the daily quota), kept in egress_usage_days so they survive a
 * restart and add up across the servers of one database. The relay charges bytes in memory (no
 * database on the byte path); every `flushMs` the increments are added to the day's row and the total
 * is read back, which also brings in what other servers counted. A workspace's first connection of the
 * day (per server) reads its row once.
 */
@Injectable()
export class EgressUsage implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('EgressUsage');
  /** Stored total of a workspace's day, as last read. */
  private readonly stored = new Map<string, { day: string; bytes: number }>();
  /** Bytes charged here and not yet written, per `workspace|day`. */
  private unwritten = new Map<string, number>();
  private writing: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;

  constructor(
    @InjectScopedRepository(EgressUsageDayEntity) private readonly days: TenantScopedRepository<EgressUsageDayEntity>,
    @Inject(egressConfig.KEY) private readonly config: ConfigType<typeof egressConfig>,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.flush(), this.config.logFlushMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /** Reads the workspace's stored total for today unless already known (call before admitting a connection). */
  async load(workspaceId: string): Promise<void> {
    const day = utcDay();
    if (this.stored.get(workspaceId)?.day === day) return;
    const row = await this.days.findOne(workspaceId, { day });
    this.stored.set(workspaceId, { day, bytes: row?.bytes ?? 0 });
  }

  /** Bytes counted today: stored plus charged here since. */
  bytesToday(workspaceId: string): number {
    const day = utcDay();
    const stored = this.stored.get(workspaceId);
    return (stored?.day === day ? stored.bytes : 0) + (this.unwritten.get(`${workspaceId}|${day}`) ?? 0);
  }

  /** Counts bytes against today's quota; false once it is used up. */
  charge(workspaceId: string, bytes: number): boolean {
    const key = `${workspaceId}|${utcDay()}`;
    this.unwritten.set(key, (this.unwritten.get(key) ?? 0) + bytes);
    return this.bytesToday(workspaceId) <= this.config.bytesPerDay;
  }

  /** Adds what was charged to the stored rows and reads the totals back (one at a time). */
  flush(): Promise<void> {
    this.writing = this.writing.then(() => this.writeBatch()).catch((error: unknown) => this.logger.warn({ msg: 'egress usage write failed', err: String(error) }));
    return this.writing;
  }

  private async writeBatch(): Promise<void> {
    const batch = this.unwritten;
    this.unwritten = new Map();
    for (const [key, bytes] of batch) {
      const [workspaceId = '', day = ''] = key.split('|');
      try {
        const total = await this.add(workspaceId, day, bytes);
        if (day === utcDay()) this.stored.set(workspaceId, { day, bytes: total });
      } catch (error) {
        // Not lost: counted again with the next batch.
        this.unwritten.set(key, (this.unwritten.get(key) ?? 0) + bytes);
        throw error;
      }
    }
  }

  /** One atomic increment of the day's row (created on first use; a concurrent creator makes us retry the update). */
  private async add(workspaceId: string, day: string, bytes: number): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const updated = await this.days.updateExpression(workspaceId, { day }, { bytes: () => 'bytes + :bytes' }, { bytes });
      if (!updated) {
        try {
          await this.days.insert(workspaceId, { day, bytes });
        } catch (error) {
          if (attempt < 2) continue;
          throw error;
        }
      }
      return (await this.days.findOne(workspaceId, { day }))?.bytes ?? bytes;
    }
  }
}
