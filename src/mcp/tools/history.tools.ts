import { z } from 'zod';
import { invalidField } from 'src/common/errors/orcaops.error';
import type { JobsService } from 'src/jobs/jobs.service';
import type { OrcaTool } from 'src/mcp/tool-kit';
import { defineTool } from 'src/mcp/tool-kit';
import { jobSummary } from 'src/mcp/tools/jobs.tools';
import { jobStatusFilter, jobSummaryOutput } from 'src/mcp/tools/schemas';

function date(field: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime())) {
    throw invalidField(field, `${field} must be an ISO 8601 date`);
  }
  return parsed;
}

/** History: filters over past runs (later issues add workflow runs here). */
export function historyTools(jobs: JobsService): OrcaTool[] {
  return [
    defineTool({
      name: 'search_runs',
      title: 'Search past runs',
      description:
        'Find past jobs by status, tag, image (exact, or a prefix ending with *) and creation time window, newest first. ' +
        'Use it to answer "did this pass before?" or to find a run to inspect with get_job / get_job_logs.',
      permission: 'job:read',
      input: {
        status: jobStatusFilter.optional(),
        tag: z.string().max(64).optional(),
        image: z.string().max(256).optional().describe('e.g. orcaops/python or orcaops/*'),
        since: z.string().optional().describe('Created at or after (ISO 8601)'),
        until: z.string().optional().describe('Created before (ISO 8601)'),
        limit: z.number().int().min(1).max(200).optional().describe('Default 50'),
        cursor: z.string().max(200).optional(),
      },
      output: { items: z.array(jobSummaryOutput), next_cursor: z.string().nullable() },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      async run(args, call) {
        const page = await jobs.list(call.ctx, {
          status: args.status,
          tag: args.tag,
          image: args.image,
          since: date('since', args.since),
          until: date('until', args.until),
          cursor: args.cursor,
          limit: args.limit ?? 50,
        });
        return { result: { items: page.items.map(jobSummary), next_cursor: page.next_cursor }, summary: `${page.items.length} run(s)` };
      },
    }),
  ];
}
