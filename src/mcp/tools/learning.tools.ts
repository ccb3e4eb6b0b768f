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
    defineTool({
      name: 'list_anomalies',
      title: 'Run anomalies',
      description:
        'Runs of this workspace that were far outside their baseline (duration or peak memory above max(p99 × 1.5, ' +
        'p50 × 3)), newest first, with the evidence (value, p50, p99, threshold) and the job id. state: open (default ' +
        'all), acknowledged or resolved. Use it to see whether a slow or memory-hungry run is new.',
      permission: 'job:read',
      input: {
        state: z.enum(['open', 'acknowledged', 'resolved']).optional(),
        limit: z.number().int().min(1).max(200).optional().describe('Default 20'),
        cursor: z.string().max(200).optional().describe('next_cursor of the previous page'),
      },
      output: {
        items: z.array(
          z.object({
            id: z.string(),
            fingerprint: z.string(),
            job_id: z.string().nullable(),
            kind: z.string(),
            severity: z.string(),
            state: z.string(),
            evidence: z.object({ value: z.number(), p50: z.number(), p99: z.number(), threshold: z.number(), baseline_runs: z.number() }),
            detected_at: z.string(),
            state_changed_at: z.string().nullable(),
          }),
        ),
        next_cursor: z.string().nullable(),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      async run(args, call) {
        const page = await baselines.listAnomalies(call.ctx, { state: args.state, cursor: args.cursor, limit: args.limit ?? 20 });
        const critical = page.items.filter((a) => a.severity === 'critical').length;
        return { result: page, summary: `${page.items.length} anomaly(ies), ${critical} critical${page.next_cursor ? '; more with cursor' : ''}` };
      },
    }),
  ];
}

function summaryOf(b: z.infer<typeof baseline>): string {
  const d = b.duration_ms;
  return `${b.runs} run(s), success ${b.success_rate === null ? '-' : `${Math.round(b.success_rate * 100)}%`}, duration p50 ${d.p50 ?? '-'} ms p99 ${d.p99 ?? '-'} ms${b.established ? '' : ' (not yet established)'}`;
}
