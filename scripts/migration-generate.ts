// Generates a reviewed-migration draft: starts a throwaway embedded PostgreSQL, applies every existing
// migration, diffs the entities against it and writes migrations/<timestamp>-<Name>.ts.
// Usage: npm run migration:new -- <Name>
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from 'src/database/data-source-options';
import { startEmbeddedPostgres } from 'src/database/embedded-postgres';
import { runMigrations } from 'src/database/migrate';

async function main(): Promise<void> {
  const name = process.argv[2];
  if (!name || !/^[A-Z][A-Za-z0-9]*$/.test(name)) throw new Error('usage: npm run migration:new -- <PascalCaseName>');
  const dir = await mkdtemp(join(tmpdir(), 'orcaops-migration-'));
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const pg = await startEmbeddedPostgres({ dir: join(dir, 'postgres'), port });
  try {
    const ds = await new DataSource(buildDataSourceOptions(pg.url)).initialize();
    await runMigrations(ds);
    await ds.destroy();
    const result = spawnSync('npm', ['run', '-s', 'migration:generate', '--', `migrations/${name}`], {
      stdio: 'inherit',
      env: { ...process.env, DATABASE_URL: pg.url },
    });
    process.exitCode = result.status ?? 1;
  } finally {
    await pg.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
