import { Command } from 'commander';
import { ApiClient } from 'src/cli/api-client';
import { action, outputOptions } from 'src/cli/command-context';
import { CliError } from 'src/cli/cli-error';
import { render } from 'src/cli/output';

const COLUMNS = ['id', 'name', 'status', 'created_at'];

function parseSettings(pairs: string[] | undefined): Record<string, unknown> | undefined {
  if (!pairs?.length) return undefined;
  const settings: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new CliError('usage', `--set expects key=value, got "${pair}"`);
    const value = pair.slice(eq + 1);
    settings[pair.slice(0, eq)] = /^\d+$/.test(value) ? Number(value) : value;
  }
  return settings;
}

export function workspacesCommand(): Command {
  const cmd = new Command('workspaces').description('Manage workspaces (organisation admin token)');
  cmd
    .command('create <name>')
    .description('Create a workspace')
    .action(action(async (name: string, _o: object, c: Command) => {
      render(outputOptions(c), await new ApiClient().request('POST', '/v1/workspaces', { name }));
    }));
  cmd
    .command('list')
    .description('List workspaces')
    .action(action(async (_o: object, c: Command) => {
      render(outputOptions(c), await new ApiClient().request('GET', '/v1/workspaces'), { columns: COLUMNS });
    }));
  cmd
    .command('get <id>')
    .action(action(async (id: string, _o: object, c: Command) => {
      render(outputOptions(c), await new ApiClient().request('GET', `/v1/workspaces/${id}`));
    }));
  cmd
    .command('update <id>')
    .option('--name <name>', 'new name')
    .option('--set <key=value...>', 'settings, e.g. job_retention_days=14')
    .action(action(async (id: string, o: { name?: string; set?: string[] }, c: Command) => {
      const body = { name: o.name, settings: parseSettings(o.set) };
      render(outputOptions(c), await new ApiClient().request('PATCH', `/v1/workspaces/${id}`, body));
    }));
  for (const [verb, status] of [['suspend', 'suspended'], ['activate', 'active']] as const) {
    cmd
      .command(`${verb} <id>`)
      .description(verb === 'suspend' ? "Suspend a workspace: its tokens stop working" : 'Reactivate a suspended workspace')
      .action(action(async (id: string, _o: object, c: Command) => {
        render(outputOptions(c), await new ApiClient().request('PATCH', `/v1/workspaces/${id}`, { status }));
      }));
  }
  cmd
    .command('archive <id>')
    .description('Archive a workspace (final)')
    .action(action(async (id: string, _o: object, c: Command) => {
      render(outputOptions(c), await new ApiClient().request('DELETE', `/v1/workspaces/${id}`));
    }));
  return cmd;
}
