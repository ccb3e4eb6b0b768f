import { z } from 'zod';
import type { RunBaselines } from 'src/learning/run-baselines.service';
import type { OrcaTool } from 'src/mcp/tool-kit';
import { defineTool } from 'src/mcp/tool-kit';

const measure = z.object({ samples: z.number(), ewma: z.number().nullable(), p50: z.number().nullable(), p90: z.number().nullable(), p99: z.number().nullable() });
const baseline = z.object({
  fingerprint: z.string(),
  runs: z.number(),
  succeeded: z.number(),
  failed: z.number(),
  success_rate: z.number().nullable(),
  recent_success_rate: z.number().nullable(),
  established: z.boolean().describe('Enough successful runs to judge a run against it'),
  established_after: z.number(),
  duration_ms: measure,
  memory_peak_bytes: measure,
  cpu_seconds: measure,
  last_run_at: z.string().nullable(),
  since: z.string(),
});

/** What is normal for a recurring job: an agent sizes timeouts and memory from it, or spots a drift. */
export function learningTools(baselines: RunBaselines): OrcaTool[] {
  return [
    defineTool({
      name: 'get_baselines',
      title: 'Run baselines',
      description:
        'What is normal for recurring jobs of this workspace, per fingerprint (a job’s record.fingerprint): ' +
        'runs, success rate (overall and recent), and duration / peak memory / CPU quantiles (p50, p90, p99) of ' +
        'successful runs. Give a fingerprint for one baseline, or none for the most recently updated ones. ' +
        'Use it to set timeout_seconds and memory from p99 with headroom, or to tell whether a run was unusual.',
      permission: 'job:read',
      input: {
        fingerprint: z.string().regex(/^[0-9a-fA-F]{64}$/).optional().describe('A job’s record.fingerprint (64 hex digits)'),
        limit: z.number().int().min(1).max(200).optional().describe('Without fingerprint: how many (default 20)'),
        cursor: z.string().max(200).optional().describe('next_cursor of the previous page'),
      },
      output: { items: z.array(baseline), next_cursor: z.string().nullable() },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      async run(args, call) {
        if (args.fingerprint) {
          const one = await baselines.get(call.ctx, args.fingerprint.toLowerCase());
          return { result: { items: [one], next_cursor: null }, summary: summaryOf(one) };
        }
        const page = await baselines.list(call.ctx, args.cursor, args.limit ?? 20);
        return { result: page, summary: `${page.items.length} baseline(s)${page.next_cursor ? '; more with cursor' : ''}` };
      },
    }),
  ];
}

function summaryOf(b: z.infer<typeof baseline>): string {
  const d = b.duration_ms;
  return `${b.runs} run(s), success ${b.success_rate === null ? '-' : `${Math.round(b.success_rate * 100)}%`}, duration p50 ${d.p50 ?? '-'} ms p99 ${d.p99 ?? '-'} ms${b.established ? '' : ' (not yet established)'}`;
}
