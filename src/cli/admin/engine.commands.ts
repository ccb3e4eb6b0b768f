import type { Command } from 'commander';
import type { INestApplicationContext } from '@nestjs/common';
import { action, outputOptions } from 'src/cli/command-context';
import { info, render } from 'src/cli/output';
import { loadAdminContext, loadEngineAdmin } from 'src/cli/deferred';
import type { EngineAdminService } from 'src/operator/engine-admin.service';
import type { TenantContext } from 'src/tenancy/tenant-context';

const PS_COLUMNS = ['type', 'short_id', 'kind', 'status', 'workspace_id', 'age', 'orphan_reason', 'name'];
type EngineType = 'container' | 'volume' | 'network';

/** Runs `fn` with the engine views in an operator context (the database and the engine; no server needed). */
async function withEngine<T>(fn: (engine: EngineAdminService, ctx: TenantContext) => Promise<T>): Promise<T> {
  const [{ operatorContext, withAdminContext, EngineAdminModule }, { EngineAdminService: Service }] = await Promise.all([loadAdminContext(), loadEngineAdmin()]);
  return withAdminContext((app: INestApplicationContext) => fn(app.get(Service), operatorContext()), EngineAdminModule);
}

function age(seconds: number | null): string {
  if (seconds === null) return '-';
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

function rows(items: Array<{ type: string; id: string; age_seconds: number | null }>): Array<Record<string, unknown>> {
  return items.map((o) => ({ ...o, short_id: o.type === 'container' ? o.id.slice(0, 12) : o.id, age: age(o.age_seconds) }));
}

function typeOf(o: { volume?: boolean; network?: boolean }): EngineType {
  return o.volume ? 'volume' : o.network ? 'network' : 'container';
}

/** `orcaops admin ps | logs | inspect | stop | rm | gc` (issue 20 item 4; docs/operations.md). */
export function addEngineCommands(cmd: Command): void {
  cmd
    .command('ps')
    .description('Containers, volumes and networks OrcaOps manages on the engine, with kind, workspace, age and orphans')
    .option('--orphans', 'only orphans')
    .option('--type <type>', 'container, volume or network')
    .action(action(async (o: { orphans?: boolean; type?: EngineType }, c: Command) => {
      const items = await withEngine((engine, ctx) => engine.list(ctx, { orphans: o.orphans, type: o.type }));
      render(outputOptions(c), { items }, { columns: PS_COLUMNS, items: () => rows(items) });
    }));
  cmd
    .command('inspect <container>')
    .description('One managed container (id, unique id prefix or name)')
    .action(action(async (ref: string, _o: object, c: Command) => {
      render(outputOptions(c), await withEngine((engine, ctx) => engine.inspect(ctx, ref)));
    }));
  cmd
    .command('logs <container>')
    .description('The end of a managed container’s output')
    .option('--tail-bytes <n>', 'bytes from the end (default 65536)', (v) => Number(v))
    .action(action(async (ref: string, o: { tailBytes?: number }, c: Command) => {
      const result = await withEngine((engine, ctx) => engine.logs(ctx, ref, o.tailBytes));
      if (outputOptions(c).json) render(outputOptions(c), result);
      else process.stdout.write(result.logs);
    }));
  cmd
    .command('stop <container>')
    .description('Kill a managed container')
    .action(action(async (ref: string, _o: object, c: Command) => {
      render(outputOptions(c), await withEngine((engine, ctx) => engine.stop(ctx, ref)));
    }));
  cmd
    .command('rm <ref>')
    .description('Remove a managed container (default), volume or network')
    .option('--volume', 'REF is a volume name')
    .option('--network', 'REF is a network name')
    .action(action(async (ref: string, o: { volume?: boolean; network?: boolean }, c: Command) => {
      render(outputOptions(c), await withEngine((engine, ctx) => engine.remove(ctx, typeOf(o), ref)));
    }));
  cmd
    .command('gc')
    .description('Remove every orphan: objects whose record is gone, pools of stopped servers, installations whose data directory is gone')
    .option('--dry-run', 'list what would be removed, remove nothing')
    .action(action(async (o: { dryRun?: boolean }, c: Command) => {
      const result = await withEngine((engine, ctx) => engine.gc(ctx, o.dryRun === true));
      render(outputOptions(c), result, { columns: PS_COLUMNS, items: () => rows(result.removed) });
      if (!outputOptions(c).json) {
        info(`${result.dry_run ? 'would remove' : 'removed'} ${result.removed.length} object(s)${result.failed.length ? `, ${result.failed.length} failed` : ''}`);
        for (const f of result.failed) info(`failed: ${f.type} ${f.id}: ${f.error}`);
      }
    }));
}
