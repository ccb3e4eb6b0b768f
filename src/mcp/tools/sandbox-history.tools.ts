import { z } from 'zod';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import { durationMs } from 'src/jobs/records/run-query';
import type { OrcaTool } from 'src/mcp/tool-kit';
import { defineTool, resourceId } from 'src/mcp/tool-kit';
import { sandboxId } from 'src/mcp/tools/schemas';
import type { SandboxCommandResponseDto } from 'src/sandboxes/history/dto/sandbox-commands.dto';
import type { SandboxHistoryService } from 'src/sandboxes/history/sandbox-history.service';

/** Characters of a command an agent gets in the list (the REST list has up to 4096). */
const COMMAND_CHARS = 300;

const commandOutput = z.object({
  kind: z.string().describe('exec or shell'),
  shell: z.string().nullable(),
  command: z.string().describe('Secrets masked as ***; cut with … when long'),
  status: z.string().describe('succeeded | failed | timed_out | error'),
  reason: z.string().nullable(),
  exit_code: z.number().nullable(),
  started_at: z.string(),
  duration_ms: z.number(),
  output_bytes: z.number(),
});

function compact(row: SandboxCommandResponseDto): z.infer<typeof commandOutput> {
  const { kind, shell, status, reason, exit_code, started_at, duration_ms, output_bytes } = row;
  const long = row.command.length > COMMAND_CHARS || row.command_truncated;
  return { kind, shell, command: long ? `${row.command.slice(0, COMMAND_CHARS)}…` : row.command, status, reason, exit_code, started_at, duration_ms, output_bytes };
}

/** An ISO time or an age before now (24h, 7d), as the run search takes them. */
function timeArg(field: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const age = durationMs(value);
  const at = age !== undefined ? new Date(Date.now() - age) : new Date(value);
  if (Number.isNaN(at.getTime())) throw new OrcaOpsError('validation_failed', `${field} is not a time`, { fields: [{ field, messages: ['an ISO 8601 time or an age like 30m, 24h, 7d'] }] });
  return at;
}

/** A sandbox's command history for an agent: what ran, how it ended, newest first. */
export function sandboxHistoryTools(history: SandboxHistoryService): OrcaTool[] {
  return [
    defineTool({
      name: 'get_sandbox_history',
      title: 'Sandbox command history',
      description:
        'Commands run in a sandbox (exec and shell), newest first, once they ended: command (secrets masked), status, ' +
        'exit_code, start, duration, output size. Use it to recall what was already tried or which step failed ' +
        '(failed_only: true). Works for stopped sandboxes too. Output text is not kept: rerun a command to see it.',
      permission: 'sandbox:read',
      input: {
        sandbox_id: sandboxId,
        failed_only: z.boolean().optional().describe('Only commands that did not succeed'),
        exit_code: z.number().int().min(0).max(255).optional(),
        kind: z.enum(['exec', 'shell']).optional(),
        shell: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional().describe('Only this shell session'),
        contains: z.string().min(1).max(200).optional().describe('Command text contains (case-insensitive)'),
        since: z.string().max(64).optional().describe('Started at or after: ISO 8601 or an age like 30m, 24h'),
        until: z.string().max(64).optional().describe('Started before: ISO 8601 or an age'),
        limit: z.number().int().min(1).max(200).optional().describe('Default 20'),
        cursor: z.string().max(200).optional().describe('next_cursor of the previous page (same filters)'),
      },
      output: { items: z.array(commandOutput), next_cursor: z.string().nullable() },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      async run(args, call) {
        const page = await history.list(call.ctx, resourceId('sandbox', args.sandbox_id), {
          failed: args.failed_only ? true : undefined,
          exitCode: args.exit_code,
          kind: args.kind,
          shell: args.shell,
          contains: args.contains,
          since: timeArg('since', args.since),
          until: timeArg('until', args.until),
          cursor: args.cursor,
          limit: args.limit ?? 20,
        });
        const failed = page.items.filter((c) => c.status !== 'succeeded').length;
        return {
          result: { items: page.items.map(compact), next_cursor: page.next_cursor },
          summary: `${page.items.length} command(s), ${failed} not succeeded${page.next_cursor ? '; more with cursor' : ''}`,
        };
      },
    }),
  ];
}
