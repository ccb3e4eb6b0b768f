import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import { ApiClient } from 'src/cli/api-client';
import { CliError } from 'src/cli/cli-error';
import { action, outputOptions } from 'src/cli/command-context';
import { info, render } from 'src/cli/output';

/** Project files `up` looks for, in order (the first is what `init` writes). */
export const PROJECT_FILES = ['orcaops.yml', 'orcaops.yaml', 'compose.yml', 'compose.yaml', 'docker-compose.yml', 'docker-compose.yaml'];
const POLL_MS = 1_000;
/** `up` gives up waiting (the environment keeps starting; `orcaops ls` shows it) after this long. */
const UP_WAIT_MS = 15 * 60_000;

interface ServiceRow {
  name: string;
  image: string;
  status: string;
}
interface EnvironmentBody {
  id: string;
  name: string | null;
  status: string;
  message: string | null;
  sandbox_id: string | null;
  services: ServiceRow[];
  events: string[];
}
interface TemplateBody {
  name: string;
  description: string | null;
  sandbox: string;
  services: Array<{ name: string; image: string }>;
  file: string;
}

/** A starter project file for `orcaops init` without a template: a sandbox and one mock HTTP service. */
export const STARTER_FILE = `# OrcaOps environment (docs/environments.md): a sandbox plus services on its private network.
# Reach a service from the sandbox by its name, e.g. wget -qO- http://api:8080/hello.json
sandbox:
  image: orcaops/python
services:
  api:
    image: orcaops/busybox
    command: mkdir -p /tmp/www && echo '{"hello":"world"}' > /tmp/www/hello.json && exec httpd -f -p 8080 -h /tmp/www
    expose: ["8080"]
`;

function projectFile(explicit: string | undefined): string {
  if (explicit) {
    if (!existsSync(explicit)) throw new CliError('usage', `${explicit}: no such file`);
    return explicit;
  }
  const found = PROJECT_FILES.find((f) => existsSync(f));
  if (!found) throw new CliError('usage', `no project file here (${PROJECT_FILES.slice(0, 3).join(', ')}...): run \`orcaops init [TEMPLATE]\` or pass -f FILE`);
  return found;
}

/** The environment name `up` and `down` agree on: --name, else the directory's name. */
function projectName(name: string | undefined): string {
  const fromDir = basename(resolve('.')).toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 63);
  return name ?? (fromDir || 'environment');
}

const serviceSummary = (e: EnvironmentBody): string => e.services.map((s) => `${s.name}=${s.status}`).join(', ');

/** Polls until the environment leaves `starting`, printing each new progress line (stderr) as it comes. */
async function follow(client: ApiClient, created: EnvironmentBody): Promise<EnvironmentBody> {
  let printed = 0;
  let current = created;
  const deadline = Date.now() + UP_WAIT_MS;
  for (;;) {
    for (const line of current.events.slice(printed)) info(`  ${line}`);
    printed = current.events.length;
    if (current.status !== 'starting' || Date.now() > deadline) return current;
    await sleep(POLL_MS);
    current = await client.request<EnvironmentBody>('GET', `/v1/environments/${created.id}`);
  }
}

export function templatesCommand(): Command {
  return new Command('templates').description('Environment templates (sandboxes.yml environments:) for `orcaops init` and `orcaops up`').action(
    action(async (_o: object, c: Command) => {
      const body = await new ApiClient().request<{ items: TemplateBody[] }>('GET', '/v1/environment-templates');
      render(outputOptions(c), body, {
        columns: ['name', 'sandbox', 'services', 'description'],
        items: () => body.items.map((t) => ({ ...t, services: t.services.map((s) => `${s.name} (${s.image})`).join(', ') })),
      });
    }),
  );
}

export function initCommand(): Command {
  return new Command('init')
    .description('Write a project file (orcaops.yml) from a template, or a starter one; then `orcaops up`')
    .argument('[template]', 'a template name (see `orcaops templates`)')
    .option('-f, --file <path>', 'where to write it', 'orcaops.yml')
    .option('--force', 'overwrite an existing file')
    .action(
      action(async (template: string | undefined, o: { file: string; force?: boolean }, c: Command) => {
        if (existsSync(o.file) && !o.force) throw new CliError('usage', `${o.file} exists; pass --force to overwrite it`);
        let text = STARTER_FILE;
        if (template) {
          const body = await new ApiClient().request<{ items: TemplateBody[] }>('GET', '/v1/environment-templates');
          const found = body.items.find((t) => t.name === template);
          if (!found) throw new CliError('not_found', `no template "${template}"; available: ${body.items.map((t) => t.name).join(', ') || 'none'}`);
          text = `# From the OrcaOps template ${found.name}${found.description ? `: ${found.description}` : ''} (docs/environments.md)\n${found.file}`;
        }
        writeFileSync(o.file, text);
        if (outputOptions(c).json) render(outputOptions(c), { file: o.file, template: template ?? null });
        else info(`wrote ${o.file}${template ? ` (template ${template})` : ''}; start it with: orcaops up${o.file === 'orcaops.yml' ? '' : ` -f ${o.file}`}`);
      }),
    );
}

export function upCommand(): Command {
  return new Command('up')
    .description('Start the environment of the project file (or --template): services in dependency order, then the sandbox; prints progress')
    .option('-f, --file <path>', `project file (default: the first of ${PROJECT_FILES.slice(0, 3).join(', ')}...)`)
    .option('--template <name>', 'start a template instead of a project file')
    .option('--name <name>', 'environment name (default: the directory name)')
    .option('--ttl <seconds>', "the sandbox's maximum lifetime (default 3600)", (v) => Number(v))
    .option('--idle-timeout <seconds>', "the sandbox's idle timeout (default 600)", (v) => Number(v))
    .option('-d, --detach', 'return once it is created (do not wait for it to be ready)')
    .action(
      action(async (o: { file?: string; template?: string; name?: string; ttl?: number; idleTimeout?: number; detach?: boolean }, c: Command) => {
        const body: Record<string, unknown> = { name: projectName(o.name) };
        if (o.template) body.template = o.template;
        else {
          const file = projectFile(o.file);
          body.compose = readFileSync(file, 'utf8');
          body.file_name = basename(file);
        }
        if (o.ttl) body.ttl_seconds = o.ttl;
        if (o.idleTimeout) body.idle_timeout_seconds = o.idleTimeout;
        const client = new ApiClient();
        const created = await client.request<EnvironmentBody>('POST', '/v1/environments', body);
        info(`environment ${created.id} (${created.name ?? '-'}) starting: ${serviceSummary(created) || 'no services'}`);
        const final = o.detach ? created : await follow(client, created);
        render(outputOptions(c), final);
        if (final.status === 'failed') throw new CliError('conflict', `environment ${final.id} failed: ${final.message ?? 'see its events'}`);
        if (!outputOptions(c).json && final.status === 'ready') info(`ready: run commands with: orcaops sandbox exec ${final.sandbox_id} -- CMD`);
      }),
    );
}

export function downCommand(): Command {
  return new Command('down')
    .description("Stop an environment: its sandbox, services, network and volumes are removed (default: this directory's live environment)")
    .argument('[id]', 'environment id (see `orcaops ls`)')
    .option('--name <name>', 'the environment name (default: the directory name)')
    .action(
      action(async (id: string | undefined, o: { name?: string }, c: Command) => {
        const client = new ApiClient();
        let target = id;
        if (!target) {
          const name = projectName(o.name);
          const list = await client.request<{ items: EnvironmentBody[] }>('GET', '/v1/environments');
          target = list.items.find((e) => e.name === name && (e.status === 'ready' || e.status === 'starting'))?.id;
          if (!target) throw new CliError('not_found', `no live environment named "${name}" (orcaops ls lists them; pass an id)`);
        }
        render(outputOptions(c), await client.request('DELETE', `/v1/environments/${target}`));
      }),
    );
}

export function lsCommand(): Command {
  return new Command('ls')
    .description('Environments of this workspace, newest first')
    .option('--status <status>', 'starting | ready | stopping | stopped | failed')
    .action(
      action(async (o: { status?: string }, c: Command) => {
        const body = await new ApiClient().request<{ items: EnvironmentBody[] }>('GET', `/v1/environments${o.status ? `?status=${encodeURIComponent(o.status)}` : ''}`);
        render(outputOptions(c), body, {
          columns: ['id', 'name', 'status', 'sandbox_id', 'services', 'created_at'],
          items: () => body.items.map((e) => ({ ...e, services: serviceSummary(e) })),
        });
      }),
    );
}
