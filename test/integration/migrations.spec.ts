import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from 'src/database/data-source-options';
import { runMigrations } from 'src/database/migrate';
import { createEmptyDatabase } from '../support/database';

const MIGRATIONS_TABLE = 'typeorm_migrations';

/** SQL that would bring the schema in line with the entities; empty when migrations and entities agree. */
async function pendingSchemaChanges(dataSource: DataSource): Promise<string[]> {
  const log = await dataSource.driver.createSchemaBuilder().log();
  return log.upQueries.map((q) => q.query);
}

async function publicTables(dataSource: DataSource): Promise<string[]> {
  const rows: Array<{ table_name: string }> = await dataSource.query(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
  );
  return rows.map((r) => r.table_name);
}

async function executedMigrations(dataSource: DataSource): Promise<number> {
  const rows: Array<{ n: number }> = await dataSource.query(
    `SELECT count(*)::int AS n FROM "${MIGRATIONS_TABLE}"`,
  );
  return rows[0]?.n ?? 0;
}

function expectNoDrift(pending: string[]): void {
  if (pending.length === 0) return;
  throw new Error(
    'Entities and migrations disagree. Generate a migration (npm run migration:generate -- migrations/<Intent>) ' +
      `for these pending statements:\n  ${pending.join(';\n  ')};`,
  );
}

describe('migrations on an empty database', () => {
  let db: Awaited<ReturnType<typeof createEmptyDatabase>>;
  let dataSource: DataSource;

  beforeAll(async () => {
    db = await createEmptyDatabase();
    dataSource = await new DataSource(buildDataSourceOptions(db.url)).initialize();
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  it('applies every migration', async () => {
    const applied = await runMigrations(dataSource);
    expect(applied).toEqual(dataSource.migrations.map((m) => m.name));
    expect(applied.length).toBeGreaterThan(0);
    expect(await dataSource.showMigrations()).toBe(false);
  });

  it('leaves no drift between entities and migrations (the CI drift check)', async () => {
    expectNoDrift(await pendingSchemaChanges(dataSource));
  });

  it('notices a schema that differs from the entities (the check can fail)', async () => {
    await dataSource.query('ALTER TABLE "workspaces" DROP COLUMN "archived_at"');
    try {
      const pending = await pendingSchemaChanges(dataSource);
      expect(pending).toContainEqual(expect.stringMatching(/ALTER TABLE "workspaces" ADD "archived_at"/));
      expect(() => expectNoDrift(pending)).toThrow(/archived_at/);
    } finally {
      await dataSource.query('ALTER TABLE "workspaces" ADD "archived_at" TIMESTAMP WITH TIME ZONE');
    }
  });

  it('is idempotent: a second run applies nothing', async () => {
    expect(await runMigrations(dataSource)).toEqual([]);
  });

  it('reverts every migration, leaving only the migrations table', async () => {
    const total = await executedMigrations(dataSource);
    for (let left = total; left > 0; left--) {
      await dataSource.undoLastMigration({ transaction: 'each' });
      expect(await executedMigrations(dataSource)).toBe(left - 1);
    }
    expect(await publicTables(dataSource)).toEqual([MIGRATIONS_TABLE]);
    const leftovers: unknown[] = await dataSource.query(
      `SELECT c.relname AS name FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_index i ON i.indexrelid = c.oid
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'i', 'S', 'v', 'm')
          AND coalesce(i.indrelid, c.oid) <> $1::regclass AND c.relname <> $2
       UNION ALL
       SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'c') AND t.typrelid = 0`,
      [MIGRATIONS_TABLE, `${MIGRATIONS_TABLE}_id_seq`],
    );
    expect(leftovers).toEqual([]);
  });

  it('goes up again after a full revert, with no drift', async () => {
    expect(await runMigrations(dataSource)).toEqual(dataSource.migrations.map((m) => m.name));
    expectNoDrift(await pendingSchemaChanges(dataSource));
  });
});
