// Runs once, outside jest's module sandbox: starts a real PostgreSQL for the whole run (embedded,
// in a temporary directory) unless DATABASE_URL names one. Test files get its URL from the environment.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { freePort } from './ports';


export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) {
    process.env.ORCAOPS_TEST_PG_URL = process.env.DATABASE_URL;
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'orcaops-test-pg-'));
  const handle = await startEmbeddedPostgres({ dir: join(dir, 'postgres'), port: await freePort() });
  // Tests create databases (CREATE DATABASE ... TEMPLATE): they connect as the cluster's superuser.
  process.env.ORCAOPS_TEST_PG_URL = handle.adminUrl;
  process.env.ORCAOPS_TEST_PG_DIR = dir;
  (globalThis as { __ORCAOPS_PG__?: typeof handle }).__ORCAOPS_PG__ = handle;
}
