import { RuntimeError } from 'src/runtime/runtime.errors';

interface DockerodeError {
  statusCode?: number;
  code?: string;
  message?: string;
  json?: { message?: string };
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/** Translates a dockerode/HTTP error into a RuntimeError code, right where the call was made. */
export function translateDockerError(error: unknown, what: string): RuntimeError {
  if (error instanceof RuntimeError) return error;
  const e = (error ?? {}) as DockerodeError;
  const message = e.json?.message ?? e.message ?? String(error);
  if (e.code && UNREACHABLE.has(e.code)) return new RuntimeError('engine_unavailable', `Docker engine unreachable (${e.code})`, error);
  if (e.statusCode === 404) {
    const isImage = /image|No such image|pull access denied|repository/i.test(message);
    return new RuntimeError(isImage ? 'image_not_found' : 'container_not_found', `${what}: ${message}`, error);
  }
  if (e.statusCode === 409) return new RuntimeError('conflict', `${what}: ${message}`, error);
  return new RuntimeError('engine_error', `${what}: ${message}`, error);
}
