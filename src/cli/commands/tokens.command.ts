import { Command } from 'commander';
import { ApiClient } from 'src/cli/api-client';
import { action, outputOptions } from 'src/cli/command-context';
import { info, render } from 'src/cli/output';

const COLUMNS = ['id', 'name', 'role', 'display_prefix', 'state', 'expires_at', 'last_used_at'];
const base = (ws: string): string => `/v1/workspaces/${ws}/tokens`;

export function tokensCommand(): Command {
  const cmd = new Command('tokens').description("Manage a workspace's API tokens");
  cmd
    .command('create <workspace> <name>')
    .requiredOption('--role <role>', 'admin | developer | viewer | ci')
    .option('--expires-in-days <days>', 'expiry in days', (v) => Number(v))
    .action(action(async (ws: string, name: string, o: { role: string; expiresInDays?: number }, c: Command) => {
      const created = await new ApiClient().request<Record<string, unknown>>('POST', base(ws), {
        name,
        role: o.role,
        expires_in_days: o.expiresInDays,
      });
      render(outputOptions(c), created);
      if (!outputOptions(c).json) info('Store the token now: it is not shown again.');
    }));
  cmd
    .command('list <workspace>')
    .action(action(async (ws: string, _o: object, c: Command) => {
      render(outputOptions(c), await new ApiClient().request('GET', base(ws)), { columns: COLUMNS });
    }));
  cmd
    .command('revoke <workspace> <tokenId>')
    .action(action(async (ws: string, id: string, _o: object, c: Command) => {
      render(outputOptions(c), await new ApiClient().request('DELETE', `${base(ws)}/${id}`));
    }));
  cmd
    .command('rotate <workspace> <tokenId>')
    .description('Replace the secret (the old one stops working at once)')
    .action(action(async (ws: string, id: string, _o: object, c: Command) => {
      render(outputOptions(c), await new ApiClient().request('POST', `${base(ws)}/${id}/rotate`));
    }));
  return cmd;
}
