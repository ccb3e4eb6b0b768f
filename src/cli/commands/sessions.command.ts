import { Command } from 'commander';
import { ApiClient } from 'src/cli/api-client';
import { CliError } from 'src/cli/cli-error';
import { action, outputOptions } from 'src/cli/command-context';
import { info, printJson, printRecord, printTable, render } from 'src/cli/output';

const LIST_COLUMNS = ['id', 'agent_type', 'name', 'status', 'end_reason', 'created_at', 'last_activity_at'];

interface SessionView {
  jobs: Array<Record<string, unknown>>;
  sandboxes: Array<Record<string, unknown>>;
  workflow_runs: Array<Record<string, unknown>>;
  spend: Record<string, unknown>;
  cleanup?: Record<string, unknown>;
  [key: string]: unknown;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function metadata(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new CliError('usage', `--meta expects KEY=VALUE, got "${pair}"`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** The session, then what it created and spent, for people. */
function printView(view: SessionView): void {
  const { jobs, sandboxes, workflow_runs: runs, spend, cleanup, ...session } = view;
  printRecord(session);
  process.stdout.write('\nspend\n');
  printRecord(spend);
  if (cleanup) {
    process.stdout.write('\ncleanup\n');
    printRecord(cleanup);
  }
  process.stdout.write('\njobs\n');
  printTable(jobs, ['id', 'status', 'reason', 'image', 'created_at', 'cpu_seconds']);
  process.stdout.write('\nsandboxes\n');
  printTable(sandboxes, ['id', 'name', 'status', 'exit_reason', 'image', 'created_at']);
  process.stdout.write('\nworkflow runs\n');
  printTable(runs, ['id', 'name', 'status', 'conclusion', 'created_at']);
}

function show(c: Command, view: SessionView): void {
  if (outputOptions(c).json) printJson(view);
  else printView(view);
}

/** `orcaops sessions open|list|get|end`: agent sessions, a REST client like `orcaops jobs`. */
export function sessionsCommand(): Command {
  const cmd = new Command('sessions').alias('session').description('Agent sessions: link jobs and sandboxes, see what they spent, clean up');
  cmd
    .command('open')
    .description('Open a session and print it (use its id with --session or ORCAOPS_SESSION)')
    .option('--agent-type <type>', 'claude-code, ci, custom, ...', 'custom')
    .option('--name <name>', 'a name to recognise it by')
    .option('--meta <KEY=VALUE>', 'metadata (repeatable)', collect, [])
    .option('--idle-timeout <seconds>', 'end it after this long with no request carrying it (default 1800)', (v) => Number(v))
    .option('--no-cleanup-on-idle', 'on idle expiry leave its sandboxes and jobs alone')
    .action(action(async (o: { agentType: string; name?: string; meta: string[]; idleTimeout?: number; cleanupOnIdle: boolean }, c: Command) => {
      const body: Record<string, unknown> = { agent_type: o.agentType, cleanup_on_idle: o.cleanupOnIdle };
      if (o.name) body.name = o.name;
      if (o.meta.length) body.metadata = metadata(o.meta);
      if (o.idleTimeout) body.idle_timeout_seconds = o.idleTimeout;
      const session = await new ApiClient().request<{ id: string }>('POST', '/v1/sessions', body);
      render(outputOptions(c), session);
      if (!outputOptions(c).json) info(`export ORCAOPS_SESSION=${session.id}`);
    }));
  cmd
    .command('list')
    .option('--status <status>', 'open | ended')
    .option('--agent-type <type>', 'only this agent type')
    .option('--limit <n>', 'how many (max 200)', (v) => Number(v), 50)
    .action(action(async (o: { status?: string; agentType?: string; limit: number }, c: Command) => {
      const query = new URLSearchParams({ limit: String(o.limit) });
      if (o.status) query.set('status', o.status);
      if (o.agentType) query.set('agent_type', o.agentType);
      render(outputOptions(c), await new ApiClient().request('GET', `/v1/sessions?${query.toString()}`), { columns: LIST_COLUMNS });
    }));
  cmd
    .command('get <id>')
    .description('The session, its jobs, sandboxes and workflow runs, and what they spent')
    .action(action(async (id: string, _o: object, c: Command) => {
      show(c, await new ApiClient().request<SessionView>('GET', `/v1/sessions/${id}`));
    }));
  cmd
    .command('end <id>')
    .option('--cleanup', 'also stop its sandboxes and cancel its workflow runs and queued and running jobs')
    .action(action(async (id: string, o: { cleanup?: boolean }, c: Command) => {
      show(c, await new ApiClient().request<SessionView>('POST', `/v1/sessions/${id}/end`, { cleanup: Boolean(o.cleanup) }));
    }));
  return cmd;
}
