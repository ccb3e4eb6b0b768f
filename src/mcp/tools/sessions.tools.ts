import { z } from 'zod';
import type { OrcaTool } from 'src/mcp/tool-kit';
import { defineTool, resourceId } from 'src/mcp/tool-kit';
import type { SessionResponseDto, SessionViewResponseDto } from 'src/sessions/dto/session.dto';
import type { SessionsService } from 'src/sessions/sessions.service';

// Agent sessions (docs/sessions.md) for agents: find theirs, see what it created and spent, end it.

const sessionId = z.string().describe('Agent session id (a UUID: list_sessions, or the X-OrcaOps-Session the client sends)');

const sessionOutput = z.object({
  id: z.string(),
  agent_type: z.string(),
  name: z.string().nullable(),
  status: z.string().describe('open or ended'),
  end_reason: z.string().nullable().describe('ended (by a client) or idle; null while open'),
  idle_timeout_seconds: z.number(),
  created_at: z.string(),
  last_activity_at: z.string(),
  ended_at: z.string().nullable(),
});

const viewOutput = sessionOutput.extend({
  jobs: z.array(z.object({ id: z.string(), status: z.string(), image: z.string(), created_at: z.string() }).passthrough()).describe('Newest first, at most 100'),
  sandboxes: z.array(z.object({ id: z.string(), status: z.string(), image: z.string() }).passthrough()).describe('Newest first, at most 100'),
  workflow_runs: z.array(z.object({ id: z.string(), name: z.string(), status: z.string(), conclusion: z.string().nullable() }).passthrough()),
  spend: z.object({ job_count: z.number(), cpu_seconds: z.number(), job_seconds: z.number(), artifact_bytes: z.number(), sandbox_count: z.number(), sandbox_seconds: z.number() }),
  cleanup: z.object({ sandboxes_stopped: z.number(), jobs_cancelled: z.number(), workflow_runs_cancelled: z.number() }).optional(),
});

function sessionView(s: SessionResponseDto): z.infer<typeof sessionOutput> {
  const { id, agent_type, name, status, end_reason, idle_timeout_seconds, created_at, last_activity_at, ended_at } = s;
  return { id, agent_type, name, status, end_reason, idle_timeout_seconds, created_at, last_activity_at, ended_at };
}

function fullView(s: SessionViewResponseDto): z.infer<typeof viewOutput> {
  return {
    ...sessionView(s),
    jobs: s.jobs.map((j) => ({ ...j })),
    sandboxes: s.sandboxes.map((x) => ({ ...x })),
    workflow_runs: s.workflow_runs.map((r) => ({ ...r })),
    spend: s.spend,
    ...(s.cleanup && { cleanup: s.cleanup }),
  };
}

const spendLine = (s: SessionViewResponseDto): string =>
  `${s.spend.job_count} jobs (${Math.round(s.spend.cpu_seconds)} CPU-s), ${s.spend.sandbox_count} sandboxes (${Math.round(s.spend.sandbox_seconds)} s), ${s.workflow_runs.length} workflow runs`;

export function sessionTools(sessions: SessionsService): OrcaTool[] {
  return [
    defineTool({
      name: 'list_sessions',
      title: 'List agent sessions',
      description: 'Agent sessions of this workspace, newest first (status=open for the live ones). get_session has what one created and spent.',
      permission: 'session:read',
      input: {
        status: z.enum(['open', 'ended']).optional(),
        agent_type: z.string().max(32).optional().describe('e.g. claude-code'),
        limit: z.number().int().min(1).max(200).optional().describe('Default 50'),
      },
      output: { items: z.array(sessionOutput) },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      async run(args, call) {
        const page = await sessions.list(call.ctx, { status: args.status, agentType: args.agent_type, limit: args.limit ?? 50 });
        const items = page.items.map(sessionView);
        return { result: { items }, summary: `${items.length} sessions` };
      },
    }),
    defineTool({
      name: 'get_session',
      title: 'Get an agent session',
      description: 'A session with the jobs, sandboxes and workflow runs it created and what they spent (CPU, sandbox time, artifacts).',
      permission: 'session:read',
      input: { session_id: sessionId },
      output: { session: viewOutput },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      async run(args, call) {
        const view = await sessions.get(call.ctx, resourceId('session', args.session_id));
        return { result: { session: fullView(view) }, summary: `session ${view.id} ${view.status}: ${spendLine(view)}` };
      },
    }),
    defineTool({
      name: 'end_session',
      title: 'End an agent session',
      description:
        'End a session (audited). cleanup=true also stops its live sandboxes and cancels its running workflow runs and ' +
        'unfinished jobs. Ending an ended session changes nothing but still cleans up when asked.',
      permission: 'session:create',
      input: { session_id: sessionId, cleanup: z.boolean().optional().describe('Also stop its sandboxes and cancel its unfinished work (default false)') },
      output: { session: viewOutput },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
      async run(args, call) {
        const view = await sessions.end(call.ctx, resourceId('session', args.session_id), args.cleanup ?? false);
        const cleaned = view.cleanup ? `; stopped ${view.cleanup.sandboxes_stopped} sandboxes, cancelled ${view.cleanup.jobs_cancelled} jobs and ${view.cleanup.workflow_runs_cancelled} workflow runs` : '';
        return { result: { session: fullView(view) }, summary: `session ${view.id} ended${cleaned}` };
      },
    }),
  ];
}
