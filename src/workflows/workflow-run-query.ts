import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import type { Comparison } from 'src/jobs/records/run-query';
import { parseRunQuery, RunQueryError } from 'src/jobs/records/run-query';

/**
 * Workflow-run clean-up speaks the run-search language (docs/run-records.md) where it applies to a run:
 * `until:30d`/`since:`/`created<…` (age), `status:` (succeeded → success, failed and timed_out →
 * failure, cancelled), `session:` and `fingerprint:`. Anything else names what a workflow run does not
 * have, so it is refused rather than ignored.
 */
export interface WorkflowRunFilter {
  created: Array<{ op: Comparison; at: Date }>;
  conclusions?: string[];
  sessionId?: string;
  fingerprintPrefix?: string;
}

const CONCLUSION_OF: Record<string, string> = { succeeded: 'success', failed: 'failure', timed_out: 'failure', cancelled: 'cancelled' };

export function parseWorkflowRunQuery(q: string, now = new Date()): WorkflowRunFilter {
  let parsed;
  try {
    parsed = parseRunQuery(q, now);
  } catch (error) {
    if (error instanceof RunQueryError) throw new OrcaOpsError('bad_request', `Invalid query ${error.message}`, { position: error.position, token: error.token, expected: error.expected });
    throw error;
  }
  if (parsed.text.length) throw unsupported('output text');
  const filter: WorkflowRunFilter = { created: [] };
  for (const f of parsed.filters) {
    if (f.field === 'created') filter.created.push({ op: f.op, at: f.at });
    else if (f.field === 'status') filter.conclusions = [...new Set(f.values.map((v) => CONCLUSION_OF[v]).filter((v): v is string => !!v))];
    else if (f.field === 'session') filter.sessionId = f.value;
    else if (f.field === 'fingerprint') filter.fingerprintPrefix = f.prefix;
    else throw unsupported(f.field);
  }
  if (filter.conclusions && !filter.conclusions.length) throw new OrcaOpsError('bad_request', 'status: only finished statuses apply to workflow runs (succeeded, failed, timed_out, cancelled)');
  if (!parsed.filters.length) throw new OrcaOpsError('bad_request', 'delete-by-query needs at least one filter', { position: 0, expected: 'a filter such as until:30d or status:failed' });
  return filter;
}

function unsupported(what: string): OrcaOpsError {
  return new OrcaOpsError('bad_request', `Workflow runs cannot be filtered by ${what}: use until/since/created, status, session or fingerprint`, { unsupported: what });
}
