/**
 * Every error code the API can answer with. Services throw OrcaOpsError with one of these; each
 * transport maps them once (HTTP: http-error.filter.ts, MCP: tool errors, CLI: exit codes).
 */
export const ERROR_CODES = [
  'validation_failed',
  'bad_request',
  'unauthenticated',
  'forbidden',
  'workspace_suspended',
  'workspace_archived',
  'workspace_token_required',
  'policy_denied',
  'not_found',
  'conflict',
  'payload_too_large',
  'request_timeout',
  'unsupported_media_type',
  'quota_exceeded',
  'rate_limited',
  'engine_unavailable',
  /** A registry pull failed; details.reason: unauthorized, not_found, registry_unreachable, denied_by_policy, too_large. */
  'image_pull_failed',
  'service_unavailable',
  /** A proxied preview request found nothing answering on the sandbox port (or no relay in the image). */
  'bad_gateway',
  'insufficient_storage',
  'internal_error',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export type ErrorDetails = Record<string, unknown> | unknown[] | undefined;

export class OrcaOpsError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetails,
  ) {
    super(message);
    this.name = 'OrcaOpsError';
  }
}

/** A missing resource and another tenant's resource answer the same way (no existence oracle). */
export function notFound(resource: string, id: string): OrcaOpsError {
  return new OrcaOpsError('not_found', `${resource} ${id} was not found`, { resource, id });
}

/** One request field is wrong: the ValidationPipe's shape (400, details.fields) for checks done in code. */
export function invalidField(field: string, message: string): OrcaOpsError {
  return new OrcaOpsError('validation_failed', 'The request is invalid', { fields: [{ field, messages: [message] }] });
}

export interface FieldError {
  field: string;
  messages: string[];
}
