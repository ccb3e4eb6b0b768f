import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  output: () => string;
  kill(signal: NodeJS.Signals): Promise<void>;
}

const ROOT = join(__dirname, '..', '..');

/** A real OrcaOps server process (from the TypeScript sources), ready once it logs that it listens. */
export async function startServerProcess(env: Record<string, string>, port: number): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', join(ROOT, 'src', 'main.ts')],
    {
      cwd: ROOT,
      env: { ...process.env, ...env, ORCAOPS_PORT: String(port), ORCAOPS_HOST: '127.0.0.1', TS_NODE_PROJECT: join(ROOT, 'tsconfig.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (output.includes('listening on http://')) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening:\n${output}`)));
  });
  await ready;
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => output,
    kill: async (signal) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill(signal);
      await exited;
    },
  };
}

/** A server process expected to fail its start: its exit code and everything it printed, once it exited. */
export async function runFailingServer(
  env: Record<string, string>,
  port: number,
  options: { cli?: boolean; timeoutMs?: number } = {},
): Promise<{ code: number | null; stderr: string; output: string }> {
  // The server entry, or the CLI's `orcaops serve` (the same start-up path behind a command).
  const entry = options.cli ? [join(ROOT, 'src', 'cli', 'main.ts'), 'serve', '--port', String(port)] : [join(ROOT, 'src', 'main.ts')];
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', ...entry],
    {
      cwd: ROOT,
      env: { ...process.env, ...env, ORCAOPS_PORT: String(port), ORCAOPS_HOST: '127.0.0.1', TS_NODE_PROJECT: join(ROOT, 'tsconfig.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    output += chunk.toString('utf8');
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stderr, output };
}
