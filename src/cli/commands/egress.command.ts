import { Command } from 'commander';
import { ApiClient } from 'src/cli/api-client';
import { action, outputOptions } from 'src/cli/command-context';
import { render } from 'src/cli/output';

const COLUMNS = ['at', 'subject_kind', 'subject_id', 'decision', 'host', 'address', 'port', 'rule', 'bytes_up', 'bytes_down', 'duration_ms'];

/** `orcaops egress events`: what jobs and sandboxes tried to reach and what the egress gateway decided. */
export function egressCommand(): Command {
  const cmd = new Command('egress').description('Network egress: the gateway\'s decisions');
  cmd
    .command('events')
    .description("The workspace's recent egress decisions, newest first")
    .option('--job <id>', "one job's connections")
    .option('--sandbox <id>', "one sandbox's connections")
    .option('--denied', 'only refused connections')
    .option('--limit <n>', 'how many (max 1000)', (v) => Number(v), 100)
    .action(
      action(async (o: { job?: string; sandbox?: string; denied?: boolean; limit: number }, c: Command) => {
        const q = new URLSearchParams({ limit: String(o.limit) });
        if (o.job) q.set('job_id', o.job);
        if (o.sandbox) q.set('sandbox_id', o.sandbox);
        if (o.denied) q.set('decision', 'denied');
        render(outputOptions(c), await new ApiClient().request('GET', `/v1/egress/events?${q.toString()}`), { columns: COLUMNS });
      }),
    );
  return cmd;
}
