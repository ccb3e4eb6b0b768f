import { Command } from 'commander';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { ApiClient } from 'src/cli/api-client';
import { CliError } from 'src/cli/cli-error';
import { action, outputOptions } from 'src/cli/command-context';
import { formatBytes, info, printJson, render } from 'src/cli/output';
import { DEFAULT_SOURCE_EXCLUDES, defaultSourceDir, packSourceDir } from 'src/cli/source-archive';

interface InstanceView {
  key: string;
  display_name: string;
  status: string;
  reason: string | null;
  message: string | null;
  job_id: string | null;
  attempt: number;
}

interface RunView {
  id: string;
  name: string;
  status: string;
  conclusion: string | null;
  /** Opaque state token: the follower waits for the run to differ from it. */
  version: string;
  jobs: Array<{ id: string; name: string; phase: string; result: string | null; message: string | null; instances: InstanceView[] }>;
}

const SYMBOLS: Record<string, string> = {
  pending: '·',
  queued: '○',
  waiting: '↻',
  running: '◐',
  succeeded: '✓',
  success: '✓',
  failed: '✗',
  failure: '✗',
  cancelled: '⊘',
  skipped: '–',
};
/** One long-poll of GET /v1/workflows/:id/wait (the server's bound is 60 s); the follower asks again after it. */
const FOLLOW_WAIT_SECONDS = 30;

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function pairs(values: string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq < 1) throw new CliError('usage', `${what} expects KEY=VALUE, got "${v}"`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

/** The tree people read: one line per job, one indented line per instance of a matrix job. */
export function renderTree(run: Omit<RunView, 'version'>): string[] {
  const lines = [`${run.name}  ${run.status === 'completed' ? `${SYMBOLS[run.conclusion ?? ''] ?? ''} ${run.conclusion}` : 'running'}  (${run.id})`];
  for (const job of run.jobs) {
    const single = job.instances.length === 1 && job.instances[0]!.display_name === job.name;
    const status = single ? job.instances[0]!.status : (job.result ?? (job.phase === 'expanded' ? 'running' : job.phase));
    const why = single ? job.instances[0]!.reason : null;
    lines.push(`  ${SYMBOLS[status] ?? '?'} ${job.name}${status !== 'succeeded' && status !== 'success' ? ` [${status}${why ? `: ${why}` : ''}]` : ''}`);
    if (single && job.instances[0]!.message && status !== 'succeeded') lines.push(`      ${job.instances[0]!.message.split('\n')[0]}`);
    if (!single) {
      for (const i of job.instances) {
        lines.push(`    ${SYMBOLS[i.status] ?? '?'} ${i.display_name}${i.status !== 'succeeded' ? ` [${i.status}${i.reason ? `: ${i.reason}` : ''}]` : ''}`);
        if (i.message && i.status !== 'succeeded') lines.push(`        ${i.message.split('\n')[0]}`);
      }
    }
    if (job.phase === 'failed' && job.message) lines.push(`      ${job.message}`);
  }
  return lines;
}

/** Exit codes of design §3.1: 0 success, 1 failure, 130 cancelled. */
export function exitCodeForRun(run: Pick<RunView, 'conclusion'>): number {
  if (run.conclusion === 'success') return 0;
  if (run.conclusion === 'cancelled') return 130;
  return 1;
}

/**
 * Follows the run: a live tree redrawn in place on a terminal, one line per change otherwise. Each
 * read long-polls the wait endpoint for the next version, so changes show as they happen, without polling.
 */
async function follow(client: ApiClient, id: string, json: boolean): Promise<RunView> {
  const tty = process.stdout.isTTY && !json;
  let drawn = 0;
  const seen = new Map<string, string>();
  const path = `/v1/workflows/${encodeURIComponent(id)}`;
  let run = await client.request<RunView>('GET', path);
  for (;;) {
    if (tty) {
      const lines = renderTree(run);
      if (drawn) process.stdout.write(`\x1b[${drawn}A\x1b[J`);
      process.stdout.write(`${lines.join('\n')}\n`);
      drawn = lines.length;
    } else if (!json) {
      for (const job of run.jobs) {
        for (const i of job.instances) {
          const state = `${i.status}${i.reason ? ` (${i.reason})` : ''}`;
          if (seen.get(i.key) !== state) {
            seen.set(i.key, state);
            process.stdout.write(`${i.display_name}: ${state}${i.message && i.status !== 'succeeded' ? ` — ${i.message.split('\n')[0]}` : ''}\n`);
          }
        }
        if (job.instances.length === 0 && job.result && seen.get(`job:${job.id}`) !== job.result) {
          seen.set(`job:${job.id}`, job.result);
          process.stdout.write(`${job.name}: ${job.result}${job.message ? ` (${job.message})` : ''}\n`);
        }
      }
    }
    if (run.status === 'completed') {
      if (!tty && !json) process.stdout.write(`workflow ${run.name}: ${run.conclusion}\n`);
      return run;
    }
    run = await client.request<RunView>('GET', `${path}/wait?timeout_seconds=${FOLLOW_WAIT_SECONDS}&after=${encodeURIComponent(run.version)}`);
  }
}

/** Packs the source directory and uploads it (progress on stderr unless --json); returns its source_id. */
async function uploadSource(client: ApiClient, dir: string, json: boolean): Promise<string> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CliError('usage', `--source ${dir} is not a directory`);
  let shown = 0;
  const packed = await packSourceDir(dir, {
    onProgress: (files, bytes) => {
      if (json || files - shown < 500) return;
      shown = files;
      info(`orcaops: packing ${dir}: ${files} files, ${formatBytes(bytes)}`);
    },
  }).catch((error: Error) => {
    throw new CliError('payload_too_large', error.message);
  });
  if (!json) {
    info(`orcaops: source ${dir}: ${packed.files} files, ${formatBytes(packed.bytes)} (skipping ${DEFAULT_SOURCE_EXCLUDES.join(', ')})`);
    if (packed.skipped.length) info(`orcaops: left out ${packed.skipped.length} symlink(s) or special file(s): ${packed.skipped.slice(0, 5).join(', ')}${packed.skipped.length > 5 ? ', …' : ''}`);
  }
  const response = await client.send('POST', '/v1/workflows/sources', new Blob([packed.tar]).stream(), 'application/x-tar');
  const source = (await response.json()) as { source_id: string; sha256: string };
  if (!json) info(`orcaops: source uploaded (${source.source_id}, sha256 ${source.sha256.slice(0, 12)})`);
  return source.source_id;
}

function runSubcommand(): Command {
  return new Command('run')
    .description('Run a workflow file (GitHub Actions syntax); --follow shows a live tree until it ends')
    .argument('<file>', 'workflow file (.yml)')
    .option('-i, --input <key=value>', 'workflow input (repeatable)', collect, [])
    .option('-e, --env <key=value>', 'run-wide environment override (repeatable)', collect, [])
    .option('-P, --platform <label=image>', 'runs-on label → image (repeatable)', collect, [])
    .option('--image <ref=image>', 'replace an image reference used by the file (repeatable)', collect, [])
    .option('--max-parallel <n>', 'global cap on running instances', (v) => Number(v))
    .option('--skip-unsupported', 'skip unsupported uses: steps with a warning instead of failing validation')
    .option('--dry-run', 'validate and print the plan without running anything')
    .option('-f, --follow', 'follow the run until it ends (exit code 0 success, 1 failure, 130 cancelled)')
    .option('--source <dir>', 'directory actions/checkout brings in (default: the repository root when FILE is in <repo>/.github/workflows/)')
    .option('--no-source', 'send no source directory')
    .option('--session <id>', 'link the run to this agent session (default: $ORCAOPS_SESSION, sent as a header)')
    .action(
      action(async (file: string, o: { input: string[]; env: string[]; platform: string[]; image: string[]; maxParallel?: number; skipUnsupported?: boolean; dryRun?: boolean; follow?: boolean; source?: string | false; session?: string }, command: Command) => {
        const opts = outputOptions(command);
        const client = new ApiClient();
        const body: Record<string, unknown> = { yaml: readFileSync(file, 'utf8'), file: basename(file) };
        const sourceDir = o.source === false ? undefined : (o.source ?? defaultSourceDir(file));
        if (sourceDir && !o.dryRun) body.source_id = await uploadSource(client, sourceDir, opts.json);
        if (o.input.length) body.inputs = pairs(o.input, '--input');
        if (o.env.length) body.env = pairs(o.env, '--env');
        if (o.platform.length) body.platforms = pairs(o.platform, '--platform');
        if (o.image.length) body.images = pairs(o.image, '--image');
        if (o.maxParallel) body.max_parallel = o.maxParallel;
        if (o.skipUnsupported) body.skip_unsupported = true;
        if (o.dryRun) body.dry_run = true;
        if (o.session) body.session_id = o.session;
        const result = await client.request<RunView & { dry_run?: true; jobs: unknown[] }>('POST', '/v1/workflows', body);
        if (o.dryRun) {
          if (opts.json) return printJson(result);
          const plan = result as unknown as { name: string; order: string[]; jobs: Array<{ id: string; expansion: string; skipped_reason: string | null; instances: Array<{ display_name: string; image: string | null }> }> };
          process.stdout.write(`${plan.name}: ${plan.order.join(' → ')}\n`);
          for (const job of plan.jobs) {
            process.stdout.write(`  ${job.id}${job.expansion === 'dynamic' ? ' (matrix expands at run time)' : ''}${job.skipped_reason ? ` [skipped: ${job.skipped_reason}]` : ''}\n`);
            for (const i of job.instances) process.stdout.write(`    ${i.display_name}  ${i.image ?? ''}\n`);
          }
          return;
        }
        if (!o.follow) return render(opts, { id: result.id, name: result.name, status: result.status });
        if (!opts.json) info(`orcaops: workflow run ${result.id} started`);
        const final = await follow(client, result.id, opts.json);
        if (opts.json) printJson(final);
        process.exitCode = exitCodeForRun(final);
      }),
    );
}

export function workflowCommand(): Command {
  const workflow = new Command('workflow').description('Workflows: multi-job DAGs with matrix, services and outputs');
  workflow.addCommand(runSubcommand());
  workflow.addCommand(
    new Command('list')
      .description('Workflow runs, newest first')
      .option('--status <status>', 'running | completed')
      .option('--session <id>', 'runs submitted in this agent session')
      .action(
        action(async (o: { status?: string; session?: string }, command: Command) => {
          const query = new URLSearchParams({ ...(o.status ? { status: o.status } : {}), ...(o.session ? { session_id: o.session } : {}) }).toString();
          render(outputOptions(command), await new ApiClient().request('GET', `/v1/workflows${query ? `?${query}` : ''}`), { columns: ['id', 'name', 'status', 'conclusion', 'created_at', 'finished_at'] });
        }),
      ),
  );
  workflow.addCommand(
    new Command('get')
      .description('A run as a tree of jobs and instances; --follow shows it live until it ends')
      .argument('<id>')
      .option('-f, --follow', 'follow the run until it ends (exit code 0 success, 1 failure, 130 cancelled)')
      .action(
        action(async (id: string, o: { follow?: boolean }, command: Command) => {
          const opts = outputOptions(command);
          const client = new ApiClient();
          if (o.follow) {
            const final = await follow(client, id, opts.json);
            if (opts.json) printJson(final);
            process.exitCode = exitCodeForRun(final);
            return;
          }
          const run = await client.request<RunView>('GET', `/v1/workflows/${encodeURIComponent(id)}`);
          if (opts.json) return printJson(run);
          process.stdout.write(`${renderTree(run).join('\n')}\n`);
        }),
      ),
  );
  workflow.addCommand(
    new Command('cancel')
      .description('Cancel a run: running jobs and services are stopped')
      .argument('<id>')
      .action(
        action(async (id: string, _o: unknown, command: Command) => {
          const run = await new ApiClient().request<RunView>('POST', `/v1/workflows/${encodeURIComponent(id)}/cancel`);
          render(outputOptions(command), { id: run.id, status: run.status, cancelled: true });
        }),
      ),
  );
  workflow.addCommand(
    new Command('delete')
      .alias('rm')
      .description('Delete a finished run with its instance jobs, their output and artifacts')
      .argument('<id>')
      .action(
        action(async (id: string, _o: unknown, command: Command) => {
          await new ApiClient().request('DELETE', `/v1/workflows/${encodeURIComponent(id)}`);
          render(outputOptions(command), { id, deleted: true });
        }),
      ),
  );
  workflow.addCommand(
    new Command('rerun')
      .description('Run the failed instances of a finished run again')
      .argument('<id>')
      .option('-f, --follow', 'follow the run until it ends')
      .action(
        action(async (id: string, o: { follow?: boolean }, command: Command) => {
          const opts = outputOptions(command);
          const client = new ApiClient();
          const run = await client.request<RunView>('POST', `/v1/workflows/${encodeURIComponent(id)}/rerun`);
          if (!o.follow) return render(opts, { id: run.id, status: run.status });
          const final = await follow(client, run.id, opts.json);
          if (opts.json) printJson(final);
          process.exitCode = exitCodeForRun(final);
        }),
      ),
  );
  workflow.addCommand(
    new Command('logs')
      .description("Output of one instance (key, display name such as 'test (3.12)', or job id)")
      .argument('<id>')
      .argument('<instance>')
      .option('--attempt <n>', 'an earlier attempt', (v) => Number(v))
      .option('--tail <n>', 'last N chunks', (v) => Number(v))
      .action(
        action(async (id: string, instance: string, o: { attempt?: number; tail?: number }, command: Command) => {
          const query = new URLSearchParams({ instance });
          if (o.attempt) query.set('attempt', String(o.attempt));
          if (o.tail) query.set('tail', String(o.tail));
          const logs = await new ApiClient().request<{ items: Array<{ stream: string; data: string }> }>('GET', `/v1/workflows/${encodeURIComponent(id)}/logs?${query.toString()}`);
          if (outputOptions(command).json) return printJson(logs);
          for (const chunk of logs.items) (chunk.stream === 'stdout' ? process.stdout : process.stderr).write(chunk.data);
        }),
      ),
  );
  workflow.addCommand(
    new Command('delete-by-query')
      .argument('<query...>')
      .description('Delete completed runs matching a run query, e.g. until:30d status:failed (workspace admins; at most 200 per call, audited)')
      .option('--dry-run', 'count what would be deleted, delete nothing')
      .action(
        action(async (words: string[], o: { dryRun?: boolean }, command: Command) => {
          render(outputOptions(command), await new ApiClient().request('POST', '/v1/workflows/delete-by-query', { q: words.join(' '), dry_run: !!o.dryRun }));
        }),
      ),
  );
  return workflow;
}
