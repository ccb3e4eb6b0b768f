import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { ApiClient } from 'src/cli/api-client';
import { CliError } from 'src/cli/cli-error';
import { parseYaml } from 'src/cli/deferred';
import { action, outputOptions } from 'src/cli/command-context';
import type { RunOptions } from 'src/cli/commands/jobs.command';
import { buildBody, egressNarrowing, parseSecrets } from 'src/cli/commands/jobs.command';
import { printJson, printTable, render } from 'src/cli/output';

interface TargetOptions {
  workspace?: string;
  org?: boolean;
}

interface Decision {
  decision: string;
  violations: Array<{ rule: string; field: string; message: string; effect: string }>;
  egress?: { message: string };
}

/** The workspace of --workspace, else the token's own. */
async function workspaceOf(client: ApiClient, o: TargetOptions): Promise<string> {
  if (o.workspace) return o.workspace;
  const me = await client.request<{ workspace_id: string | null }>('GET', '/v1/me');
  if (!me.workspace_id) throw new CliError('usage', 'an organisation token needs --workspace <id> (or --org for the organisation default)');
  return me.workspace_id;
}

async function policyPath(client: ApiClient, o: TargetOptions): Promise<string> {
  return o.org ? '/v1/policies/organisation' : `/v1/workspaces/${await workspaceOf(client, o)}/policy`;
}

function readDocument(file: string): unknown {
  try {
    return parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliError('usage', `cannot read ${file}: ${(error as Error).message}`);
  }
}

function printDecision(json: boolean, decision: Decision): void {
  if (json) return printJson(decision);
  process.stdout.write(`${decision.decision}\n`);
  if (decision.egress) return void process.stdout.write(`${decision.egress.message}\n`);
  if (decision.violations.length) printTable(decision.violations, ['effect', 'rule', 'field', 'message']);
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function policiesCommand(): Command {
  const cmd = new Command('policies').description('Security policies: organisation default and workspace narrowing');
  const target = (c: Command): Command =>
    c.option('-w, --workspace <id>', 'workspace (default: the token’s)').option('--org', 'the organisation default instead');
  target(cmd.command('get').description('Show a workspace’s policy with the organisation default and the effective policy'))
    .action(action(async (o: TargetOptions, c: Command) => {
      const client = new ApiClient();
      render(outputOptions(c), await client.request('GET', await policyPath(client, o)));
    }));
  target(cmd.command('set <file>').description('Replace the policy with a YAML or JSON document (a workspace policy may only narrow)'))
    .action(action(async (file: string, o: TargetOptions, c: Command) => {
      const client = new ApiClient();
      render(outputOptions(c), await client.request('PUT', await policyPath(client, o), readDocument(file)));
    }));
  cmd
    .command('evaluate')
    .description('Dry run: would this job (or sandbox) be allowed, denied or held for approval? Exit code 4 when denied')
    .argument('[image]', 'image (or give it in --spec)')
    .argument('[command...]', 'command and arguments (after --)')
    .option('-s, --spec <file>', 'job (or sandbox) spec file, YAML or JSON')
    .option('--sandbox', 'evaluate a sandbox spec instead of a job')
    .option('--egress <host:port>', 'instead of a spec: may this workspace\'s egress reach host:port now, and which rule decides?')
    .option('--network <mode>', 'none or egress')
    .option('--egress-allow <domain>', "the work's own destination names, narrowing the policy (repeatable)", collect, [])
    .option('--egress-cidr <range>', "the work's own address ranges, narrowing the policy (repeatable)", collect, [])
    .option('--egress-port <port>', "the work's own ports (repeatable)", collect, [])
    .option('--cpu <cpus>', 'CPUs', (v) => Number(v))
    .option('--memory <size>', 'memory limit, e.g. 256m')
    .option('--pids <n>', 'process limit', (v) => Number(v))
    .option('-t, --timeout <seconds>', 'time limit', (v) => Number(v))
    .option('-e, --env <KEY=VALUE>', 'environment variable (repeatable)', collect, [])
    .option('--secret <ENV=NAME>', 'a secret the work would use, by name (repeatable): may this token\'s role use it?', collect, [])
    .action(action(async (image: string | undefined, argv: string[], o: RunOptions & { sandbox?: boolean; egress?: string }, c: Command) => {
      const client = new ApiClient();
      const body = o.egress
        ? { egress: { ...egressTarget(o.egress), ...egressNarrowing(o) } }
        : o.sandbox
          ? sandboxBody(image, o)
          : { job: buildBody(image, argv, { ...o, artifact: [], tag: [], env: o.env ?? [] }) };
      const decision = await client.request<Decision>('POST', '/v1/policies/evaluate', body);
      printDecision(outputOptions(c).json, decision);
      if (decision.decision === 'denied') process.exitCode = 4;
    }));
  return cmd;
}

/** `pypi.org:443` (the port defaults to 443). */
function egressTarget(value: string): { host: string; port: number } {
  const match = /^(.+?)(?::(\d{1,5}))?$/.exec(value.trim());
  return { host: match?.[1] ?? value, port: match?.[2] ? Number(match[2]) : 443 };
}

function sandboxBody(image: string | undefined, o: RunOptions): { sandbox: Record<string, unknown> } {
  const sandbox: Record<string, unknown> = o.spec ? { ...(readDocument(o.spec) as Record<string, unknown>) } : {};
  if (image) sandbox.image = image;
  if (o.network) sandbox.network = o.network;
  if (o.secret?.length) sandbox.secrets = { ...(sandbox.secrets as Record<string, string> | undefined), ...parseSecrets(o.secret) };
  return { sandbox };
}
