import { posix } from 'node:path';
import { invalidField } from 'src/common/errors/orcaops.error';
import { RuntimeError, toOrcaOpsError } from 'src/runtime/runtime.errors';

const MAX_PATH = 4096;

/**
 * A path inside the sandbox: absolute, or relative to its workdir; normalized. Paths name the
 * sandbox's own filesystem and are only ever used as argv of an exec inside the container (never on the
 * host), so `..` simply resolves inside the container; NUL and over-long paths are refused.
 */
export function sandboxPath(raw: string | undefined, workdir: string, field = 'path'): string {
  if (typeof raw !== 'string' || raw.length === 0) throw invalidField(field, 'is required');
  if (raw.includes('\0')) throw invalidField(field, 'must not contain NUL');
  if (raw.length > MAX_PATH) throw invalidField(field, `must be at most ${MAX_PATH} characters`);
  const resolved = posix.normalize(posix.isAbsolute(raw) ? raw : posix.join(workdir, raw));
  return resolved.length > 1 ? resolved.replace(/\/+$/, '') : resolved;
}

/** Engine failures as API errors (503 when the engine is gone, 409 when the container stopped...). */
export function engineError(error: unknown): Error {
  return error instanceof RuntimeError ? toOrcaOpsError(error) : (error as Error);
}
