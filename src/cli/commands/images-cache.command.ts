import { Command } from 'commander';
import { ApiClient } from 'src/cli/api-client';
import { CliError } from 'src/cli/cli-error';
import { action, outputOptions } from 'src/cli/command-context';
import { formatBytes, info, render, shortId } from 'src/cli/output';

interface ImageRow {
  id: string;
  kind: string;
  references: string[];
  size_bytes: number;
  last_used_at: string;
  workspaces?: Array<{ workspace_id: string }>;
  keep?: string | null;
}

interface Removal {
  dry_run: boolean;
  removed: ImageRow[];
  failed: Array<{ id: string; error: string }>;
  bytes_freed: number;
  total_bytes_after: number;
}

function rows(items: ImageRow[]): Array<Record<string, unknown>> {
  return items.map((i) => ({
    id: shortId(i.id),
    kind: i.kind,
    reference: i.references[0] ?? '',
    size: formatBytes(i.size_bytes),
    last_used_at: i.last_used_at,
    workspaces: (i.workspaces ?? []).map((w) => w.workspace_id.slice(0, 8)).join(','),
    keep: i.keep ?? '',
  }));
}

function renderRemoval(c: Command, result: Removal, what: string): void {
  render(outputOptions(c), result, { columns: ['id', 'kind', 'reference', 'size', 'last_used_at'], items: () => rows(result.removed) });
  if (outputOptions(c).json) return;
  const verb = result.dry_run ? 'would remove' : 'removed';
  info(`${what}: ${verb} ${result.removed.length} image(s), ${formatBytes(result.bytes_freed)}; cache now ${formatBytes(result.total_bytes_after)}`);
  for (const f of result.failed) info(`not removed ${shortId(f.id)}: ${f.error}`);
  if (result.failed.length) process.exitCode = 1;
}

function bytes(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?$/i.exec(value.trim());
  if (!match) throw new CliError('usage', `not a size: "${value}" (bytes, or 500MB, 2GiB, ...)`);
  const unit = (match[2] ?? 'b').toLowerCase();
  const power = { b: 0, k: 1, m: 2, g: 3, t: 4 }[unit[0] as 'b' | 'k' | 'm' | 'g' | 't'];
  const base = unit.includes('i') ? 1024 : 1000;
  return Math.floor(Number(match[1]) * base ** power);
}

/**
 * `orcaops images cache`: the engine's image cache. `ls`, `prune` and `gc` are for organisation admins
 * (`/v1/admin/images`); `usage` shows a workspace token its own images and image quota.
 */
export function imagesCacheCommand(): Command {
  const cmd = new Command('cache').description('Images OrcaOps pulled or built on the engine: list, prune, LRU collection (organisation admin)');
  cmd
    .command('ls')
    .description('Pulled and built images (and the standard ones) with size, last use and workspaces')
    .option('--workspace <id>', 'only the images of this workspace')
    .action(action(async (o: { workspace?: string }, c: Command) => {
      const query = o.workspace ? `?workspace_id=${encodeURIComponent(o.workspace)}` : '';
      const result = await new ApiClient().request<{ items: ImageRow[]; total_bytes: number; budget_bytes: number | null }>('GET', `/v1/admin/images${query}`);
      render(outputOptions(c), result, { columns: ['id', 'kind', 'reference', 'size', 'last_used_at', 'workspaces', 'keep'], items: () => rows(result.items) });
      if (!outputOptions(c).json) info(`cache: ${formatBytes(result.total_bytes)}${result.budget_bytes === null ? ' (no budget set)' : ` of ${formatBytes(result.budget_bytes)}`}`);
    }));
  cmd
    .command('prune')
    .description('Remove every pulled or built image no container uses (never standard images or names OrcaOps did not make)')
    .option('--dry-run', 'list what would be removed, remove nothing', false)
    .option('--unused-for <seconds>', 'only images unused for at least this long', (v) => Number(v))
    .action(action(async (o: { dryRun: boolean; unusedFor?: number }, c: Command) => {
      const body = { dry_run: o.dryRun, ...(o.unusedFor === undefined ? {} : { unused_for_seconds: o.unusedFor }) };
      renderRemoval(c, await new ApiClient().request<Removal>('POST', '/v1/admin/images/prune', body), 'prune');
    }));
  cmd
    .command('gc')
    .description('Remove least recently used images until the cache fits its budget (ORCAOPS_IMAGE_CACHE_BYTES, or --budget)')
    .option('--dry-run', 'list what would be removed, remove nothing', false)
    .option('--budget <size>', 'budget of this pass: bytes or 500MB, 2GiB', bytes)
    .action(action(async (o: { dryRun: boolean; budget?: number }, c: Command) => {
      const body = { dry_run: o.dryRun, ...(o.budget === undefined ? {} : { budget_bytes: o.budget }) };
      renderRemoval(c, await new ApiClient().request<Removal>('POST', '/v1/admin/images/gc', body), 'gc');
    }));
  cmd
    .command('usage')
    .description("This workspace's pulled and built images, their bytes and its image quota (workspace token)")
    .action(action(async (_o: object, c: Command) => {
      const result = await new ApiClient().request<{ items: ImageRow[]; used_bytes: number; quota_bytes: number | null }>('GET', '/v1/images/cache');
      render(outputOptions(c), result, { columns: ['id', 'kind', 'reference', 'size', 'last_used_at'], items: () => rows(result.items) });
      if (!outputOptions(c).json) info(`images: ${formatBytes(result.used_bytes)}${result.quota_bytes === null ? ' (no quota)' : ` of ${formatBytes(result.quota_bytes)} (images.max_cache_mb)`}`);
    }));
  return cmd;
}
