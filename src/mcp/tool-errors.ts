import type { Logger } from '@nestjs/common';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { randomUUID } from 'node:crypto';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';

/**
 * What a model should do next, per error code. The service's message says what happened; this says
 * how to recover, so an agent does not retry a request that can only fail the same way.
 */
export function recoveryHint(code: string): string {
  switch (code) {
    case 'not_found':
      return 'It does not exist in this workspace (or has been deleted). Use an id returned by list_jobs, list_sandboxes, search_runs or run_workflow.';
    case 'policy_denied':
      return 'The workspace policy refused this request. Do not retry it unchanged: change it to comply (see the violations), or ask a workspace admin to change the policy.';
    case 'quota_exceeded':
      return 'A workspace quota is used up. Free resources (delete_sandbox on sandboxes you no longer need, wait for running jobs) or ask an admin to raise the quota, then retry.';
    case 'rate_limited':
      return 'Too many requests. Wait a few seconds, then retry.';
    case 'conflict':
      return 'The resource is not in a state that allows this. Read its current state (get_job, get_sandbox, get_workflow) and act on that.';
    case 'validation_failed':
    case 'bad_request':
      return 'Fix the arguments listed in the details and call again.';
    case 'forbidden':
      return 'This token\'s role does not allow it. Use a tool your role allows, or ask a workspace admin for a token with a suitable role.';
    case 'workspace_token_required':
      return 'This needs a workspace token (orcaops tokens create), not an organisation token.';
    case 'workspace_suspended':
    case 'workspace_archived':
      return 'The workspace is not active; ask an organisation admin.';
    case 'payload_too_large':
      return 'Send less data per call (split the file or the command).';
    case 'request_timeout':
      return 'The request body arrived too slowly and was cut. Retry on a faster connection or send less data.';
    case 'image_pull_failed':
      return 'The image could not be pulled (details.reason): fix the reference or tag (not_found), store registry credentials for its host (unauthorized), pick an allowed image (denied_by_policy, too_large), or retry later (registry_unreachable).';
    case 'engine_unavailable':
    case 'service_unavailable':
      return 'A temporary server-side problem. Retry in a few seconds.';
    case 'bad_gateway':
      return 'Nothing answers on that port in the sandbox yet: start the server (listening on 0.0.0.0 or 127.0.0.1) and retry.';
    case 'insufficient_storage':
      return 'The server has no space left to store this. Retry later, or ask the OrcaOps operator to free space.';
    default:
      return 'Check the details; if it persists, report it to the OrcaOps operator.';
  }
}

const MAX_DETAILS_CHARS = 2000;

const MAX_DIAGNOSTICS = 50;

/**
 * A workflow that failed validation: every diagnostic as `file:line:column: message`, one a line, so
 * the model can fix its YAML in one pass instead of digging through the JSON details.
 */
export function diagnosticsHint(details: unknown): string | undefined {
  const diagnostics = (details as { diagnostics?: unknown } | null | undefined)?.diagnostics;
  if (!Array.isArray(diagnostics) || diagnostics.length === 0) return undefined;
  const lines = diagnostics.slice(0, MAX_DIAGNOSTICS).map((d: { text?: unknown; file?: unknown; line?: unknown; column?: unknown; message?: unknown }) =>
    typeof d.text === 'string' ? d.text : `${String(d.file)}:${String(d.line)}:${String(d.column)}: ${String(d.message)}`,
  );
  if (diagnostics.length > MAX_DIAGNOSTICS) lines.push(`… and ${diagnostics.length - MAX_DIAGNOSTICS} more`);
  return `The workflow YAML is invalid; nothing ran. Fix every problem below (file:line:column) and call run_workflow again (dry_run=true checks it without running):\n${lines.map((l) => `  ${l}`).join('\n')}`;
}

function errorText(code: string, message: string, details: unknown): string {
  const hint = code === 'validation_failed' ? (diagnosticsHint(details) ?? recoveryHint(code)) : recoveryHint(code);
  let text = `Error (${code}): ${message}\nWhat to do: ${hint}`;
  if (details !== undefined) {
    const json = JSON.stringify(details);
    text += `\nDetails: ${json.length > MAX_DETAILS_CHARS ? `${json.slice(0, MAX_DETAILS_CHARS)}…` : json}`;
  }
  return text;
}

/**
 * Every failure of a tool becomes a tool result with isError (the session survives). OrcaOpsError
 * codes keep their code and details; anything else is logged with an error id, like the HTTP filter.
 */
export function toToolError(error: unknown, logger: Logger): CallToolResult {
  if (error instanceof OrcaOpsError) {
    return {
      isError: true,
      content: [{ type: 'text', text: errorText(error.code, error.message, error.details) }],
      _meta: { 'orcaops/error': { code: error.code, details: error.details ?? null } },
    };
  }
  const errorId = randomUUID();
  logger.error({ msg: 'unhandled MCP tool error', errorId, err: String((error as Error)?.stack ?? error) });
  return {
    isError: true,
    content: [{ type: 'text', text: errorText('internal_error', `Internal error (error id ${errorId})`, undefined) }],
    _meta: { 'orcaops/error': { code: 'internal_error', details: { error_id: errorId } } },
  };
}
