import { Command } from 'commander';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ApiClient } from 'src/cli/api-client';
import { CliError } from 'src/cli/cli-error';
import { action, outputOptions } from 'src/cli/command-context';
import { printJson, render } from 'src/cli/output';
import { parseSse } from 'src/cli/sse';
import { INTERACTION_LIMITS } from 'src/sandboxes/interaction/interaction.limits';

/** `orcaops sandbox exec|shell|ps|files`: REST clients of the interaction API (added by sandbox.command.ts). */

interface ShellResult {
  command_id: string;
  status: 'running' | 'completed';
  exit_code: number | null;
  output: string;
  cwd: string | null;
  shell_exited: boolean;
}

interface ExecExit {
  exit_code: number | null;
  timed_out: boolean;
}

const PS_COLUMNS = ['process_id', 'running', 'exit_code', 'command', 'started_at'];
const LS_COLUMNS = ['type', 'mode', 'size', 'modified_at', 'name'];
/** Soft timeout of each shell request: short, so output shows up while a command runs. */
const SHELL_POLL_SECONDS = 1;

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function envPairs(values: string[]): Record<string, string> | undefined {
  if (!values.length) return undefined;
  const out: Record<string, string> = {};
  for (const pair of values) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new CliError('usage', `-e expects KEY=VALUE, got "${pair}"`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** The process exit code a command's outcome maps to (124 like timeout(1) for a timeout, 1 if unknown). */
function exitCodeOf(exit: ExecExit): number {
  if (exit.timed_out) return 124;
  return exit.exit_code ?? 1;
}

const base = (id: string): string => `/v1/sandboxes/${encodeURIComponent(id)}`;
const q = (path: string): string => `path=${encodeURIComponent(path)}`;

function execCommand(): Command {
  return new Command('exec')
    .description('Run a command in a sandbox (fresh process); streams output and exits with its exit code. One word is run by sh -c, several as argv')
    .argument('<id>', 'sandbox id')
    .argument('<command...>', 'command (after --)')
    .option('--cwd <dir>', 'working directory (default /workspace)')
    .option('-e, --env <KEY=VALUE>', 'environment variable (repeatable)', collect, [])
    .option('-t, --timeout <seconds>', 'kill the process group after this long (default 60)', (v) => Number(v))
    .action(action(async (id: string, argv: string[], o: { cwd?: string; env: string[]; timeout?: number }, c: Command) => {
      const body = {
        ...(argv.length === 1 ? { command: argv[0] } : { args: argv }),
        cwd: o.cwd,
        env: envPairs(o.env),
        timeout_seconds: o.timeout,
      };
      const client = new ApiClient();
      if (outputOptions(c).json) {
        const result = await client.request<ExecExit>('POST', `${base(id)}/exec`, body);
        printJson(result);
        process.exitCode = exitCodeOf(result);
        return;
      }
      // Ctrl-C closes the stream; the server then kills the command's process group.
      const interrupted = new AbortController();
      const onSigint = (): void => interrupted.abort();
      process.once('SIGINT', onSigint);
      try {
        const response = await client.raw('POST', `${base(id)}/exec`, body, { headers: { accept: 'text/event-stream' }, signal: interrupted.signal });
        if (!response.ok) await client.request('POST', `${base(id)}/exec`, body); // raises the API's error
        for await (const event of parseSse(response.body!)) {
          if (event.event === 'output') {
            const chunk = JSON.parse(event.data) as { stream: string; data: string };
            (chunk.stream === 'stdout' ? process.stdout : process.stderr).write(chunk.data);
          } else if (event.event === 'exit') {
            process.exitCode = exitCodeOf(JSON.parse(event.data) as ExecExit);
          } else if (event.event === 'error') {
            const err = JSON.parse(event.data) as { code: CliError['code']; message: string };
            throw new CliError(err.code, err.message);
          }
        }
      } catch (error) {
        if (!interrupted.signal.aborted) throw error;
        process.exitCode = 130;
      } finally {
        process.off('SIGINT', onSigint);
      }
    }));
}

/**
 * A line-based terminal over a persistent shell: each line is one command; while a command runs, typed
 * lines go to its stdin and Ctrl-C interrupts it. `exit` or EOF ends the session (the shell stays, with
 * its state, until deleted). Without a TTY, lines run one after another and the exit code is the last one's.
 */
class ShellTerminal {
  private running = false;
  /** The running command, once the server has answered the run request. */
  private commandId: string | undefined;
  /** Ctrl-C arrived before the server knew the command: interrupt it as soon as it does. */
  private interruptWanted = false;
  private cwd = '';
  private lastExit = 0;

  constructor(
    private readonly client: ApiClient,
    private readonly path: string,
    private readonly interactive: boolean,
  ) {}

  async run(line: string): Promise<number> {
    // Busy from the moment the line is sent: a Ctrl-C during the first request interrupts this command.
    this.running = true;
    this.interruptWanted = false;
    let result: ShellResult;
    try {
      result = await this.client.request<ShellResult>('POST', `${this.path}/run`, { command: line, timeout_seconds: SHELL_POLL_SECONDS });
      this.commandId = result.command_id;
      process.stdout.write(result.output);
      if (result.status === 'running' && this.interruptWanted) this.interrupt().catch(() => undefined);
      while (result.status === 'running') {
        result = await this.client.request<ShellResult>('POST', `${this.path}/wait`, { timeout_seconds: SHELL_POLL_SECONDS, command_id: result.command_id });
        process.stdout.write(result.output);
      }
    } finally {
      this.running = false;
      this.commandId = undefined;
    }
    if (result.output && !result.output.endsWith('\n') && this.interactive) process.stdout.write('\n');
    if (result.shell_exited) process.stderr.write('orcaops: the shell ended; the next command starts a fresh one\n');
    this.cwd = result.cwd ?? this.cwd;
    this.lastExit = result.exit_code ?? 1;
    return this.lastExit;
  }

  get busy(): boolean {
    return this.running;
  }

  get exitCode(): number {
    return this.lastExit;
  }

  prompt(): string {
    return `${this.cwd || 'sandbox'}${this.lastExit ? ` [${this.lastExit}]` : ''}$ `;
  }

  input(line: string): Promise<unknown> {
    return this.client.request('POST', `${this.path}/input`, { data: `${line}\n` });
  }

  /** Interrupts the running command; a command that ended meanwhile (conflict) is not an error. */
  async interrupt(): Promise<void> {
    if (!this.running) return;
    if (!this.commandId) {
      this.interruptWanted = true;
      return;
    }
    try {
      await this.client.request('POST', `${this.path}/interrupt`, {});
    } catch (error) {
      if (!(error instanceof CliError && error.code === 'conflict')) throw error;
    }
  }
}

async function interactiveShell(term: ShellTerminal): Promise<void> {
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  const report = (error: unknown): void => void process.stderr.write(`error: ${(error as Error).message}\n`);
  rl.on('SIGINT', () => {
    if (term.busy) term.interrupt().catch(report);
    else {
      process.stdout.write('^C\n');
      rl.setPrompt(term.prompt());
      rl.prompt();
    }
  });
  let leaving = false;
  await new Promise<void>((resolve) => {
    rl.on('close', () => {
      // EOF (Ctrl-D) leaves the cursor after the prompt: end the line so the caller's shell starts clean.
      if (!leaving) process.stdout.write('\n');
      resolve();
    });
    rl.on('line', (line) => {
      if (term.busy) return void term.input(line).catch(report);
      if (line.trim() === 'exit') {
        leaving = true;
        return rl.close();
      }
      if (!line.trim()) return rl.prompt();
      term
        .run(line)
        .catch(report)
        .finally(() => {
          rl.setPrompt(term.prompt());
          rl.prompt();
        });
    });
    rl.setPrompt(term.prompt());
    rl.prompt();
  });
}

function shellCommand(): Command {
  return new Command('shell')
    .description('Interactive terminal on a persistent shell (cwd and variables persist); Ctrl-C interrupts, exit/EOF leaves')
    .argument('<id>', 'sandbox id')
    .option('--name <name>', 'shell name (several per sandbox)', 'main')
    .action(action(async (id: string, o: { name: string }) => {
      const client = new ApiClient();
      const term = new ShellTerminal(client, `${base(id)}/shells/${encodeURIComponent(o.name)}`, Boolean(process.stdin.isTTY));
      if (process.stdin.isTTY) return interactiveShell(term);
      const rl = createInterface({ input: process.stdin, terminal: false });
      for await (const line of rl) {
        if (line.trim() === 'exit') break;
        if (line.trim()) await term.run(line);
      }
      process.exitCode = term.exitCode;
    }));
}

function psCommand(): Command {
  return new Command('ps')
    .description('Background processes of a sandbox')
    .argument('<id>', 'sandbox id')
    .action(action(async (id: string, _o: object, c: Command) => {
      render(outputOptions(c), await new ApiClient().request('GET', `${base(id)}/processes`), { columns: PS_COLUMNS });
    }));
}

/** The raw download route (Accept: application/octet-stream): the response, its body not yet read. */
async function download(client: ApiClient, id: string, path: string): Promise<{ body: Readable; length: number | undefined }> {
  const response = await client.raw('GET', `${base(id)}/files/content?${q(path)}`, undefined, { headers: { accept: 'application/octet-stream' } });
  if (!response.ok) await client.request('GET', `${base(id)}/files/content?${q(path)}`); // raises the API's error
  return { body: Readable.fromWeb(response.body! as WebReadableStream<Uint8Array>), length: Number(response.headers.get('content-length')) || undefined };
}

/** Copies to stdout chunk by chunk, waiting when stdout is behind (memory stays bounded). */
async function toStdout(body: Readable): Promise<void> {
  for await (const chunk of body) if (!process.stdout.write(chunk as Buffer)) await once(process.stdout, 'drain');
}

const mib = (bytes: number): string => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;

/**
 * Bytes moved so far, on stderr (stdout may be the file itself): one updating line on a terminal, else
 * a line every 2 s and one at the end. Off with --json (stdout then holds only the JSON result).
 */
function progress(verb: string, total: number | undefined, enabled: boolean): Transform & { finish(): void } {
  const tty = Boolean(process.stderr.isTTY);
  let moved = 0;
  let shownAt = Date.now();
  const show = (final: boolean): void => {
    const text = `${verb} ${mib(moved)}${total ? ` of ${mib(total)} (${Math.floor((moved / Math.max(total, 1)) * 100)}%)` : ''}`;
    process.stderr.write(tty ? `\r${text}${final ? '\n' : ''}` : `${text}\n`);
  };
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      moved += chunk.length;
      if (enabled && Date.now() - shownAt >= (tty ? 200 : 2_000)) {
        shownAt = Date.now();
        show(false);
      }
      done(null, chunk);
    },
  });
  return Object.assign(counter, { finish: () => void (enabled && show(true)) });
}

function filesCommand(): Command {
  const cmd = new Command('files').description('Files inside a sandbox (as the sandbox user; symlinks are never followed)');
  cmd.command('ls <id> [path]').action(action(async (id: string, path: string | undefined, _o: object, c: Command) => {
    const listing = await new ApiClient().request<{ items: Array<Record<string, unknown>> }>('GET', `${base(id)}/files?${q(path ?? '/workspace')}`);
    render(outputOptions(c), listing, { columns: LS_COLUMNS });
  }));
  cmd.command('cat <id> <path>').action(action(async (id: string, path: string) => {
    await toStdout((await download(new ApiClient(), id, path)).body);
  }));
  cmd
    .command('get <id> <path> [local]')
    .description(`Download a file, streamed (to stdout without LOCAL; up to ${mib(INTERACTION_LIMITS.fileMaxBytes)}); progress on stderr`)
    .action(action(async (id: string, path: string, local: string | undefined, _o: object, c: Command) => {
      const { json } = outputOptions(c);
      const { body, length } = await download(new ApiClient(), id, path);
      if (!local) return toStdout(body);
      const counter = progress(`downloading ${path}:`, length, !json);
      try {
        await pipeline(body, counter, createWriteStream(local));
      } catch (error) {
        await rm(local, { force: true });
        throw error;
      }
      counter.finish();
      const size = statSync(local).size;
      if (json) printJson({ path, local, size });
    }));
  cmd
    .command('put <id> <local> <path>')
    .description(`Upload a local file, streamed from disk (up to ${mib(INTERACTION_LIMITS.fileMaxBytes)}); progress on stderr`)
    .action(action(async (id: string, local: string, path: string, _o: object, c: Command) => {
      const { json } = outputOptions(c);
      let size: number;
      try {
        const info = statSync(local);
        if (!info.isFile()) throw new CliError('usage', `${local} is not a regular file`);
        size = info.size;
      } catch (error) {
        if (error instanceof CliError) throw error;
        throw new CliError('usage', `cannot read ${local}: ${(error as Error).message}`);
      }
      // The server takes one file up to this size; refuse before sending it all.
      if (size > INTERACTION_LIMITS.fileMaxBytes) {
        throw new CliError('payload_too_large', `${local} is ${mib(size)}; one upload is at most ${mib(INTERACTION_LIMITS.fileMaxBytes)} (use an archive upload for trees)`, {
          limit_bytes: INTERACTION_LIMITS.fileMaxBytes,
        });
      }
      const counter = progress(`uploading ${local}:`, size, !json);
      const upload = createReadStream(local).pipe(counter);
      const response = await new ApiClient().send(
        'PUT',
        `${base(id)}/files/content?${q(path)}`,
        Readable.toWeb(upload) as ReadableStream<Uint8Array>,
        'application/octet-stream',
      );
      counter.finish();
      render(outputOptions(c), await response.json());
    }));
  cmd
    .command('rm <id> <path>')
    .option('-r, --recursive', 'delete a directory tree')
    .action(action(async (id: string, path: string, o: { recursive?: boolean }, c: Command) => {
      await new ApiClient().request('DELETE', `${base(id)}/files?${q(path)}${o.recursive ? '&recursive=true' : ''}`);
      if (outputOptions(c).json) printJson({ deleted: path });
    }));
  return cmd;
}

/** Subcommands for `orcaops sandbox` (see sandboxCommand's `extra`). */
export function sandboxInteractionCommands(): Command[] {
  return [execCommand(), shellCommand(), psCommand(), filesCommand()];
}
