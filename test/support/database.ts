import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from 'src/database/data-source-options';
import { runMigrations } from 'src/database/migrate';

const TEMPLATE_LOCK = 0x0ca0_7e57;

export function serverUrl(database = 'postgres'): string {
  const base = process.env.ORCAOPS_TEST_PG_URL;
  if (!base) throw new Error('ORCAOPS_TEST_PG_URL is not set: run tests through jest (global setup)');
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Name of the migrated template database; changes whenever the set of migrations changes. */
function templateName(): string {
  const files = readdirSync(join(__dirname, '..', '..', 'migrations')).sort().join(',');
  return `orcaops_tpl_${createHash('sha256').update(files).digest('hex').slice(0, 12)}`;
}

async function withAdmin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: serverUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * A fresh, fully migrated database for one test file: migrations run once into a template database,
 * then each file gets CREATE DATABASE ... TEMPLATE (fast, isolated).
 */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const template = templateName();
  const name = `orcaops_t_${randomBytes(6).toString('hex')}`;
  await withAdmin(async (admin) => {
    await admin.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK]);
    try {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
      if (!rowCount) {
        await admin.query(`CREATE DATABASE "${template}"`);
        const ds = await new DataSource(buildDataSourceOptions(serverUrl(template))).initialize();
        try {
          await runMigrations(ds);
        } finally {
          await ds.destroy();
        }
      }
      await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
    } finally {
      await admin.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK]);
    }
  });
  return {
    url: serverUrl(name),
    drop: () => withAdmin(async (admin) => void (await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`))),
  };
}

/** An empty database (no migrations), for the migration tests. */
export async function createEmptyDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `orcaops_e_${randomBytes(6).toString('hex')}`;
  await withAdmin(async (admin) => void (await admin.query(`CREATE DATABASE "${name}"`)));
  return {
    url: serverUrl(name),
    drop: () => withAdmin(async (admin) => void (await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`))),
  };
}
