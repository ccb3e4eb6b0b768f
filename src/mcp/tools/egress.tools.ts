import { z } from 'zod';
import type { EgressEventLog } from 'src/egress/egress-event-log';
import type { OrcaTool } from 'src/mcp/tool-kit';
import { defineTool } from 'src/mcp/tool-kit';
import { requireWorkspace } from 'src/tenancy/tenant-context.factory';

const egressEvent = z.object({
  at: z.string(),
  subject_kind: z.string(),
  subject_id: z.string(),
  method: z.string(),
  host: z.string(),
  address: z.string().nullable(),
  port: z.number(),
  decision: z.string(),
  rule: z.string(),
  bytes_up: z.number(),
  bytes_down: z.number(),
  duration_ms: z.number(),
});

/** Egress visibility (issue 14): what a job or sandbox tried to reach, and what the gateway decided. */
export function egressTools(log: EgressEventLog): OrcaTool[] {
  return [
    defineTool({
      name: 'list_egress_events',
      title: 'List egress decisions',
      description:
        "Recent network egress decisions of this workspace, newest first: destination name and address, port, allowed or denied, the rule that decided, bytes, duration. " +
        'Filter by job_id or sandbox_id to see why a job could not reach a host.',
      permission: 'job:read',
      input: {
        job_id: z.string().uuid().optional(),
        sandbox_id: z.string().uuid().optional(),
        decision: z.enum(['allowed', 'denied']).optional(),
        limit: z.number().int().min(1).max(1000).optional().describe('Default 100'),
      },
      output: { items: z.array(egressEvent) },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      async run(args, call) {
        const items = await log.forWorkspace(requireWorkspace(call.ctx).workspaceId, args);
        return { result: { items }, summary: `${items.length} egress decision(s)` };
      },
    }),
  ];
}
