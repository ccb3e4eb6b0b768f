import type { ErrorCode } from 'src/common/errors/orcaops.error';

export function assertUnreachable(value: never): never {
  throw new Error(`Unreachable: ${String(value)}`);
}

/** The one place error codes become HTTP statuses. */
export function httpStatusFor(code: ErrorCode): number {
  switch (code) {
    case 'validation_failed':
    case 'bad_request':
      return 400;
    case 'unauthenticated':
      return 401;
    case 'forbidden':
    case 'workspace_suspended':
    case 'workspace_archived':
    case 'workspace_token_required':
    case 'policy_denied':
      return 403;
    case 'not_found':
      return 404;
    case 'conflict':
      return 409;
    case 'image_pull_failed':
      // Failed Dependency: the registry (or its policy) refused the image; details.reason says why.
      return 424;
    case 'payload_too_large':
      return 413;
    case 'request_timeout':
      return 408;
    case 'unsupported_media_type':
      return 415;
    case 'quota_exceeded':
    case 'rate_limited':
      return 429;
    case 'engine_unavailable':
    case 'service_unavailable':
      return 503;
    case 'bad_gateway':
      return 502;
    case 'insufficient_storage':
      return 507;
    case 'internal_error':
      return 500;
    default:
      return assertUnreachable(code);
  }
}
