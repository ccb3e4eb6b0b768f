import type { DataSource, QueryRunner } from 'typeorm';

// A runner holds a session-level advisory lock named after its id for as long as it lives. Postgres
// releases it the moment the runner's connection dies (crash, SIGKILL, host loss), so "can I take
// that lock?" answers "is that runner gone?" without clocks or heartbeats.
const LOCK_KEY = `('x' || substr(md5($1), 1, 16))::bit(64)::bigint`;

export class RunnerLiveness {
  private holder?: QueryRunner;

  constructor(private readonly dataSource: DataSource) {}

  async hold(runnerId: string): Promise<void> {
    this.holder = this.dataSource.createQueryRunner();
    await this.holder.connect();
    await this.holder.query(`SELECT pg_advisory_lock(${LOCK_KEY})`, [runnerId]);
  }

  async release(): Promise<void> {
    await this.holder?.release();
    this.holder = undefined;
  }

  /** True when no live process holds `runnerId`'s lock. */
  async isGone(runnerId: string): Promise<boolean> {
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
