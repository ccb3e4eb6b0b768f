import type { IncomingHttpHeaders } from 'node:http';
import { request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';

export interface StreamedResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: any; // JSON of any shape, asserted by the test
  /** Body bytes the client had handed to its socket when the answer arrived. */
  sentBeforeAnswer: number;
  totalBytes: number;
  /** From the first byte sent to the answer's headers. */
  answeredAfterMs: number;
}

export interface StreamedRequest {
  method: string;
  path: string;
  token?: string;
  contentType: string;
  /** Declared Content-Length (the client stops sending once the answer arrives). */
  totalBytes: number;
  chunkBytes?: number;
  /** Pause between chunks: a slow drip. Without it the client sends as fast as the socket takes. */
  intervalMs?: number;
}

/**
 * One request whose body is streamed from the client with backpressure, watching for an answer that
 * arrives before the body is complete (a server that refuses a body without reading it). Errors the
 * socket raises after the answer (the server closed the connection on the unread rest) are expected.
 */
export function sendStreamed(baseUrl: string, spec: StreamedRequest): Promise<StreamedResult> {
  const url = new URL(spec.path, baseUrl);
  const chunkBytes = spec.chunkBytes ?? 64 * 1024;
  const chunk = Buffer.alloc(chunkBytes, 0x61);
  const headers: Record<string, string> = { 'content-type': spec.contentType, 'content-length': String(spec.totalBytes) };
  if (spec.token) headers.authorization = `Bearer ${spec.token}`;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let sent = 0;
    let answered = false;
    const req = httpRequest({ method: spec.method, host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, headers, agent: false });
    const pump = (): void => {
      while (!answered && sent < spec.totalBytes) {
        const n = Math.min(chunkBytes, spec.totalBytes - sent);
        sent += n;
        const more = req.write(n === chunkBytes ? chunk : chunk.subarray(0, n));
        if (spec.intervalMs) {
          setTimeout(pump, spec.intervalMs);
          return;
        }
        if (!more) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered && sent >= spec.totalBytes) req.end();
    };
    req.on('response', (res) => {
      answered = true;
      const sentBeforeAnswer = sent;
      const answeredAfterMs = performance.now() - started;
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('error', () => undefined);
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = text;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, sentBeforeAnswer, totalBytes: spec.totalBytes, answeredAfterMs });
        req.destroy();
      });
    });
    req.on('error', (error) => {
      if (!answered) reject(new Error(`${spec.method} ${spec.path}: ${error.message} after sending ${sent} of ${spec.totalBytes} bytes`));
    });
    pump();
  });
}
