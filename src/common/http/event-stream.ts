import { Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import { readEnv } from 'src/config/orcaops.config';

const HEARTBEAT_MS = 15_000;
const logger = new Logger('EventStream');

export interface EventStream {
  /**
   * One event; `id` makes it resumable with Last-Event-ID. Resolves when the reader can take more: a
   * producer that awaits it (job logs, process output) is paused by a slow reader; one that cannot
   * wait (a live exec) keeps writing until the reader is dropped.
   */
  send(event: string, data: unknown, id?: number): Promise<void>;
  end(): void;
  /** The stream is over: ended, dropped or the client went away. */
  readonly closed: boolean;
}

export interface SlowReaderLimits {
  /** Bytes queued for the reader (response and socket buffers) beyond which it is dropped. */
  bufferBytes: number;
  /** How long a reader may take no data (no 'drain') before it is dropped. */
  stallMs: number;
}

export function slowReaderLimits(): SlowReaderLimits {
  const env = readEnv();
  return { bufferBytes: env.ORCAOPS_STREAM_BUFFER_BYTES, stallMs: env.ORCAOPS_STREAM_STALL_MS };
}

/** The client asked for Server-Sent Events (Accept header, or ?follow=true). */
export function wantsEventStream(request: FastifyRequest, follow?: string): boolean {
  return follow === 'true' || (request.headers.accept ?? '').includes('text/event-stream');
}

/**
 * Aborts when the client goes away before its answer (streams stop, execs are killed, waits end). The
 * response's 'close' tells: the request's own 'close' fires as soon as a body has been read (Node 16+),
 * so on a POST it aborted the work before it started.
 */
export function clientGone(reply: FastifyReply): AbortSignal {
  const aborted = new AbortController();
  const res = reply.raw;
  res.once('close', () => {
    if (!res.writableFinished) aborted.abort();
  });
  return aborted.signal;
}

export interface GuardedResponse {
  /** Resolves once the reader has taken what was queued (or the response is gone). */
  writable(): Promise<void>;
  readonly closed: boolean;
}

/**
 * Never buffers for a slow or stalled reader: after every write, a response with more than
 * `bufferBytes` queued, or one that has not drained for `stallMs`, is destroyed (the socket closes, so
 * the request's 'close' aborts the work behind it). Wraps `res.write`, so it also covers writers this
 * server does not own (the MCP SDK's transport).
 */
export function guardSlowReader(res: ServerResponse, requestId: string, limits: SlowReaderLimits = slowReaderLimits()): GuardedResponse {
  let closed = false;
  let stall: NodeJS.Timeout | undefined;
  let waiters: Array<() => void> = [];
  const settle = (): void => {
    clearTimeout(stall);
    stall = undefined;
    const ready = waiters;
    waiters = [];
    for (const resolve of ready) resolve();
  };
  const drop = (why: 'buffer' | 'stalled'): void => {
    if (closed) return;
    logger.warn({ msg: 'slow stream reader dropped', why, requestId, queuedBytes: res.writableLength, limits });
    closed = true;
    res.destroy();
    settle();
  };
  res.on('drain', settle);
  res.once('close', () => {
    closed = true;
    settle();
  });
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  res.write = ((...args: unknown[]): boolean => {
    if (closed || res.destroyed) return false;
    const ok = write(...args);
    if (res.writableLength > limits.bufferBytes) drop('buffer');
    else if (!ok) stall ??= setTimeout(() => drop('stalled'), limits.stallMs).unref();
    return ok;
  }) as ServerResponse['write'];
  return {
    writable: () => (closed || !res.writableNeedDrain ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
    get closed() {
      return closed || res.destroyed;
    },
  };
}

/** Takes the response over from Nest and opens a Server-Sent Events stream with keep-alive comments. */
export function openEventStream(request: FastifyRequest, reply: FastifyReply): EventStream {
  reply.hijack();
  reply.raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': request.id,
  });
  const res = reply.raw;
  const guard = guardSlowReader(res, request.id);
  // A keep-alive is skipped while the reader is behind: it would only add to the queue.
  const heartbeat = setInterval(() => {
    if (!res.writableNeedDrain) res.write(': keep-alive\n\n');
  }, HEARTBEAT_MS);
  res.once('close', () => clearInterval(heartbeat));
  return {
    send: (event, data, id) => {
      res.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      return guard.writable();
    },
    end: () => {
      clearInterval(heartbeat);
      if (!res.destroyed) res.end();
    },
    get closed() {
      return guard.closed;
    },
  };
}
