import { setTimeout as delay } from 'node:timers/promises';

// SQLSTATE classes and codes that mean "the database is not reachable right now", not "this statement is wrong".
const TRANSIENT_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
const TRANSIENT_NODE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTCONN', 'EHOSTUNREACH', 'ENETUNREACH']);
const TRANSIENT_MESSAGES = [/connection terminated/i, /timeout exceeded when trying to connect/i, /connection (?:is )?(?:closed|ended)/i, /client has encountered a connection error/i, /cannot use a pool after calling end/i, /query read timeout/i];

/** True when `error` says the database connection failed (an outage or a failover), not that the query was wrong. */
export function isConnectionError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth++) {
    const e = current as { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown };
    if (typeof e.code === 'string' && (TRANSIENT_NODE_CODES.has(e.code) || TRANSIENT_SQLSTATES.has(e.code) || e.code.startsWith('08'))) return true;
    if (typeof e.message === 'string' && TRANSIENT_MESSAGES.some((m) => m.test(e.message as string))) return true;
    current = e.driverError ?? e.cause;
  }
  return false;
}

/** A rejection handler for best-effort writes: a lost connection gives `fallback`, anything else is rethrown. */
export function unlessConnectionLost<T>(fallback: T): (error: unknown) => T {
  return (error) => {
    if (isConnectionError(error)) return fallback;
    throw error;
  };
}

export interface RetryOptions {
  /** Called once per failed attempt that will be retried (for a log line). */
  onRetry?: (error: unknown, attempt: number) => void;
  /** Stops retrying (and rethrows the last error) once aborted. */
  signal?: AbortSignal;
  /** First and largest pause between attempts. */
  minDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Runs `write` until it succeeds or fails for a reason other than a lost database connection. For the
 * writes that must land once the database is back (a job's terminal state): the caller keeps what it
 * holds (a running-jobs slot, the container) until then, so nothing is lost and nothing stays `running`.
 */
export async function retryWhileDatabaseDown<T>(write: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const min = options.minDelayMs ?? 250;
  const max = options.maxDelayMs ?? 5_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (!isConnectionError(error) || options.signal?.aborted) throw error;
      options.onRetry?.(error, attempt);
      await delay(Math.min(max, min * 2 ** Math.min(attempt - 1, 10)));
    }
  }
}
