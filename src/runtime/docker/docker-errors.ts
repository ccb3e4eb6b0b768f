import type { RuntimeErrorCode } from 'src/runtime/runtime.errors';
import { RuntimeError } from 'src/runtime/runtime.errors';

interface DockerodeError {
  statusCode?: number;
  code?: string;
  message?: string;
  json?: { message?: string } | null;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTCONN']);

/** The message the engine sent, without docker-modem's "(HTTP code 404) no such container - " prefix. */
export function engineMessage(error: unknown): string {
  const e = (error ?? {}) as DockerodeError;
  const message = e.json?.message ?? e.message ?? String(error);
  return message.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
}

export function statusOf(error: unknown): number | undefined {
  return (error as DockerodeError | null)?.statusCode;
}

/**
 * Translates a dockerode/HTTP error into a RuntimeError code, right where the call was made.
 * `notFound` says what a 404 means for that call (the engine answers 404 for images, containers, paths
 * and volumes alike, so guessing from the message misreads e.g. a path named "image.png").
 */
export function translateDockerError(error: unknown, what: string, notFound: RuntimeErrorCode = 'container_not_found'): RuntimeError {
  if (error instanceof RuntimeError) return error;
  const e = (error ?? {}) as DockerodeError;
  const message = engineMessage(error);
  if (e.code && UNREACHABLE.has(e.code)) return new RuntimeError('engine_unavailable', `Docker engine unreachable (${e.code})`, error);
  if (e.statusCode === 404) {
    // A missing container is reported as such whatever the call was about.
    const code = /no such container/i.test(message) ? 'container_not_found' : notFound;
    return new RuntimeError(code, `${what}: ${message}`, error);
  }
  if (e.statusCode === 409) return new RuntimeError('conflict', `${what}: ${message}`, error);
  return new RuntimeError('engine_error', `${what}: ${message}`, error);
}
