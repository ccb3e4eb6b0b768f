import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import type { PostgresDriver } from '../support/embedded-postgres.driver';
import { startPostgresDriver } from '../support/embedded-postgres.driver';
import { freePort } from '../support/ports';


async function query<T extends Record<string, unknown>>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}

async function answers(url: string): Promise<boolean> {
  return query(url, 'SELECT 1').then(
    () => true,
    () => false,
  );
}

// startEmbeddedPostgres imports an ESM-only package, which jest's sandbox cannot load: it runs in a
// child process (real Node), and this file talks to the server it starts like any client would.
describe('startEmbeddedPostgres', () => {
  let root: string;
  let dir: string;
  let port: number;
  let driver: PostgresDriver;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'orcaops-embedded-pg-'));
    dir = join(root, 'postgres');
    port = await freePort();
    driver = startPostgresDriver();
  });
  afterAll(async () => {
    await driver?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  let first: { handle: number; url: string; owned: boolean };

  it('initialises and starts a cluster in an empty directory, with a generated password', async () => {
    first = await driver.start(dir, port);
    expect(first.owned).toBe(true);
    expect(first.url).toMatch(new RegExp(`^postgres://orcaops:[^@]+@127\\.0\\.0\\.1:${port}/orcaops$`));
    expect(existsSync(join(dir, 'PG_VERSION'))).toBe(true);
    expect(existsSync(join(root, 'postgres.password'))).toBe(true);
    expect(await answers(first.url)).toBe(true);
    expect(await answers(first.url.replace(/:[^:@/]+@/, ':wrong-password@'))).toBe(false);
  });

  it('reuses a running cluster instead of starting a second one (owned=false)', async () => {
    const second = await driver.start(dir, port);
    expect(second).toMatchObject({ owned: false, url: first.url });
    await driver.stop(second.handle);
    expect(await answers(first.url)).toBe(true);
  });

  it('keeps data across stop and start (persistent)', async () => {
    await query(first.url, 'CREATE TABLE survivors (name text PRIMARY KEY)');
    await query(first.url, 'INSERT INTO survivors VALUES ($1)', ['row-1']);

    await driver.stop(first.handle);
    expect(await answers(first.url)).toBe(false);

    const again = await driver.start(dir, port);
    expect(again).toMatchObject({ owned: true, url: first.url });
    expect(await query(again.url, 'SELECT name FROM survivors')).toEqual([{ name: 'row-1' }]);
    await driver.stop(again.handle);
  });

  it('starts the server again by itself when it dies (a SIGKILLed postmaster), with its data', async () => {
    const started = await driver.start(dir, port);
    try {
      await query(started.url, 'CREATE TABLE IF NOT EXISTS crash_survivors (name text PRIMARY KEY)');
      await query(started.url, "INSERT INTO crash_survivors VALUES ('before') ON CONFLICT DO NOTHING");
      const postmaster = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      process.kill(postmaster, 'SIGKILL');
      const deadline = Date.now() + 60_000;
      // The supervisor sees the exit and starts the cluster again; poll the way a client would reconnect.
      while (!(await answers(started.url))) {
        if (Date.now() > deadline) throw new Error('the embedded server did not come back');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(await query(started.url, 'SELECT name FROM crash_survivors')).toEqual([{ name: 'before' }]);
      expect(Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0])).not.toBe(postmaster);
    } finally {
      await driver.stop(started.handle);
    }
  });

  it('connects the application as the database owner, not a superuser: no COPY ... TO PROGRAM, secrets 0600', async () => {
    const started = await driver.start(dir, port);
    try {
      const [role] = await query<{ rolsuper: boolean; rolcreatedb: boolean; rolcreaterole: boolean }>(
        started.url,
        'SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user',
      );
      expect(role).toEqual({ rolsuper: false, rolcreatedb: false, rolcreaterole: false });
      await expect(query(started.url, "COPY (SELECT 1) TO PROGRAM 'id'")).rejects.toThrow(/permission denied|must be superuser|pg_execute_server_program/);
      // It owns its database: migrations can create what they need.
      await query(started.url, 'CREATE SCHEMA IF NOT EXISTS app_schema_check');
      expect(started.adminUrl).toMatch(/^postgres:\/\/orcaops_admin:/);
      for (const file of ['postgres.password', 'postgres.admin-password']) {
        expect(statSync(join(root, file)).mode & 0o777).toBe(0o600);
      }
      // Nothing of the password is left in a temporary directory.
      expect(readdirSync(root).filter((name) => name.startsWith('.init-'))).toEqual([]);
    } finally {
      await driver.stop(started.handle);
    }
  });

  it('upgrades a cluster made before the role split: the application role takes over its objects', async () => {
    const legacyRoot = mkdtempSync(join(tmpdir(), 'orcaops-legacy-pg-'));
    const legacyDir = join(legacyRoot, 'postgres');
    const legacyPort = await freePort();
    try {
      await driver.makeLegacyCluster(legacyDir, legacyPort, 'legacy-secret-0123456789');
      const started = await driver.start(legacyDir, legacyPort);
      try {
        expect(started.url).toMatch(/^postgres:\/\/orcaops_app:/);
        const [role] = await query<{ rolsuper: boolean }>(started.url, 'SELECT rolsuper FROM pg_roles WHERE rolname = current_user');
        expect(role).toEqual({ rolsuper: false });
        expect(await query(started.url, 'SELECT name FROM legacy_rows')).toEqual([{ name: 'kept' }]);
        await query(started.url, 'INSERT INTO pgboss.job DEFAULT VALUES');
        await query(started.url, 'ALTER TABLE legacy_rows ADD COLUMN extra text');
        expect(statSync(join(legacyRoot, 'postgres.app-password')).mode & 0o777).toBe(0o600);
      } finally {
        await driver.stop(started.handle);
      }
      // A second start finds everything in place.
      const again = await driver.start(legacyDir, legacyPort);
      expect(await query(again.url, 'SELECT name FROM legacy_rows')).toEqual([{ name: 'kept' }]);
      await driver.stop(again.handle);
    } finally {
      rmSync(legacyRoot, { recursive: true, force: true });
    }
  });
});
