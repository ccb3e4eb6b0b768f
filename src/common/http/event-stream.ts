import type { FastifyReply, FastifyRequest } from 'fastify';

const HEARTBEAT_MS = 15_000;

export interface EventStream {
  /** One event; `id` makes it resumable with Last-Event-ID. */
  send(event: string, data: unknown, id?: number): void;
  end(): void;
}

/** The client asked for Server-Sent Events (Accept header, or ?follow=true). */
export function wantsEventStream(request: FastifyRequest, follow?: string): boolean {
  return follow === 'true' || (request.headers.accept ?? '').includes('text/event-stream');
}

/** Aborts when the client goes away (streams stop, streamed execs are killed). */
export function clientGone(request: FastifyRequest): AbortSignal {
  const aborted = new AbortController();
  request.raw.on('close', () => aborted.abort());
  return aborted.signal;
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
  const heartbeat = setInterval(() => reply.raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
  return {
    send: (event, data, id) =>
      reply.raw.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
    end: () => {
      clearInterval(heartbeat);
      reply.raw.end();
    },
  };
}
