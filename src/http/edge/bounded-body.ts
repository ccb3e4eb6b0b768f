import type { Readable, TransformCallback } from 'node:stream';
import { Transform } from 'node:stream';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';

export interface BodyBound {
  maxBytes: number;
  /** The setting or route cap named in the 413 message. */
  limitName: string;
  timeoutMs: number;
  timeoutSetting: string;
}

export function bodyTooLarge(bound: BodyBound, size?: number): OrcaOpsError {
  const what = size === undefined ? 'The request body' : `The request body (${size} bytes)`;
  return new OrcaOpsError('payload_too_large', `${what} exceeds the ${bound.maxBytes}-byte limit (${bound.limitName})`, {
    limit_bytes: bound.maxBytes,
    limit: bound.limitName,
  });
}

export function bodyTimedOut(bound: BodyBound): OrcaOpsError {
  return new OrcaOpsError(
    'request_timeout',
    `The request body did not arrive within ${bound.timeoutMs} ms (${bound.timeoutSetting}); the connection is closed`,
    { timeout_ms: bound.timeoutMs, limit: bound.timeoutSetting },
  );
}

/**
 * The request body as Fastify's parser reads it, cut at `maxBytes` (413) and at `timeoutMs` after it
 * started (408: a slow drip cannot hold a connection and a growing buffer for long). The bytes pass
 * through unchanged. On failure the raw request is left unread (not destroyed, so the error can still
 * be answered); the caller closes the connection after the answer.
 */
export class BoundedBody extends Transform {
  /** Fastify compares this with Content-Length. */
  receivedEncodedLength = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly source: Readable,
    private readonly bound: BodyBound,
  ) {
    super();
    this.timer = setTimeout(() => this.fail(bodyTimedOut(bound)), bound.timeoutMs);
    this.timer.unref();
    source.on('error', (error) => this.fail(error));
    source.on('close', () => {
      if (!source.readableEnded) this.fail(new OrcaOpsError('bad_request', 'The client closed the connection before the body was complete'));
    });
    this.once('close', () => clearTimeout(this.timer));
    source.pipe(this);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.receivedEncodedLength += chunk.length;
    if (this.receivedEncodedLength > this.bound.maxBytes) {
      callback(bodyTooLarge(this.bound));
      this.stop();
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    clearTimeout(this.timer);
    callback();
  }

  private fail(error: Error): void {
    if (this.destroyed) return;
    this.stop();
    this.destroy(error);
  }

  private stop(): void {
    clearTimeout(this.timer);
    this.source.unpipe(this);
    this.source.pause();
  }
}
