import { Command } from 'commander';
import { createWriteStream, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApiClient } from 'src/cli/api-client';
import { CliError } from 'src/cli/cli-error';
import { action, outputOptions } from 'src/cli/command-context';
import { info, printJson, render } from 'src/cli/output';
import { followJobLogs } from 'src/cli/sse';
import { parseYaml } from 'src/cli/deferred';
import { addJobSearchCommands } from 'src/cli/commands/jobs-search.command';

interface JobView {
  id: string;
  status: string;
  reason: string | null;
  message: string | null;
  exit_code: number | null;
  duration_ms: number | null;
  usage: { output_truncated: boolean };
}

const LIST_COLUMNS = ['id', 'status', 'reason', 'exit_code', 'image', 'created_at', 'duration_ms'];
const TERMINAL = new Set(['succeeded', 'failed', 'timed_out', 'cancelled']);

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function parseEnv(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 1) {
      const fromHost = process.env[pair];
      if (fromHost === undefined) throw new CliError('usage', `-e expects KEY=VALUE (or KEY set in your environment), got "${pair}"`);
      env[pair] = fromHost;
    } else env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

/** `--secret ENV=SECRET_NAME` (repeatable) → `{ENV: SECRET_NAME}`; `--secret NAME` maps NAME to the secret NAME. */
export function parseSecrets(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of values) {
    const eq = pair.indexOf('=');
    if (eq === 0 || eq === pair.length - 1) throw new CliError('usage', `--secret expects ENV=SECRET_NAME, got "${pair}"`);
    if (eq > 0) out[pair.slice(0, eq)] = pair.slice(eq + 1);
    else out[pair] = pair;
  }
  return out;
}

/** 512, 512m, 1g → MiB. */
export function parseMemory(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([mMgG]i?[bB]?)?$/.exec(value.trim());
  if (!match) throw new CliError('usage', `--memory expects a size like 512m or 1g, got "${value}"`);
  const n = Number(match[1]);
  return Math.round(/^[gG]/.test(match[2] ?? '') ? n * 1024 : n);
}

/** Exit code of `orcaops run`: the job's own, else conventions shells know (124 timeout, 130 cancel). */
export function exitCodeForJob(job: JobView): number {
  if (job.status === 'succeeded') return 0;
  if (job.status === 'timed_out') return 124;
  if (job.status === 'cancelled') return 130;
  if (job.reason === 'oom_killed') return 137;
  return job.exit_code && job.exit_code > 0 ? job.exit_code : 1;
}

export interface RunOptions {
  env: string[];
  /** ENV=SECRET_NAME pairs (names only: values never travel on a command line). */
  secret?: string[];
  artifact: string[];
  tag: string[];
  timeout?: number;
  cpu?: number;
  memory?: string;
  pids?: number;
  network?: string;
  egressAllow?: string[];
  egressCidr?: string[];
  egressPort?: string[];
  cleanup?: string;
  pull?: string;
  detach?: boolean;
  spec?: string;
  intent?: string;
  idempotencyKey?: string;
  session?: string;
}

/** The create-job body from `run`'s arguments (also used by `policies evaluate`). */
export function buildBody(image: string | undefined, argv: string[], o: RunOptions): Record<string, unknown> {
  const fromFile = o.spec ? (parseYaml(readFileSync(o.spec, 'utf8')) as Record<string, unknown>) : {};
  const body: Record<string, unknown> = { ...fromFile };
  if (image) body.image = image;
  if (!body.image) throw new CliError('usage', 'an image is required: orcaops run IMAGE -- CMD...');
  if (argv.length) {
    delete body.command;
    body.steps = [{ args: argv }];
  }
  if (!body.steps && !body.command) throw new CliError('usage', 'nothing to run: give a command after --, or --spec');
  if (o.env.length) body.env = { ...(body.env as Record<string, string> | undefined), ...parseEnv(o.env) };
  if (o.secret?.length) body.secrets = { ...(body.secrets as Record<string, string> | undefined), ...parseSecrets(o.secret) };
  if (o.artifact.length) body.artifacts = o.artifact;
  if (o.tag.length) body.tags = o.tag;
  if (o.timeout) body.timeout_seconds = o.timeout;
  const resources: Record<string, number> = { ...(body.resources as Record<string, number> | undefined) };
  if (o.cpu) resources.cpu = o.cpu;
  if (o.memory) resources.memory_mb = parseMemory(o.memory);
  if (o.pids) resources.pids = o.pids;
  if (Object.keys(resources).length) body.resources = resources;
  if (o.network) body.network = o.network;
  const egress = egressNarrowing(o);
  if (egress) {
    body.egress = egress;
    body.network ??= 'egress';
  }
  if (o.cleanup) body.cleanup_policy = o.cleanup;
  if (o.pull) body.pull_policy = o.pull;
  if (o.intent) body.intent = o.intent;
  if (o.session) body.session_id = o.session;
  body.triggered_by ??= 'cli';
  return body;
}

/** `--egress-allow`, `--egress-cidr`, `--egress-port` (repeatable): the job's own, narrower, destinations. */
export function egressNarrowing(o: { egressAllow?: string[]; egressCidr?: string[]; egressPort?: string[] }): Record<string, unknown> | undefined {
  const egress: Record<string, unknown> = {};
  if (o.egressAllow?.length) egress.allow_domains = o.egressAllow;
  if (o.egressCidr?.length) egress.allow_cidrs = o.egressCidr;
  if (o.egressPort?.length) egress.ports = o.egressPort.map(Number);
  return Object.keys(egress).length ? egress : undefined;
}

const PULL_LINE = /^\[orcaops\] pulling \S+: \d+\/\d+ layers/;

/** Streams the job's output live (stdout → stdout, stderr and OrcaOps messages → stderr). */
async function streamToTerminal(client: ApiClient, id: string, signal: AbortSignal): Promise<void> {
  for await (const event of followJobLogs(client, id, signal)) {
    if (event.event === 'output') {
      const chunk = JSON.parse(event.data) as { stream: string; data: string };
      // Pull progress on a terminal: one line rewritten in place (a progress bar), not one line per update.
      if (chunk.stream === 'system' && process.stderr.isTTY && PULL_LINE.test(chunk.data)) {
        process.stderr.write(`\r\x1b[K${chunk.data.trimEnd()}${chunk.data.includes('(done)') ? '\n' : ''}`);
        continue;
      }
      (chunk.stream === 'stdout' ? process.stdout : process.stderr).write(chunk.data);
    } else if (event.event === 'status') {
      info(`orcaops: job ${id} ${(JSON.parse(event.data) as { status: string }).status}`);
    }
  }
}

function summary(job: JobView): string {
  const secs = job.duration_ms !== null ? ` in ${(job.duration_ms / 1000).toFixed(2)}s` : '';
  const why = job.status === 'succeeded' ? '' : ` (${job.reason ?? 'unknown'}${job.message ? `: ${job.message}` : ''})`;
  const trunc = job.usage.output_truncated ? ' [output truncated]' : '';
  return `orcaops: job ${job.id} ${job.status}${why}${secs}${trunc}`;
}

interface SummaryView {
  summary: string;
  error_line: number | null;
  excerpt: Array<{ line: number; text: string }>;
  suggestion: string | null;
}

/** A job summary for people: the line, the numbered excerpt (">" marks the error line), the suggestion. */
export function formatSummary(s: SummaryView): string {
  const width = String(s.excerpt[s.excerpt.length - 1]?.line ?? 0).length;
  const lines = [`why: ${s.summary}`, ...s.excerpt.map((e) => `  ${String(e.line).padStart(width)}${e.line === s.error_line ? ' >' : '  '} ${e.text}`)];
  if (s.suggestion) lines.push(`try: ${s.suggestion}`);
  return `${lines.join('\n')}\n`;
}

/** After a failed run: what went wrong, on stderr (best effort: the exit code is what scripts rely on). */
async function printFailureSummary(client: ApiClient, job: JobView): Promise<void> {
  if (job.status === 'succeeded') return;
  try {
    process.stderr.write(formatSummary(await client.request<SummaryView>('GET', `/v1/jobs/${job.id}/summary`)));
  } catch (error) {
    info(`orcaops: no summary (${error instanceof Error ? error.message : String(error)}); try orcaops jobs summary ${job.id}`);
  }
}

export function runCommand(): Command {
  return new Command('run')
    .description('Run a command in a fresh locked-down container; streams output and exits with its exit code')
    .argument('[image]', 'image, e.g. orcaops/python (or give it in --spec)')
    .argument('[command...]', 'command and arguments (after --)')
    .option('-e, --env <KEY=VALUE>', 'environment variable (repeatable)', collect, [])
    .option('--secret <ENV=NAME>', 'a workspace secret as an environment variable, by name (repeatable; value masked as *** in the output)', collect, [])
    .option('-a, --artifact <path>', 'file or glob to collect after the run (repeatable)', collect, [])
    .option('--tag <tag>', 'tag (repeatable)', collect, [])
    .option('-t, --timeout <seconds>', 'time limit for the whole job', (v) => Number(v))
    .option('--cpu <cpus>', 'CPUs, e.g. 0.5', (v) => Number(v))
    .option('--memory <size>', 'memory limit, e.g. 256m or 1g')
    .option('--pids <n>', 'process limit', (v) => Number(v))
    .option('--network <mode>', 'none (default) or egress')
    .option('--egress-allow <domain>', 'with egress: a name this job may reach, narrowing the policy (repeatable; implies --network egress)', collect, [])
    .option('--egress-cidr <range>', 'with egress: an address range this job may reach, narrowing the policy (repeatable)', collect, [])
    .option('--egress-port <port>', "with egress: a port this job may reach, among the policy's (repeatable)", collect, [])
    .option('--cleanup <policy>', 'container cleanup policy')
    .option('--pull <policy>', 'when to pull the image: if_not_present (default), always or never')
    .option('--intent <text>', 'why this runs (kept in the run record)')
    .option('--idempotency-key <key>', 'a retried submit with the same key returns the same job')
    .option('--session <id>', 'link the job to this agent session (default: $ORCAOPS_SESSION, sent as a header)')
    .option('-d, --detach', 'submit and print the job id without waiting')
    .option('-s, --spec <file>', 'job spec file (YAML or JSON); flags override it')
    .action(action(async (image: string | undefined, argv: string[], o: RunOptions, c: Command) => {
      const out = outputOptions(c);
      const client = new ApiClient();
      const headers = o.idempotencyKey ? { 'idempotency-key': o.idempotencyKey } : undefined;
      const job = await client.request<JobView>('POST', '/v1/jobs', buildBody(image, argv, o), { headers });
      if (job.status === 'awaiting_approval') info(`orcaops: job ${job.id} waits for an approval (orcaops approvals list)`);
      if (o.detach) {
        if (out.json) printJson(job);
        else process.stdout.write(`${job.id}\n`);
        return;
      }
      const interrupted = new AbortController();
      const onSigint = (): void => {
        info(`\norcaops: cancelling job ${job.id}…`);
        interrupted.abort();
      };
      process.once('SIGINT', onSigint);
      try {
        if (!out.json) await streamToTerminal(client, job.id, interrupted.signal);
        if (interrupted.signal.aborted) await client.request('POST', `/v1/jobs/${job.id}/cancel`).catch(() => undefined);
        let final = await client.request<JobView>('GET', `/v1/jobs/${job.id}/wait?timeout_seconds=300`);
        while (!TERMINAL.has(final.status)) final = await client.request<JobView>('GET', `/v1/jobs/${job.id}/wait?timeout_seconds=300`);
        if (out.json) printJson(final);
        else {
          info(summary(final));
          await printFailureSummary(client, final);
        }
        process.exitCode = exitCodeForJob(final);
      } finally {
        process.off('SIGINT', onSigint);
      }
    }));
}

export function jobsCommand(): Command {
  const cmd = new Command('jobs').description('Inspect and manage jobs');
  cmd
    .command('list')
    .option('--status <status>', 'queued | running | succeeded | failed | timed_out | cancelled')
    .option('--tag <tag>', 'jobs with this tag')
    .option('--image <image>', 'image (prefix with a trailing *)')
    .option('--session <id>', 'only jobs created in this agent session')
    .option('--limit <n>', 'how many (max 200)', (v) => Number(v), 20)
    .action(action(async (o: { status?: string; tag?: string; image?: string; session?: string; limit: number }, c: Command) => {
      const query = new URLSearchParams({ limit: String(o.limit) });
      for (const key of ['status', 'tag', 'image'] as const) if (o[key]) query.set(key, o[key]);
      if (o.session) query.set('session_id', o.session);
      render(outputOptions(c), await new ApiClient().request('GET', `/v1/jobs?${query.toString()}`), { columns: LIST_COLUMNS });
    }));
  addJobSearchCommands(cmd);
  cmd.command('get <id>').action(action(async (id: string, _o: object, c: Command) => {
    render(outputOptions(c), await new ApiClient().request('GET', `/v1/jobs/${id}`));
  }));
  cmd
    .command('summary <id>')
    .description('What a finished job\'s output says went wrong: one line, the lines behind it, a suggestion')
    .action(action(async (id: string, _o: object, c: Command) => {
      const s = await new ApiClient().request<SummaryView>('GET', `/v1/jobs/${id}/summary`);
      if (outputOptions(c).json) printJson(s);
      else process.stdout.write(formatSummary(s));
    }));
  cmd
    .command('wait <id>')
    .option('--timeout <seconds>', 'give up after this long', (v) => Number(v), 300)
    .action(action(async (id: string, o: { timeout: number }, c: Command) => {
      const job = await new ApiClient().request<JobView>('GET', `/v1/jobs/${id}/wait?timeout_seconds=${Math.min(300, o.timeout)}`);
      render(outputOptions(c), job);
      process.exitCode = TERMINAL.has(job.status) ? exitCodeForJob(job) : 1;
    }));
  cmd
    .command('logs <id>')
    .option('-f, --follow', 'stream live until the job ends')
    .option('--tail <n>', 'only the last N chunks', (v) => Number(v))
    .action(action(async (id: string, o: { follow?: boolean; tail?: number }, c: Command) => {
      const client = new ApiClient();
      if (o.follow && !outputOptions(c).json) return streamToTerminal(client, id, new AbortController().signal);
      const query = o.tail ? `tail=${o.tail}` : 'limit=5000';
      const page = await client.request<{ items: Array<{ stream: string; data: string }> }>('GET', `/v1/jobs/${id}/logs?${query}`);
      if (outputOptions(c).json) return printJson(page);
      for (const chunk of page.items) (chunk.stream === 'stdout' ? process.stdout : process.stderr).write(chunk.data);
    }));
  cmd.command('cancel <id>').action(action(async (id: string, _o: object, c: Command) => {
    render(outputOptions(c), await new ApiClient().request('POST', `/v1/jobs/${id}/cancel`));
  }));
  cmd.command('delete <id>').action(action(async (id: string, _o: object, c: Command) => {
    await new ApiClient().request('DELETE', `/v1/jobs/${id}`);
    render(outputOptions(c), { id, deleted: true });
  }));
  cmd.command('artifacts <id>').action(action(async (id: string, _o: object, c: Command) => {
    render(outputOptions(c), await new ApiClient().request('GET', `/v1/jobs/${id}/artifacts`), { columns: ['name', 'size_bytes', 'content_type', 'sha256'] });
  }));
  cmd
    .command('download <id> <name>')
    .option('-o, --output <file>', 'where to write (default: the artifact file name; - for stdout)')
    .action(action(async (id: string, name: string, o: { output?: string }, c: Command) => {
      const response = await new ApiClient().raw('GET', `/v1/jobs/${id}/artifacts/${encodeURIComponent(name)}`);
      if (!response.ok) {
        const body = (await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
        throw new CliError((body.error?.code as CliError['code']) ?? 'internal_error', body.error?.message ?? `HTTP ${response.status}`);
      }
      const target = o.output ?? name.split('/').pop() ?? 'artifact';
      const source = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
      if (target === '-') await pipeline(source, process.stdout);
      else await pipeline(source, createWriteStream(target, { flags: 'wx' }));
      if (target !== '-') render(outputOptions(c), { id, name, saved_to: target, sha256: response.headers.get('x-orcaops-sha256') });
    }));
  return cmd;
}
