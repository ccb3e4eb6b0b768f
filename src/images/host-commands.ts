import { execFile } from 'node:child_process';

export interface RunOptions {
  cwd?: string;
  timeoutMs?: number;
  /** Each line of stdout and stderr as it arrives (for progress). */
  onLine?: (line: string) => void;
}

/** A host command that could not be run or exited non-zero; carries the tail of its output. */
export class HostCommandError extends Error {
  constructor(
    readonly argv: string[],
    readonly notFound: boolean,
    readonly output: string,
    reason: string,
  ) {
    super(`\`${argv.join(' ')}\` ${reason}${output ? `:\n${output}` : ''}`);
    this.name = 'HostCommandError';
  }
}

const CHILD_ENV = { LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive' };
const TAIL_LINES = 20;

function tail(text: string): string {
  return text.trimEnd().split('\n').slice(-TAIL_LINES).join('\n');
}

function forwardLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  let pending = '';
  stream?.on('data', (chunk: Buffer | string) => {
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop() ?? '';
    lines.forEach(onLine);
  });
}

/** Runs a program with an argv array (never a shell) and resolves with its stdout. */
export function runCommand(file: string, args: string[], options: RunOptions = {}): Promise<string> {
  const argv = [file, ...args];
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        cwd: options.cwd,
        timeout: options.timeoutMs ?? 0,
        maxBuffer: 256 * 1024 * 1024,
        env: { ...process.env, ...CHILD_ENV },
      },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        if (error.code === 'ENOENT')
          return reject(new HostCommandError(argv, true, '', 'failed: command not found'));
        const reason = error.killed
          ? `timed out after ${options.timeoutMs ?? 0} ms`
          : `failed (exit ${String(error.code)})`;
        reject(new HostCommandError(argv, false, tail(`${stdout}\n${stderr}`), reason));
      },
    );
    if (options.onLine) {
      forwardLines(child.stdout, options.onLine);
      forwardLines(child.stderr, options.onLine);
    }
  });
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** True when `file --version`-style probing finds the program on PATH. */
export async function hasCommand(file: string, probeArgs: string[] = ['--version']): Promise<boolean> {
  try {
    await runCommand(file, probeArgs, { timeoutMs: 30_000 });
    return true;
  } catch (error) {
    return !(error instanceof HostCommandError && error.notFound);
  }
}
