import { Command } from 'commander';
import { ApiClient } from 'src/cli/api-client';
import { action, outputOptions } from 'src/cli/command-context';
import { render } from 'src/cli/output';

interface ApprovalView {
  id: string;
  status: string;
  resource_id: string;
  requested_by: string;
  reasons: Array<{ message: string }>;
  expires_at: string;
}

const COLUMNS = ['id', 'status', 'job_id', 'requested_by', 'expires_at', 'reasons'];

function rows(value: unknown): Array<Record<string, unknown>> {
  return (value as { items: ApprovalView[] }).items.map((a) => ({
    id: a.id,
    status: a.status,
    job_id: a.resource_id,
    requested_by: a.requested_by,
    expires_at: a.expires_at,
    reasons: a.reasons.map((r) => r.message).join('; '),
  }));
}

export function approvalsCommand(): Command {
  const cmd = new Command('approvals').description('Work held by a policy for a human decision (needs approval:decide)');
  cmd
    .command('list')
    .description('Approval requests of this workspace, pending by default')
    .option('--status <status>', 'pending | approved | rejected | expired', 'pending')
    .option('--limit <n>', 'how many (max 200)', (v) => Number(v), 50)
    .action(action(async (o: { status: string; limit: number }, c: Command) => {
      const query = new URLSearchParams({ status: o.status, limit: String(o.limit) });
      render(outputOptions(c), await new ApiClient().request('GET', `/v1/approvals?${query.toString()}`), { columns: COLUMNS, items: rows });
    }));
  cmd
    .command('get <id>')
    .action(action(async (id: string, _o: object, c: Command) => {
      render(outputOptions(c), await new ApiClient().request('GET', `/v1/approvals/${id}`));
    }));
  for (const verb of ['approve', 'reject'] as const) {
    cmd
      .command(`${verb} <id>`)
      .description(verb === 'approve' ? 'Approve: the waiting job is enqueued and runs' : 'Reject: the waiting job is cancelled and never runs')
      .option('-m, --comment <text>', 'why (shown to the requester on the job)')
      .action(action(async (id: string, o: { comment?: string }, c: Command) => {
        render(outputOptions(c), await new ApiClient().request('POST', `/v1/approvals/${id}/${verb}`, { comment: o.comment }));
      }));
  }
  return cmd;
}
