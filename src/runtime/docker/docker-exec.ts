import type Docker from 'dockerode';
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { ExecOptions, ExecResult } from 'src/runtime/container-runtime.port';
import { translateDockerError } from 'src/runtime/docker/docker-errors';
import { assertAbsolutePath, assertArgv, assertNonRootUser, toEnvList } from 'src/runtime/docker/hardening';
import { processGroupKiller, wrapInProcessGroup } from 'src/runtime/docker/process-group';
import { RuntimeError } from 'src/runtime/runtime.errors';

/** The killer is retried while the exec still runs: it may start before the wrapper, or under pids pressure. */
const KILL_ATTEMPTS = 30;
const KILL_RETRY_MS = 100;
/** After the kill, the engine closes the stream once the group is gone; this bounds escaped holders. */
const STREAM_GRACE_MS = 5_000;
/** The exec's exit code can trail the end of its stream by a moment. */
const EXIT_POLLS = 50;
const EXIT_POLL_MS = 20;
/** setTimeout fires at once for delays above 2^31-1 ms, which would turn a long timeout into an instant kill. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function validate(options: ExecOptions): void {
  assertArgv(options.command, 'exec command');
  if (options.command.length === 0) throw new RuntimeError('invalid_argument', 'exec command must not be empty');
  if (options.user !== undefined) assertNonRootUser(options.user);
  if (options.cwd !== undefined) assertAbsolutePath(options.cwd, 'exec cwd');
  if (options.timeoutMs !== undefined && !(options.timeoutMs >= 0)) {
    throw new RuntimeError('invalid_argument', `exec timeoutMs must be a non-negative number (got ${options.timeoutMs})`);
  }
}

function outputSink(stream: 'stdout' | 'stderr', options: ExecOptions, failures: unknown[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback): void {
      // A throwing callback must not tear down the demuxer mid-frame (and lose the rest of the output).
      try {
        options.onOutput?.(stream, chunk);
      } catch (error) {
        failures.push(error);
      }
      callback();
    },
  });
}

async function readExitCode(exec: Docker.Exec): Promise<number | null> {
  for (let i = 0; i < EXIT_POLLS; i++) {
    const info = await exec.inspect();
    if (!info.Running) return info.ExitCode;
    await delay(EXIT_POLL_MS);
  }
  return null;
}

/** Runs argv as a side exec, discarding its output; resolves with its exit code. */
async function runSideExec(container: Docker.Container, argv: string[], user: string | undefined): Promise<number | null> {
  const exec = await container.exec({ Cmd: argv, AttachStdout: true, AttachStderr: true, Tty: false, User: user });
  const stream = await exec.start({ hijack: true, stdin: false });
  await new Promise<void>((resolve) => {
    stream.on('error', () => undefined);
    stream.once('close', () => resolve());
    stream.resume();
  });
  return readExitCode(exec);
}

/**
 * One exec with demultiplexed, streamed output; optional stdin; timeout and abort kill the whole process
 * group (see process-group.ts). Resolves once the output stream has ended, so no output is lost.
 */
export async function runExec(docker: Docker, id: string, options: ExecOptions): Promise<ExecResult> {
  validate(options);
  const { signal } = options;
  if (signal?.aborted) return { exitCode: null, timedOut: false, aborted: true, durationMs: 0 };
  const killable = options.timeoutMs !== undefined || signal !== undefined;
  const execId = randomUUID();
  const hasStdin = options.stdin !== undefined;
  const container = docker.getContainer(id);

  let exec: Docker.Exec;
  let stream: Duplex;
  const started = Date.now();
  try {
    exec = await container.exec({
      Cmd: killable ? wrapInProcessGroup(execId, options.command) : [...options.command],
      Env: options.env ? toEnvList(options.env) : undefined,
      WorkingDir: options.cwd,
      User: options.user,
      AttachStdin: hasStdin,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
    });
    stream = await exec.start({ hijack: true, stdin: hasStdin });
  } catch (error) {
    throw translateDockerError(error, `exec in container ${id}`);
  }

  const failures: unknown[] = [];
  let closed = false;
  const ended = new Promise<void>((resolve) => {
    stream.once('close', () => {
      closed = true;
      resolve();
    });
  });
  // A broken connection also closes the stream; the outcome is then read from the engine.
  stream.on('error', () => undefined);
  docker.modem.demuxStream(stream, outputSink('stdout', options, failures), outputSink('stderr', options, failures));
  // Half-close after writing: the engine then closes the process's stdin.
  if (hasStdin) stream.end(typeof options.stdin === 'string' ? Buffer.from(options.stdin, 'utf8') : options.stdin);

  let timedOut = false;
  let aborted = false;
  let killing: Promise<void> | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  const stop = (reason: 'timeout' | 'abort'): void => {
    if (killing || closed) return;
    if (reason === 'timeout') timedOut = true;
    else aborted = true;
    killing = killGroup(container, execId, options.user, () => closed).then(() => {
      if (!closed) graceTimer = setTimeout(() => stream.destroy(), STREAM_GRACE_MS);
    });
  };
  const timeoutMs = options.timeoutMs;
  const timer = timeoutMs !== undefined && timeoutMs !== Infinity ? setTimeout(() => stop('timeout'), Math.min(timeoutMs, MAX_TIMER_MS)) : undefined;
  const onAbort = (): void => stop('abort');
  signal?.addEventListener('abort', onAbort, { once: true });
  // Aborted while the exec was being created: the listener above would never fire.
  if (signal?.aborted) onAbort();

  try {
    await ended;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
  const durationMs = Date.now() - started;
  await killing;
  clearTimeout(graceTimer);
  if (failures.length > 0) throw failures[0];
  try {
    return { exitCode: await readExitCode(exec), timedOut, aborted, durationMs };
  } catch (error) {
    throw translateDockerError(error, `exec in container ${id}`);
  }
}

/** Runs the killer until it has signalled the group, the exec has ended, or the attempts are spent. */
async function killGroup(container: Docker.Container, execId: string, user: string | undefined, isClosed: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < KILL_ATTEMPTS && !isClosed(); attempt++) {
    // Failures (pids limit reached, container stopping) are retried; the stream ending stops the loop.
    const code = await runSideExec(container, processGroupKiller(execId), user).catch(() => null);
    if (code === 0) return;
    await delay(KILL_RETRY_MS);
  }
}
