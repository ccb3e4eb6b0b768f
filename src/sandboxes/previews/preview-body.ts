import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';

/** The proxied routes, as Fastify names them (the controller declares the same paths). */
export const PREVIEW_ROUTE_URLS = new Set(['/v1/sandboxes/:id/ports/:port', '/v1/sandboxes/:id/ports/:port/*', '/v1/previews/:token', '/v1/previews/:token/*']);

interface PreviewPassThrough {
  headers: IncomingHttpHeaders;
  body?: Readable;
}

const passThrough = new WeakMap<FastifyRequest, PreviewPassThrough>();

/**
 * A proxied request's body is the sandbox's business, in whatever type it comes: it is not parsed.
 * Registered after the HTTP edge, so the stream kept here is the edge's bounded one (size and read
 * deadline); the headers that would make Fastify parse it are taken off the request (a copy is kept
 * and forwarded).
 */
export function installPreviewBodies(fastify: FastifyInstance): void {
  fastify.addHook('preParsing', (request, _reply, payload, done) => {
    if (!PREVIEW_ROUTE_URLS.has(request.routeOptions.url ?? '')) return done(null, payload);
    const headers = { ...request.raw.headers };
    const hasBody = headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0');
    passThrough.set(request, { headers, body: hasBody ? payload : undefined });
    delete request.raw.headers['content-type'];
    delete request.raw.headers['transfer-encoding'];
    delete request.raw.headers['content-length'];
    return done(null, payload);
  });
}

/** The headers and unparsed body of a proxied request (installPreviewBodies). */
export function previewRequestOf(request: FastifyRequest): PreviewPassThrough {
  return passThrough.get(request) ?? { headers: request.headers };
}
