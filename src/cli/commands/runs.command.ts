import { Command } from 'commander';
import { ApiClient } from 'src/cli/api-client';
import { CliError } from 'src/cli/cli-error';
import { action, outputOptions } from 'src/cli/command-context';
import { render } from 'src/cli/output';

interface DeleteResult {
  deleted: number;
  more: boolean;
  dry_run: boolean;
}

const AGE = /^\d{1,4}(m|h|d)$/;

/**
 * `orcaops runs cleanup`: run history clean-up by age and filter (workspace admins, audited) over the two
 * delete-by-query routes, jobs and workflow runs. Each call is bounded by the server; --all repeats it
 * while more match.
 */
export function runsCommand(): Command {
  const runs = new Command('runs').description('Run history (jobs and workflow runs)');
  runs.addCommand(
    new Command('cleanup')
      .description('Delete finished jobs and completed workflow runs older than an age, optionally filtered (workspace admins; audited)')
      .requiredOption('--older-than <age>', 'e.g. 30d, 12h')
      .option('--filter <query>', 'more run-query filters, e.g. "status:failed" (docs/run-records.md#query-syntax)')
      .option('--kind <kind>', 'jobs, workflows or all', 'all')
      .option('--all', 'repeat while more match (each call deletes a bounded batch)')
      .option('--dry-run', 'count what would be deleted, delete nothing')
      .action(
        action(async (o: { olderThan: string; filter?: string; kind: string; all?: boolean; dryRun?: boolean }, command: Command) => {
          if (!AGE.test(o.olderThan)) throw new CliError('usage', `--older-than ${o.olderThan}: an age like 30d, 12h or 90m`);
          if (!['jobs', 'workflows', 'all'].includes(o.kind)) throw new CliError('usage', `--kind ${o.kind}: jobs, workflows or all`);
          const q = `until:${o.olderThan}${o.filter ? ` ${o.filter}` : ''}`;
          const client = new ApiClient();
          const sweep = async (path: string): Promise<DeleteResult> => {
            const total: DeleteResult = { deleted: 0, more: false, dry_run: !!o.dryRun };
            for (;;) {
              const r = await client.request<DeleteResult>('POST', path, { q, dry_run: !!o.dryRun });
              total.deleted += r.deleted;
              total.more = r.more;
              if (!r.more || !o.all || o.dryRun || r.deleted === 0) return total;
            }
          };
          const result: Record<string, unknown> = { query: q };
          if (o.kind !== 'workflows') result.jobs = await sweep('/v1/jobs/delete-by-query');
          if (o.kind !== 'jobs') result.workflow_runs = await sweep('/v1/workflows/delete-by-query');
          render(outputOptions(command), result);
        }),
      ),
  );
  return runs;
}
