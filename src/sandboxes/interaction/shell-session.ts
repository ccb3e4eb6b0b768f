import { randomBytes, randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import type { ContainerRuntime, ExecResult } from 'src/runtime/container-runtime.port';
import type { LiveSandbox } from 'src/sandboxes/live-sandbox';
import type { StreamName } from 'src/sandboxes/interaction/output-buffers';
import { CappedCollector } from 'src/sandboxes/interaction/output-buffers';
import { MarkerScanner } from 'src/sandboxes/interaction/marker-scanner';
import type { MaskingStream } from 'src/common/masking/secret-masker';
import { SecretMasker } from 'src/common/masking/secret-masker';

/**
 * A persistent shell: ONE long-lived exec of /bin/sh whose stdin stays attached, so a command costs a
 * write and a read on an open stream (≈0.3 ms) instead of a new exec (≈90 ms, hardening.md "Engine facts").
 *
 * Protocol, per command (one line on the shell's stdin):
 *
 *   printf '\n%s S\n' '<M>' >&2; command eval '<command, single-quoted>'; printf '\n%s %d %s\n' '<M>' "$?" "$PWD"; printf '\n%s\n' '<M>' >&2
 *
 * - `eval` runs the command in the shell itself, so cd, export and shell variables persist. The command
 *   travels as one single-quoted word, so unbalanced quotes or a heredoc in it cannot swallow the marker.
 *   `command eval` keeps the shell alive on a syntax error (a special built-in's error would exit a
 *   non-interactive shell); the error is reported with status 2 like any failure.
 * - <M> is fresh random per command; everything before `\n<M>` on a stream is the command's output
 *   (MarkerScanner). The stdout marker carries the exit status and the new cwd; the stderr marker only
 *   says that stream is flushed. The command is complete once both were seen.
 * - The command shares the shell's stdin: /input writes to it, so `read`, `cat` or a REPL get the data.
 *   Shells like dash and ash read their script in blocks, so input already in the pipe when the shell
 *   reads the command line would be swallowed as more script. The line therefore starts with a start
 *   marker on stderr (`\n<M> S`), printed only after the shell has read the whole line, and input is held
 *   back until it was seen. The protocol text itself is never read by the command.
 * - Interrupt (there is no TTY, so no Ctrl-C character): a side exec sends SIGINT to every descendant of
 *   the shell (found by walking /proc/<pid>/stat parent links), then SIGKILL if the command has not ended
 *   within a grace. The shell itself is never signalled, so it, its cwd and variables survive and it
 *   prints the marker with status 130/137. A command that loops inside the shell (`while :; do :; done`
 *   has no child to signal) cannot be interrupted that way: the whole shell is then killed and the
 *   caller told `shell_exited` (it is re-created, empty, on the next run).
 * - Output written while no command runs (jobs left in the background with &) is discarded; use the
 *   background process API for long-running output.
 * - If the command runs `exit`, the shell ends: the command completes with the shell's exit status and
 *   `shell_exited: true`.
 */

/** argv tail: $1 = the shell's pid, $2 = signal name. Signals every descendant of $1, never $1 itself. */
const SIGNAL_DESCENDANTS = [
  'root=$1; sig=$2; pids=" $root "; changed=1',
  'while [ -n "$changed" ]; do',
  '  changed=',
  '  for f in /proc/[0-9]*/stat; do',
  '    read -r s < "$f" 2>/dev/null || continue',
  '    p=${f#/proc/}; p=${p%/stat}',
  '    case "$pids" in *" $p "*) continue;; esac',
  // comm (field 2) may hold spaces or parens: cut up to the last ") " first.
  '    s=${s##*") "}; set -- $s',
  '    case "$pids" in *" $2 "*) pids="$pids$p "; changed=1;; esac',
  '  done',
  'done',
  'for p in $pids; do [ "$p" = "$root" ] || kill -s "$sig" "$p" 2>/dev/null; done',
  'exit 0',
].join('\n');

/** The shell `orcaops sandbox shell` and the benchmarks use; warm-pool containers have it open already. */
export const DEFAULT_SHELL_NAME = 'main';

/** Where a shell runs: a live sandbox, or a warm-pool container that no tenant owns yet (env empty). */
export type ShellTarget = Pick<LiveSandbox, 'containerId' | 'user' | 'workdir' | 'env'>;

/**
 * Variables a shell treats specially (word splitting, prompts, cwd bookkeeping, options): a fresh shell
 * sets or ignores them at start-up, so exporting them into a running one would not give the same
 * shell (and IFS would change how it parses our protocol lines). Such env gets a freshly opened shell.
 */
const SHELL_SPECIAL = new Set(['IFS', 'PS1', 'PS2', 'PS4', 'PWD', 'OLDPWD', 'OPTIND', 'OPTARG', 'PPID', 'ENV', 'LINENO', 'SHELLOPTS', 'POSIXLY_CORRECT']);
const SHELL_NAME_WORD = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Whether `applyEnv` makes a running shell see this env exactly as a shell opened with it would. */
export function envApplicableToOpenShell(env: Record<string, string>): boolean {
  return Object.keys(env).every((k) => SHELL_NAME_WORD.test(k) && !SHELL_SPECIAL.has(k));
}

export interface ShellLimits {
  /** Unread output kept per command; beyond it new output is dropped and `truncated` is set. */
  outputCapBytes: number;
  /** Grace after SIGINT (then SIGKILL), and after SIGKILL (then the shell is killed). */
  interruptGraceMs: number;
}

export interface ShellCommandView {
  command_id: string;
  status: 'running' | 'completed';
  exit_code: number | null;
  /** stdout and stderr interleaved in arrival order, produced since the previous response for this command. */
  output: string;
  /** Output was dropped because more than the cap accumulated unread. */
  truncated: boolean;
  /** The shell's working directory after the command (completed only). */
  cwd: string | null;
  duration_ms: number;
  /** The shell ended with this command (exit, or killed by an interrupt): its state is gone. */
  shell_exited: boolean;
}

class ShellCommand {
  readonly id = randomUUID();
  readonly started = Date.now();
  readonly marker = `__orcaops_${randomBytes(12).toString('hex')}__`;
  readonly output: CappedCollector;
  exitCode: number | null = null;
  cwd: string | null = null;
  ended: number | undefined;
  shellExited = false;
  /** Ended by an interrupt (Ctrl-C). */
  interrupted = false;
  /** Output bytes per stream, counted as they arrive (the command history's sizes). */
  readonly bytes: Record<StreamName, number> = { stdout: 0, stderr: 0 };
  /** Some output was dropped at some point (a view resets the collector's count). */
  everTruncated = false;
  readonly pendingStreams = new Set<StreamName>(['stdout', 'stderr']);
  /** The shell printed the start marker: it has read the whole command line, input may flow. */
  lineRead = false;
  /** Input that arrived before the start marker. */
  readonly heldInput: Buffer[] = [];
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  /** Secret values become *** in what a view hands out; a value split across two views is held back until complete. */
  private readonly masking: MaskingStream;

  constructor(readonly text: string, outputCapBytes: number, masker: SecretMasker) {
    this.output = new CappedCollector(outputCapBytes);
    this.masking = masker.stream();
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** Output of the command: counted, and kept up to the cap. */
  take(stream: StreamName, data: Buffer): void {
    this.bytes[stream] += data.length;
    this.output.push(data);
  }

  get outputTruncated(): boolean {
    return this.everTruncated || this.output.truncated;
  }

  finish(): void {
    if (this.ended !== undefined) return;
    this.ended = Date.now();
    this.resolveDone();
  }

  view(): ShellCommandView {
    const truncated = this.output.truncated;
    if (truncated) this.everTruncated = true;
    const completed = this.ended !== undefined;
    const drained = this.masking.push(this.output.drain());
    const output = (completed ? Buffer.concat([drained, this.masking.end()]) : drained).toString('utf8');
    this.output.dropped = 0;
    return {
      command_id: this.id,
      status: completed ? 'completed' : 'running',
      exit_code: completed ? this.exitCode : null,
      output,
      truncated,
      cwd: completed ? this.cwd : null,
      duration_ms: (this.ended ?? Date.now()) - this.started,
      shell_exited: this.shellExited,
    };
  }
}

/** Waits for `promise` at most `ms` (the timer is cleared either way, so nothing lingers). */
async function settleWithin(promise: Promise<void>, ms: number): Promise<void> {
  if (ms <= 0) return;
  const timer = new AbortController();
  await Promise.race([promise, delay(ms, undefined, { signal: timer.signal }).catch(() => undefined)]);
  timer.abort();
}

/** Quotes a string as one single-quoted shell word (the only quoting that needs no other escapes). */
function singleQuoted(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export class ShellSession {
  createdAt = new Date();
  lastUsedAt = new Date();
  private readonly stdin = new PassThrough();
  private readonly abort = new AbortController();
  private readonly scanners: Record<StreamName, MarkerScanner> = { stdout: new MarkerScanner(), stderr: new MarkerScanner() };
  private current: ShellCommand | undefined;
  /** The latest command, kept after it completes so a wait that comes late still gets its end. */
  private last: ShellCommand | undefined;
  private pid: number | undefined;
  private isEnded = false;
  /** The sandbox's secrets, masked in every command's output (set by the service before each run). */
  masker = SecretMasker.none;
  /** Settles when the shell's exec has ended. */
  readonly exited: Promise<void>;

  private constructor(
    private readonly runtime: ContainerRuntime,
    private readonly target: ShellTarget,
    readonly name: string,
    private readonly limits: ShellLimits,
  ) {
    this.exited = this.runtime
      .exec(target.containerId, {
        command: ['/bin/sh'],
        user: target.user,
        cwd: target.workdir,
        env: target.env,
        stdin: this.stdin,
        // With a signal the port runs the shell in its own process group and kills the group on abort.
        signal: this.abort.signal,
        onOutput: (stream, chunk) => this.onOutput(stream, chunk),
      })
      .then(
        (result) => this.onExit(result),
        () => this.onExit(undefined),
      );
  }

  /** Starts a shell and learns its pid (needed to interrupt its children). */
  static async open(runtime: ContainerRuntime, target: ShellTarget, name: string, limits: ShellLimits): Promise<ShellSession> {
    const shell = new ShellSession(runtime, target, name, limits);
    const probe = shell.run('echo $$');
    await settleWithin(probe.done, 15_000);
    const pid = Number.parseInt(probe.output.drain().toString('utf8').trim(), 10);
    if (probe.ended === undefined || probe.exitCode !== 0 || !Number.isInteger(pid)) {
      shell.close();
      throw new OrcaOpsError('conflict', `shell ${name} could not be started (does the image have /bin/sh?)`);
    }
    shell.pid = pid;
    return shell;
  }

  /**
   * Hands a shell opened in a warm-pool container to the sandbox that took it: exports the sandbox env
   * (one protocol command, every value single-quoted) so the first command sees it exactly as in a shell
   * opened with it (callers check envApplicableToOpenShell first), and restarts the shell's clock. The
   * export is not the sandbox's "latest command" afterwards (a wait never reports it). Rejects, with the
   * shell closed, if the export did not succeed.
   */
  async handOver(env: Record<string, string>): Promise<void> {
    const entries = Object.entries(env);
    if (entries.length) {
      const cmd = this.run(`export ${entries.map(([k, v]) => `${k}=${singleQuoted(v)}`).join(' ')}`);
      await settleWithin(cmd.done, 15_000);
      if (this.last === cmd) this.last = undefined;
      if (cmd.ended === undefined || cmd.exitCode !== 0) {
        this.close();
        throw new Error(`exporting the sandbox env failed (exit ${cmd.exitCode ?? 'none'})`);
      }
    }
    this.createdAt = new Date();
    this.lastUsedAt = this.createdAt;
  }

  get ended(): boolean {
    return this.isEnded;
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  get runningCommand(): string | undefined {
    return this.current?.text;
  }

  /** Writes the command; one at a time (409 while another runs). */
  run(text: string): ShellCommand {
    if (this.isEnded) throw new OrcaOpsError('conflict', `shell ${this.name} has ended`);
    if (this.current) {
      throw new OrcaOpsError('conflict', `shell ${this.name} is busy with another command: wait for it, interrupt it, or use another shell`, {
        command_id: this.current.id,
      });
    }
    const cmd = new ShellCommand(text, this.limits.outputCapBytes, this.masker);
    this.current = cmd;
    this.last = cmd;
    this.lastUsedAt = new Date();
    this.scanners.stdout.expect(cmd.marker);
    this.scanners.stderr.expect(cmd.marker);
    const m = singleQuoted(cmd.marker);
    this.stdin.write(
      `printf '\\n%s S\\n' ${m} >&2; command eval ${singleQuoted(text)}; printf '\\n%s %d %s\\n' ${m} "$?" "$PWD"; printf '\\n%s\\n' ${m} >&2\n`,
    );
    return cmd;
  }

  /** The running (or latest) command, checked against the id a caller holds (if it gave one). */
  command(commandId?: string): ShellCommand | undefined {
    if (commandId !== undefined && this.last?.id !== commandId) return undefined;
    return this.last;
  }

  /** Waits up to `ms` for the command to complete, then reports it (with the output since last time). */
  async waitFor(cmd: ShellCommand, ms: number): Promise<ShellCommandView> {
    await settleWithin(cmd.done, ms);
    this.lastUsedAt = new Date();
    if (cmd.ended === undefined && cmd === this.current) {
      cmd.take('stdout', this.scanners.stdout.release());
      // Before the start marker, stderr holds only output of background jobs (discarded).
      if (cmd.lineRead) cmd.take('stderr', this.scanners.stderr.release());
    }
    return cmd.view();
  }

  /** Sends data to the running command's stdin. */
  input(data: Buffer): void {
    const cmd = this.current;
    if (!cmd || this.isEnded) throw new OrcaOpsError('conflict', `shell ${this.name} has no running command to send input to`);
    if (cmd.lineRead) this.stdin.write(data);
    else cmd.heldInput.push(data);
  }

  /** Ctrl-C: SIGINT to the shell's descendants, then SIGKILL, then (last resort) the shell itself. */
  async interrupt(): Promise<ShellCommandView> {
    const cmd = this.current;
    if (!cmd) throw new OrcaOpsError('conflict', `shell ${this.name} has no running command to interrupt`);
    cmd.interrupted = true;
    for (const signal of ['INT', 'KILL'] as const) {
      await this.signalChildren(signal);
      await settleWithin(cmd.done, this.limits.interruptGraceMs);
      if (cmd.ended !== undefined) return cmd.view();
    }
    this.close();
    await cmd.done;
    return cmd.view();
  }

  /** Ends the shell and everything it started (its process group). */
  close(): void {
    if (this.isEnded) return;
    this.abort.abort();
    this.stdin.end();
  }

  private async signalChildren(signal: 'INT' | 'KILL'): Promise<void> {
    if (this.pid === undefined) return;
    await this.runtime
      .exec(this.target.containerId, {
        command: ['sh', '-c', SIGNAL_DESCENDANTS, 'sh', String(this.pid), signal],
        user: this.target.user,
        timeoutMs: 5_000,
      })
      .catch(() => undefined);
  }

  private onOutput(stream: StreamName, chunk: Buffer): void {
    const cmd = this.current;
    const { data, line, rest } = this.scanners[stream].push(chunk);
    // Output with no command running comes from jobs left in the background: discarded (see above).
    if (!cmd) return;
    if (stream === 'stderr' && !cmd.lineRead) {
      if (line === undefined) return;
      cmd.lineRead = true;
      for (const held of cmd.heldInput.splice(0)) this.stdin.write(held);
      this.scanners.stderr.expect(cmd.marker);
      if (rest?.length) this.onOutput(stream, rest);
      return;
    }
    if (data.length) cmd.take(stream, data);
    if (line === undefined) return;
    if (stream === 'stdout') {
      const m = /^ (\d+) (.*)$/s.exec(line);
      cmd.exitCode = m ? Number(m[1]) : null;
      cmd.cwd = m?.[2] ?? null;
    }
    cmd.pendingStreams.delete(stream);
    if (cmd.pendingStreams.size === 0) {
      this.current = undefined;
      cmd.finish();
    }
  }

  private onExit(result: ExecResult | undefined): void {
    this.isEnded = true;
    this.stdin.end();
    const cmd = this.current;
    this.current = undefined;
    if (cmd) {
      cmd.exitCode = result?.exitCode ?? null;
      cmd.shellExited = true;
      cmd.finish();
    }
  }
}
