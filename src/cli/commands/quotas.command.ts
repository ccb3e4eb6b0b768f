import { Command } from 'commander';
import { ApiClient } from 'src/cli/api-client';
import { CliError } from 'src/cli/cli-error';
import { action, outputOptions } from 'src/cli/command-context';
import { formatBytes, printJson, printTable } from 'src/cli/output';
import { isQuota, QUOTAS } from 'src/quotas/quota-model';

interface LimitItem {
  quota: string;
  limit: number | null;
  source: string;
  unit: string;
  period: string | null;
}
interface UsageItem extends LimitItem {
  current: number;
  remaining: number | null;
  resets_at: string | null;
}

/** `quota=value` pairs: a whole number, or `unlimited`. */
function parseLimits(pairs: string[]): Record<string, number | null> {
  const limits: Record<string, number | null> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = pair.slice(0, Math.max(eq, 0));
    const value = pair.slice(eq + 1);
    if (eq < 1 || !isQuota(key)) throw new CliError('usage', `expected quota=value with a quota among ${QUOTAS.join(', ')}; got "${pair}"`);
    if (value !== 'unlimited' && !/^\d+$/.test(value)) throw new CliError('usage', `${key}: give a whole number or "unlimited", got "${value}"`);
    limits[key] = value === 'unlimited' ? null : Number(value);
  }
  return limits;
}

function amount(value: number | null, unit: string): string {
  if (value === null) return 'unlimited';
  return unit === 'bytes' ? (formatBytes(value) ?? String(value)) : String(value);
}

/** The workspace a command is about: --workspace, else the calling workspace token's own (null for an organisation token). */
async function targetWorkspace(client: ApiClient, workspace: string | undefined): Promise<string | null> {
  if (workspace) return workspace;
  return (await client.request<{ workspace_id: string | null }>('GET', '/v1/me')).workspace_id;
}

function renderLimits(c: Command, body: { workspace_id: string | null; items: LimitItem[] }): void {
  if (outputOptions(c).json) return printJson(body);
  process.stdout.write(`${body.workspace_id ? `workspace ${body.workspace_id}` : 'organisation defaults'}\n`);
  printTable(
    body.items.map((i) => ({ quota: i.quota, limit: amount(i.limit, i.unit), per: i.period ?? '-', source: i.source })),
    ['quota', 'limit', 'per', 'source'],
  );
}

export function quotasCommand(): Command {
  const cmd = new Command('quotas').description('Show or set limits (setting them needs an organisation admin token)');
  cmd
    .command('get')
    .description("A workspace's limits and where each comes from; the organisation defaults with an organisation token and no --workspace")
    .option('--workspace <id>', 'workspace id (default: the token\'s own workspace)')
    .action(action(async (o: { workspace?: string }, c: Command) => {
      const client = new ApiClient();
      const ws = await targetWorkspace(client, o.workspace);
      renderLimits(c, await client.request('GET', ws ? `/v1/workspaces/${ws}/quotas` : '/v1/quotas'));
    }));
  cmd
    .command('set [limits...]')
    .description('Set limits, e.g. `quotas set concurrent_jobs=5 jobs_per_day=unlimited --workspace <id>`; without --workspace: the organisation defaults')
    .option('--workspace <id>', 'workspace id (default: organisation-wide defaults)')
    .option('--reset <quota...>', 'remove overrides: the workspace inherits the organisation default again')
    .action(action(async (pairs: string[], o: { workspace?: string; reset?: string[] }, c: Command) => {
      const limits = parseLimits(pairs);
      if (!Object.keys(limits).length && !o.reset?.length) throw new CliError('usage', 'give at least one quota=value or --reset <quota>');
      const body = { limits, reset: o.reset };
      renderLimits(c, await new ApiClient().request('PUT', o.workspace ? `/v1/workspaces/${o.workspace}/quotas` : '/v1/quotas', body));
    }));
  return cmd;
}

export function usageCommand(): Command {
  return new Command('usage')
    .description('Live usage against every limit, and when each count resets')
    .option('--workspace <id>', "workspace id (default: the token's own workspace)")
    .action(action(async (o: { workspace?: string }, c: Command) => {
      const client = new ApiClient();
      const ws = await targetWorkspace(client, o.workspace);
      if (!ws) throw new CliError('usage', 'an organisation token has no workspace of its own: give --workspace <id>');
      const body = await client.request<{ workspace_id: string; measured_at: string; items: UsageItem[] }>('GET', `/v1/workspaces/${ws}/usage`);
      if (outputOptions(c).json) return printJson(body);
      process.stdout.write(`workspace ${body.workspace_id} at ${body.measured_at}\n`);
      printTable(
        body.items.map((i) => ({
          quota: i.quota,
          used: amount(i.current, i.unit),
          limit: amount(i.limit, i.unit),
          remaining: i.limit === null ? '-' : amount(i.remaining, i.unit),
          resets_at: i.resets_at ?? '-',
        })),
        ['quota', 'used', 'limit', 'remaining', 'resets_at'],
      );
    }));
}
