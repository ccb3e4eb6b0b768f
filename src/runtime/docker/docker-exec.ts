import type Docker from 'dockerode';
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { ExecOptions, ExecResult } from 'src/runtime/container-runtime.port';
import { translateDockerError } from 'src/runtime/docker/docker-errors';
import { DEFAULT_ENGINE_TIMEOUTS, withEngineDeadline } from 'src/runtime/docker/engine-call';
import { assertAbsolutePath, assertArgv, assertNonRootUser, toEnvList } from 'src/runtime/docker/hardening';
import { demuxOutput, type DemuxedStream } from 'src/runtime/docker/output-demux';
import { processGroupKiller, wrapInProcessGroup } from 'src/runtime/docker/process-group';
import { throttleStream } from 'src/runtime/docker/stream-throttle';
import { RuntimeError } from 'src/runtime/runtime.errors';

/**
 * The killer is retried while the exec still runs (it may start before the wrapper has, or fail under
 * pids pressure), for at most this long: at the pids limit no new process can start, so waiting longer
 * does not help and the caller has to kill the container.
 */
const KILL_BUDGET_MS = 3_000;
const KILL_RETRY_MS = 100;
/**
 * After a kill the stream ends once the group is gone; processes that left the group (setsid) and still
 * hold the output would keep it open, so it is cut after this grace (the engine itself drains ~2 s).
 */
const STREAM_GRACE_MS = 3_000;
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

function outputSink(options: ExecOptions, failures: unknown[]): (stream: DemuxedStream, chunk: Buffer) => void {
  return (stream, chunk) => {
    // A throwing callback must not tear down the demuxer mid-frame (and lose the rest of the output).
    try {
      options.onOutput?.(stream, chunk);
    } catch (error) {
      failures.push(error);
    }
  };
}

async function readExitCode(exec: Docker.Exec, callMs: number, polls = EXIT_POLLS): Promise<number | null> {
  for (let i = 0; i < polls; i++) {
    const info = await withEngineDeadline(`inspect exec ${exec.id}`, callMs, (abortSignal) => exec.inspect({ abortSignal }));
    if (!info.Running) return info.ExitCode;
    await delay(EXIT_POLL_MS);
  }
  return null;
}

/**
 * Streams a caller's stdin into the exec; its end half-closes the connection (the process sees EOF).
 * Once the exec's stream is gone, further input is dropped instead of erroring the caller's stream.
 */
function pipeStdin(source: Readable, stream: Duplex): void {
  source.pipe(stream);
  stream.once('close', () => {
    source.unpipe(stream);
    source.resume();
  });
}

/** Runs argv as a side exec, discarding its output; resolves with its exit code. Bounded as a whole by callMs. */
async function runSideExec(container: Docker.Container, argv: string[], user: string | undefined, callMs: number): Promise<number | null> {
  const exec = await withEngineDeadline(`exec in container ${container.id}`, callMs, (abortSignal) =>
    container.exec({ Cmd: argv, AttachStdout: true, AttachStderr: true, Tty: false, User: user, abortSignal }),
  );
  return withEngineDeadline(`exec in container ${container.id}`, callMs, async (abortSignal) => {
    const stream = await exec.start({ hijack: true, stdin: false, abortSignal });
    await new Promise<void>((resolve) => {
      stream.on('error', () => undefined);
      stream.once('close', () => resolve());
      abortSignal.addEventListener('abort', () => stream.destroy(), { once: true });
      stream.resume();
    });
    return readExitCode(exec, callMs);
  });
}

async function startExec(container: Docker.Container, execId: string, options: ExecOptions, callMs: number): Promise<{ exec: Docker.Exec; stream: Duplex }> {
  const killable = options.timeoutMs !== undefined || options.signal !== undefined;
  const hasStdin = options.stdin !== undefined;
  try {
    const what = `exec in container ${container.id}`;
    const exec = await withEngineDeadline(what, callMs, (abortSignal) =>
      container.exec({
        Cmd: killable ? wrapInProcessGroup(execId, options.command) : [...options.command],
        Env: options.env ? toEnvList(options.env) : undefined,
        WorkingDir: options.cwd,
        User: options.user,
        AttachStdin: hasStdin,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        abortSignal,
      }),
    );
    // The deadline covers the handshake only; the stream then lasts as long as the process (ExecGuard bounds it).
    return { exec, stream: await withEngineDeadline(what, callMs, (abortSignal) => exec.start({ hijack: true, stdin: hasStdin, abortSignal })) };
  } catch (error) {
    throw translateDockerError(error, `exec in container ${container.id}`);
  }
}

/** Ends a running exec on timeout or abort by killing its process group; knows when the stream closed. */
class ExecGuard {
  timedOut = false;
  aborted = false;
  /** The kill could not be confirmed: processes may still run, the exit code stays unknown. */
  unkillable = false;
  readonly closed: Promise<void>;
  private isClosed = false;
  private killing: Promise<void> | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly onAbort = (): void => this.stop('abort');

  constructor(
    private readonly container: Docker.Container,
    private readonly execId: string,
    private readonly stream: Duplex,
    private readonly options: ExecOptions,
    private readonly callMs: number,
  ) {
    this.closed = new Promise((resolve) => stream.once('close', resolve)).then(() => void (this.isClosed = true));
    const { timeoutMs, signal } = options;
    if (timeoutMs !== undefined && timeoutMs !== Infinity) this.timers.push(setTimeout(() => this.stop('timeout'), Math.min(timeoutMs, MAX_TIMER_MS)));
    signal?.addEventListener('abort', this.onAbort, { once: true });
    // Aborted while the exec was being created: the listener would never fire.
    if (signal?.aborted) this.onAbort();
  }

  /** Waits for the stream to close and any kill to finish, then releases timers and listeners. */
  async settle(): Promise<void> {
    await this.closed;
    this.options.signal?.removeEventListener('abort', this.onAbort);
    await this.killing;
    for (const timer of this.timers) clearTimeout(timer);
  }

  private stop(reason: 'timeout' | 'abort'): void {
    if (this.killing || this.isClosed) return;
    if (reason === 'timeout') this.timedOut = true;
    else this.aborted = true;
    this.killing = this.killGroup().then((killed) => {
      if (this.isClosed) return;
      if (killed) {
        this.timers.push(setTimeout(() => this.stream.destroy(), STREAM_GRACE_MS));
      } else {
        // Nothing will end the stream: stop reading now.
        this.unkillable = true;
        this.stream.destroy();
      }
    });
  }

  /** Runs the killer until it has signalled the group (true), the exec has ended, or the budget is spent. */
  private async killGroup(): Promise<boolean> {
    const until = Date.now() + KILL_BUDGET_MS;
    while (!this.isClosed && Date.now() < until) {
      // Failures (pids limit reached, container stopping) are retried; the stream ending stops the loop.
      const code = await runSideExec(this.container, processGroupKiller(this.execId), this.options.user, this.callMs).catch(() => null);
      if (code === 0) return true;
      await delay(KILL_RETRY_MS);
    }
    return this.isClosed;
  }
}

/**
 * One exec with demultiplexed, streamed output; optional stdin; timeout and abort kill the whole process
 * group (see process-group.ts). Resolves once the output stream has ended, so no output is lost.
 */
export async function runExec(docker: Docker, id: string, options: ExecOptions, callMs = DEFAULT_ENGINE_TIMEOUTS.callMs): Promise<ExecResult> {
  validate(options);
  if (options.signal?.aborted) return { exitCode: null, timedOut: false, aborted: true, durationMs: 0 };
  const execId = randomUUID();
  const container = docker.getContainer(id);
  const started = Date.now();
  const { exec, stream } = await startExec(container, execId, options, callMs);
  const guard = new ExecGuard(container, execId, stream, options, callMs);
  const failures: unknown[] = [];
  // A broken connection also closes the stream; the outcome is then read from the engine.
  stream.on('error', () => undefined);
  throttleStream(stream);
  demuxOutput(stream, outputSink(options, failures));
  // Half-close after writing: the engine then closes the process's stdin.
  if (options.stdin instanceof Readable) pipeStdin(options.stdin, stream);
  else if (options.stdin !== undefined) stream.end(typeof options.stdin === 'string' ? Buffer.from(options.stdin, 'utf8') : options.stdin);
  await guard.closed;
  const durationMs = Date.now() - started;
  await guard.settle();
  if (failures.length > 0) throw failures[0];
  try {
    // Still running after a failed kill: one look is enough, the code stays null.
    const exitCode = await readExitCode(exec, callMs, guard.unkillable ? 1 : EXIT_POLLS);
    return { exitCode, timedOut: guard.timedOut, aborted: guard.aborted, durationMs };
  } catch (error) {
    throw translateDockerError(error, `exec in container ${id}`);
  }
}
