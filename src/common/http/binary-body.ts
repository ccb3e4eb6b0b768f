import type { FastifyInstance } from 'fastify';

/** Content types taken as raw bytes (file upload, tar upload). */
export const BINARY_CONTENT_TYPES = ['application/octet-stream', 'application/x-tar'];

/**
 * Raw request bodies for file and archive uploads, as a Buffer. They get their own size limit (the
 * caller passes the largest archive plus headers) instead of the JSON body limit; the service applies
 * the exact caps.
 */
export function registerBinaryBodies(fastify: FastifyInstance, bodyLimit: number): void {
  fastify.addContentTypeParser(
    BINARY_CONTENT_TYPES,
    { parseAs: 'buffer', bodyLimit },
    (_request, body, done) => done(null, body),
  );
}
