import { z } from 'zod';
import type { RunSummaryDto } from 'src/jobs/dto/search-jobs.dto';
import type { RunSearchService } from 'src/jobs/records/run-search.service';
import type { OrcaTool } from 'src/mcp/tool-kit';
import { defineTool } from 'src/mcp/tool-kit';
import { jobStatusFilter } from 'src/mcp/tools/schemas';
import type { WorkflowsService } from 'src/workflows/workflows.service';

const runHitOutput = z.object({
  id: z.string(),
  status: z.string(),
  reason: z.string().nullable(),
  exit_code: z.number().nullable(),
  image: z.string(),
  fingerprint: z.string().nullable().describe('First 12 hex digits; runs with the same fingerprint ran the same thing (fingerprint:<hex> finds them)'),
  tags: z.array(z.string()),
  created_at: z.string(),
  duration_ms: z.number().nullable(),
  output_truncated: z.boolean(),
});

/** A run as an agent needs it in a list: what, how it ended, when; get_job has the rest. */
function runHit(row: RunSummaryDto): z.infer<typeof runHitOutput> {
  const { id, status, reason, exit_code, image, fingerprint, tags, created_at, duration_ms, output_truncated } = row;
  return { id, status, reason, exit_code, image, fingerprint: fingerprint?.slice(0, 12) ?? null, tags, created_at, duration_ms, output_truncated };
}

/** A value as a query term value: quoted when it holds a space or a quote. */
function term(field: string, value: string | undefined): string[] {
  if (value === undefined) return [];
  return [/[\s"]/.test(value) ? `${field}:"${value.replace(/["\\]/g, (c) => `\\${c}`)}"` : `${field}:${value}`];
}

/** History: search over past runs (docs/run-records.md; later issues add workflow runs here). */
export function historyTools(search: RunSearchService, workflows: WorkflowsService): OrcaTool[] {
  return [
    defineTool({
      name: 'search_runs',
      title: 'Search past runs',
      description:
        'Find past jobs, newest first, with a query: status:failed,timed_out reason:oom_killed image:orcaops/python* tag:x ' +
        'triggered_by:x session:<id> exit>0 duration>30s since:7d until:2026-12-01 meta.KEY:value fingerprint:<hex>, and ' +
        '"quoted text" (or bare words of 3+ characters) the output must contain. Answers "did this pass before?", "where did ' +
        'this error show up?". A malformed query answers with the position and what was expected there.',
      permission: 'job:read',
      input: {
        query: z.string().max(1000).optional().describe('e.g. status:failed image:orcaops/python* duration>30s "Traceback"'),
        status: jobStatusFilter.optional().describe('Same as status:… in query'),
        tag: z.string().max(64).optional(),
        image: z.string().max(256).optional().describe('e.g. orcaops/python or orcaops/*'),
        since: z.string().max(64).optional().describe('Created at or after: ISO 8601 or an age like 24h, 7d'),
        until: z.string().max(64).optional().describe('Created before: ISO 8601 or an age'),
        limit: z.number().int().min(1).max(200).optional().describe('Default 20'),
        cursor: z.string().max(200).optional().describe('next_cursor of the previous page (same query)'),
      },
      output: { items: z.array(runHitOutput), next_cursor: z.string().nullable() },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      async run(args, call) {
        const q = [args.query ?? '', ...term('status', args.status), ...term('tag', args.tag), ...term('image', args.image), ...term('since', args.since), ...term('until', args.until)]
          .filter(Boolean)
          .join(' ');
        const page = await search.search(call.ctx, q, args.cursor, args.limit ?? 20);
        return { result: { items: page.items.map(runHit), next_cursor: page.next_cursor }, summary: `${page.items.length} run(s)${page.next_cursor ? ', more with cursor' : ''}` };
      },
    }),
    defineTool({
      name: 'delete_runs',
      title: 'Delete past runs (clean-up)',
      description:
        'Workspace admins: delete finished jobs (records, logs, artifacts) matching a search_runs query, at most 1000 per ' +
        'call (more=true: call again); audited. By age: until:30d. A query with no condition is refused. dry_run counts only. ' +
        'kind=workflow_runs deletes completed workflow runs with their jobs instead (filters: until/since, status, session, fingerprint; 200 per call).',
      permission: 'workspace:admin',
      input: {
        query: z.string().min(1).max(1000).describe('e.g. until:30d, or status:failed until:7d'),
        dry_run: z.boolean().optional().describe('Count what would be deleted; delete nothing'),
        kind: z.enum(['jobs', 'workflow_runs']).optional().describe('What to delete (default jobs)'),
      },
      output: { deleted: z.number(), more: z.boolean(), dry_run: z.boolean() },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
      async run(args, call) {
        const workflowRuns = args.kind === 'workflow_runs';
        const result = workflowRuns ? await workflows.deleteByQuery(call.ctx, args.query, args.dry_run ?? false) : await search.deleteByQuery(call.ctx, args.query, args.dry_run ?? false);
        const verb = result.dry_run ? 'would delete' : 'deleted';
        return { result, summary: `${verb} ${result.deleted} ${workflowRuns ? 'completed workflow runs' : 'finished runs'}${result.more ? ' (more match: call again)' : ''}` };
      },
    }),
  ];
}
