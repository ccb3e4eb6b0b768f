import { Command } from 'commander';
import { ApiClient } from 'src/cli/api-client';
import { CliError } from 'src/cli/cli-error';
import { action, outputOptions } from 'src/cli/command-context';
import { egressNarrowing, parseMemory, parseSecrets } from 'src/cli/commands/jobs.command';
import { render } from 'src/cli/output';

const LIST_COLUMNS = ['id', 'status', 'exit_reason', 'image', 'profile', 'expires_at', 'created_at'];
const PROFILE_COLUMNS = ['name', 'image', 'timeout_seconds', 'cleanup_policy', 'description'];

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function pairs(values: string[], flag: string, fromHost: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of values) {
    const eq = pair.indexOf('=');
    if (eq >= 1) out[pair.slice(0, eq)] = pair.slice(eq + 1);
    else if (fromHost && process.env[pair] !== undefined) out[pair] = process.env[pair]!;
    else throw new CliError('usage', `${flag} expects KEY=VALUE, got "${pair}"`);
  }
  return out;
}

interface CreateOptions {
  profile?: string;
  name?: string;
  ttl?: number;
  idleTimeout?: number;
  env: string[];
  secret?: string[];
  label: string[];
  memory?: string;
  cpu?: number;
  network?: string;
  egressAllow?: string[];
  egressCidr?: string[];
  egressPort?: string[];
  session?: string;
  pull?: string;
}

export function createSandboxBody(image: string | undefined, o: CreateOptions): Record<string, unknown> {
  if (!image && !o.profile) throw new CliError('usage', 'give an IMAGE or --profile NAME');
  const body: Record<string, unknown> = {};
  if (image) body.image = image;
  if (o.profile) body.profile = o.profile;
  if (o.name) body.name = o.name;
  if (o.ttl) body.ttl_seconds = o.ttl;
  if (o.idleTimeout) body.idle_timeout_seconds = o.idleTimeout;
  if (o.env.length) body.env = pairs(o.env, '-e', true);
  if (o.secret?.length) body.secrets = parseSecrets(o.secret);
  if (o.label.length) body.labels = pairs(o.label, '--label', false);
  const resources: Record<string, number> = {};
  if (o.cpu) resources.cpu = o.cpu;
  if (o.memory) resources.memory_mb = parseMemory(o.memory);
  if (Object.keys(resources).length) body.resources = resources;
  if (o.network) body.network = o.network;
  const egress = egressNarrowing(o);
  if (egress) {
    body.egress = egress;
    body.network ??= 'egress';
  }
  if (o.session) body.session_id = o.session;
  if (o.pull) body.pull_policy = o.pull;
  return body;
}

/**
 * `orcaops sandbox ...`: a REST client like `orcaops jobs`. Other sandbox subcommands (exec, shell, ps,
 * files) live with the interaction layer and are passed in as `extra`, so this file stays the one
 * builder of the `sandbox` command: `program.addCommand(sandboxCommand([execCommand(), ...]))`.
 */
export function sandboxCommand(extra: Command[] = []): Command {
  const cmd = new Command('sandbox').alias('sandboxes').description('Long-lived locked-down sandboxes for agents');
  cmd
    .command('create')
    .description('Start a sandbox from an image or a profile; prints it once ready')
    .argument('[image]', 'image, e.g. orcaops/python (or --profile)')
    .option('--profile <name>', 'a profile from sandboxes.yml (see `orcaops sandbox profiles`)')
    .option('--name <name>', 'a name to recognise it by')
    .option('--ttl <seconds>', 'maximum lifetime (default 3600, max 86400)', (v) => Number(v))
    .option('--idle-timeout <seconds>', 'expire after this long with no API call and no running process (default 600)', (v) => Number(v))
    .option('-e, --env <KEY=VALUE>', 'environment variable for every command (repeatable)', collect, [])
    .option('--secret <ENV=NAME>', 'a workspace secret as an environment variable of every command, by name (repeatable; masked as *** in output)', collect, [])
    .option('--label <k=v>', 'label (repeatable)', collect, [])
    .option('--memory <size>', 'memory limit, e.g. 256m or 1g')
    .option('--cpu <cpus>', 'CPUs, e.g. 0.5', (v) => Number(v))
    .option('--network <mode>', 'none (default) or egress')
    .option('--egress-allow <domain>', 'with egress: a name this sandbox may reach, narrowing the policy (repeatable; implies --network egress)', collect, [])
    .option('--egress-cidr <range>', 'with egress: an address range this sandbox may reach, narrowing the policy (repeatable)', collect, [])
    .option('--egress-port <port>', "with egress: a port this sandbox may reach, among the policy's (repeatable)", collect, [])
    .option('--session <id>', 'link the sandbox to this agent session (default: $ORCAOPS_SESSION, sent as a header)')
    .option('--pull <policy>', 'when to pull the image: if_not_present (default), always or never')
    .action(action(async (image: string | undefined, o: CreateOptions, c: Command) => {
      render(outputOptions(c), await new ApiClient().request('POST', '/v1/sandboxes', createSandboxBody(image, o)));
    }));
  cmd
    .command('list')
    .option('--status <status>', 'starting | ready | stopping | stopped | expired | failed | lost')
    .option('--label <k=v>', 'only sandboxes with this label (repeatable)', collect, [])
    .option('--session <id>', 'only sandboxes created in this agent session')
    .option('--limit <n>', 'how many (max 200)', (v) => Number(v), 50)
    .action(action(async (o: { status?: string; label: string[]; session?: string; limit: number }, c: Command) => {
      const query = new URLSearchParams({ limit: String(o.limit) });
      if (o.status) query.set('status', o.status);
      if (o.session) query.set('session_id', o.session);
      for (const l of o.label) query.append('label', l);
      render(outputOptions(c), await new ApiClient().request('GET', `/v1/sandboxes?${query.toString()}`), { columns: LIST_COLUMNS });
    }));
  cmd.command('get <id>').action(action(async (id: string, _o: object, c: Command) => {
    render(outputOptions(c), await new ApiClient().request('GET', `/v1/sandboxes/${id}`));
  }));
  cmd
    .command('extend <id>')
    .description('Keep a sandbox alive: it now expires --ttl seconds from now')
    .requiredOption('--ttl <seconds>', 'seconds from now (max 86400)', (v) => Number(v))
    .action(action(async (id: string, o: { ttl: number }, c: Command) => {
      render(outputOptions(c), await new ApiClient().request('POST', `/v1/sandboxes/${id}/extend`, { ttl_seconds: o.ttl }));
    }));
  cmd.command('rm <id>').alias('delete').description('Stop a sandbox and remove its container').action(action(async (id: string, _o: object, c: Command) => {
    render(outputOptions(c), await new ApiClient().request('DELETE', `/v1/sandboxes/${id}`));
  }));
  cmd.command('profiles').description('Named profiles from sandboxes.yml').action(action(async (_o: object, c: Command) => {
    render(outputOptions(c), await new ApiClient().request('GET', '/v1/sandbox-profiles'), { columns: PROFILE_COLUMNS });
  }));
  cmd
    .command('run-profile <name>')
    .description("Run a profile's command once as a job; prints the job (follow it with `orcaops jobs wait`)")
    .option('-e, --env <KEY=VALUE>', 'extra environment variable (repeatable)', collect, [])
    .action(action(async (name: string, o: { env: string[] }, c: Command) => {
      const body = o.env.length ? { env: pairs(o.env, '-e', true) } : {};
      render(outputOptions(c), await new ApiClient().request('POST', `/v1/sandbox-profiles/${encodeURIComponent(name)}/run`, body));
    }));
  cmd
    .command('preview <id> <port>')
    .description('Issue a signed URL that serves PORT of the sandbox to any browser (HTTP and WebSocket); prints the URL')
    .option('--ttl <seconds>', 'the URL stops working after this long (default 3600, max 604800)', (v) => Number(v))
    .action(action(async (id: string, port: string, o: { ttl?: number }, c: Command) => {
      const client = new ApiClient();
      const body: Record<string, unknown> = { port: Number(port) };
      if (o.ttl !== undefined) body.ttl_seconds = o.ttl;
      const preview = await client.request<{ url: string; path: string }>('POST', `/v1/sandboxes/${id}/previews`, body);
      // The address this CLI reaches the API at is the one its user can open.
      const url = `${client.baseUrl.replace(/\/+$/, '')}${preview.path}`;
      if (outputOptions(c).json) render(outputOptions(c), { ...preview, url });
      else process.stdout.write(`${url}\n`);
    }));
  for (const sub of extra) cmd.addCommand(sub);
  return cmd;
}
