import { OrcaOpsError } from 'src/common/errors/orcaops.error';

export type RuntimeErrorCode =
  | 'engine_unavailable'
  | 'image_not_found'
  | 'container_not_found'
  | 'path_not_found'
  | 'conflict'
  /** Refused by the adapter before reaching the engine (unsafe or malformed value). */
  | 'invalid_argument'
  /** A registry pull failed; ImagePullError says why. */
  | 'image_pull_failed'
  | 'engine_error';

/** What the engine adapter throws: library errors are translated where they happen. */
export class RuntimeError extends Error {
  constructor(
    readonly code: RuntimeErrorCode,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'RuntimeError';
  }
}

/** Why a pull failed (the `details.reason` of `image_pull_failed`, docs/images.md). */
export const PULL_FAILURE_REASONS = ['unauthorized', 'not_found', 'registry_unreachable', 'denied_by_policy', 'too_large'] as const;
export type PullFailureReason = (typeof PULL_FAILURE_REASONS)[number];

/** A pull that failed, classified from the engine's answer (never carries credentials). */
export class ImagePullError extends RuntimeError {
  constructor(
    readonly reason: PullFailureReason,
    message: string,
    cause?: unknown,
  ) {
    super('image_pull_failed', message, cause);
    this.name = 'ImagePullError';
  }
}

/** For services: engine trouble becomes the API's 503 with a clear message. */
export function toOrcaOpsError(error: RuntimeError): OrcaOpsError {
  switch (error.code) {
    case 'engine_unavailable':
      return new OrcaOpsError('engine_unavailable', 'The Docker engine is not reachable; retry shortly');
    case 'image_not_found':
      return new OrcaOpsError('not_found', error.message);
    case 'container_not_found':
      return new OrcaOpsError('not_found', error.message);
    case 'path_not_found':
      return new OrcaOpsError('not_found', error.message);
    case 'invalid_argument':
      return new OrcaOpsError('bad_request', error.message);
    case 'conflict':
      return new OrcaOpsError('conflict', error.message);
    case 'image_pull_failed':
      return new OrcaOpsError('image_pull_failed', error.message, { reason: error instanceof ImagePullError ? error.reason : 'registry_unreachable' });
    case 'engine_error':
      return new OrcaOpsError('internal_error', `Docker engine error: ${error.message}`);
  }
}
