import type { ErrorCode } from 'src/common/errors/orcaops.error';

/** A failure the CLI reports as {error:{code,message,details}} (with --json) and an exit code. */
export class CliError extends Error {
  constructor(
    readonly code: ErrorCode | 'connection_failed' | 'usage',
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** Exit codes by error code, so scripts can branch without parsing text. */
export function exitCodeFor(code: CliError['code']): number {
  switch (code) {
    case 'usage':
    case 'validation_failed':
    case 'bad_request':
      return 2;
    case 'unauthenticated':
      return 3;
    case 'forbidden':
    case 'workspace_suspended':
    case 'workspace_archived':
    case 'workspace_token_required':
    case 'policy_denied':
      return 4;
    case 'not_found':
      return 5;
    case 'conflict':
      return 6;
    case 'quota_exceeded':
    case 'rate_limited':
      return 7;
    case 'connection_failed':
    case 'engine_unavailable':
    case 'service_unavailable':
    case 'bad_gateway':
    case 'insufficient_storage':
      return 8;
    default:
      return 1;
  }
}
