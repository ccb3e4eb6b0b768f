import { Logger } from '@nestjs/common';
import type { DataSource, QueryRunner } from 'typeorm';

// A runner holds a session-level advisory lock named after its id for as long as it lives. Postgres
// releases it the moment the runner's connection dies (crash, SIGKILL, host loss), so "can I take
// that lock?" answers "is that runner gone?" without clocks or heartbeats.
//
// A database outage or failover also drops every lock session, of live runners too. The rule that keeps
// other servers from taking over live work then: a runner whose lock session dies takes its lock again
// as soon as the database answers (retrying every RETAKE_MS), and a server that itself just lost and
// re-took its own lock judges nobody else gone for RECONNECT_GRACE_MS — an outage of the shared database
// is seen by every server, so each one gives the others that long to re-take theirs.
const LOCK_KEY = `('x' || substr(md5($1), 1, 16))::bit(64)::bigint`;
const RETAKE_MS = 500;
export const RECONNECT_GRACE_MS = 20_000;

interface PgClientEvents {
  on(event: 'error' | 'end', listener: (error?: Error) => void): unknown;
}

export class RunnerLiveness {
  private readonly logger = new Logger('RunnerLiveness');
  private holder?: QueryRunner;
  private runnerId?: string;
  private retaking?: NodeJS.Timeout;
  private released = false;
  /** Until then, other runners are not judged gone (this server is fresh out of an outage). */
  private quietUntil = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly options: { graceMs?: number; retakeMs?: number } = {},
  ) {}

  async hold(runnerId: string): Promise<void> {
    this.runnerId = runnerId;
    this.released = false;
    await this.take(runnerId, 'block');
  }

  /** True while this process holds its lock (false between a lost connection and the re-take). */
  get holding(): boolean {
    return !!this.holder;
  }

  private async take(runnerId: string, mode: 'block' | 'try'): Promise<boolean> {
    const holder = this.dataSource.createQueryRunner();
    try {
      await holder.connect();
      const rows = (await holder.query(
        mode === 'block' ? `SELECT pg_advisory_lock(${LOCK_KEY})` : `SELECT pg_try_advisory_lock(${LOCK_KEY}) AS taken`,
        [runnerId],
      )) as Array<{ taken: boolean }>;
      if (mode === 'try' && rows[0]?.taken !== true) {
        await holder.release();
        return false;
      }
    } catch (error) {
      await holder.release().catch(() => undefined);
      throw error;
    }
    this.holder = holder;
    this.watch(holder);
    return true;
  }

  /** When the lock's connection dies, the lock is gone with it: take it again once the database answers. */
  private watch(holder: QueryRunner): void {
    const connection = (holder as unknown as { databaseConnection?: PgClientEvents }).databaseConnection;
    if (!connection) return;
    let lost = false;
    const onLost = (error?: Error): void => {
      if (lost || this.holder !== holder || this.released) return;
      lost = true;
      this.holder = undefined;
      void holder.release().catch(() => undefined);
      this.logger.warn({ msg: 'liveness lock lost with its database connection; re-taking it', runnerId: this.runnerId, err: error?.message });
      this.scheduleRetake();
    };
    connection.on('error', onLost);
    connection.on('end', () => onLost());
  }

  private scheduleRetake(): void {
    if (this.retaking || this.released || !this.runnerId) return;
    const runnerId = this.runnerId;
    this.retaking = setTimeout(() => {
      this.retaking = undefined;
      void this.take(runnerId, 'try').then(
        (taken) => {
          if (this.released) return void this.release();
          if (!taken) return this.scheduleRetake();
          this.quietUntil = Date.now() + (this.options.graceMs ?? RECONNECT_GRACE_MS);
          this.logger.log({ msg: 'liveness lock taken again', runnerId });
        },
        () => this.scheduleRetake(),
      );
    }, this.options.retakeMs ?? RETAKE_MS);
    this.retaking.unref();
  }

  async release(): Promise<void> {
    this.released = true;
    clearTimeout(this.retaking);
    this.retaking = undefined;
    const holder = this.holder;
    this.holder = undefined;
    if (!holder) return;
    // The connection goes back to the pool, and a session lock would go with it: unlock first.
    await holder.query(`SELECT pg_advisory_unlock(${LOCK_KEY})`, [this.runnerId]).catch(() => undefined);
    await holder.release();
  }

  /**
   * True when no live process holds `runnerId`'s lock. False while this process has not re-taken its own
   * lock after an outage, and during the grace that follows it (other live runners are re-taking theirs).
   */
  async isGone(runnerId: string): Promise<boolean> {
    if (this.runnerId && (!this.holder || Date.now() < this.quietUntil)) return false;
    const probe = this.dataSource.createQueryRunner();
    await probe.connect();
    try {
      const rows = (await probe.query(`SELECT pg_try_advisory_lock(${LOCK_KEY}) AS free`, [runnerId])) as Array<{ free: boolean }>;
      const free = rows[0]?.free === true;
      if (free) await probe.query(`SELECT pg_advisory_unlock(${LOCK_KEY})`, [runnerId]);
      return free;
    } finally {
      await probe.release();
    }
  }
}
