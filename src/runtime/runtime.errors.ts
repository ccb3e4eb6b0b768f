import { OrcaOpsError } from 'src/common/errors/orcaops.error';

export type RuntimeErrorCode =
  | 'engine_unavailable'
  | 'image_not_found'
  | 'container_not_found'
  | 'path_not_found'
  | 'conflict'
  /** Refused by the adapter before reaching the engine (unsafe or malformed value). */
  | 'invalid_argument'
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
    case 'engine_error':
      return new OrcaOpsError('internal_error', `Docker engine error: ${error.message}`);
  }
}
