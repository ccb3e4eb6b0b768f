import type { DataSource } from 'typeorm';

// Arbitrary constant: serialises migrations across OrcaOps processes sharing one database.
const MIGRATION_LOCK = 0x0ca0_0001;

/** Runs pending migrations under a Postgres advisory lock (several servers may boot at once). */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
  }
}
