import { PassThrough } from 'node:stream';
import { validateEnv } from 'src/config/env.validation';
import { BoundedBody } from 'src/http/edge/bounded-body';
import { edgeLimitsFrom, rateClassOf } from 'src/http/edge/edge-limits';
import { UploadSlots } from 'src/http/edge/upload-slots';

describe('edge limits', () => {
  it('should read every bound from the environment, with generous defaults', () => {
    const limits = edgeLimitsFrom(validateEnv({}));
    expect(limits).toMatchObject({
      maxBodyBytes: 1024 * 1024,
      bodyTimeoutMs: 30_000,
      uploadTimeoutMs: 600_000,
      uploadsPerToken: 2,
      concurrentUploads: 4,
      rateWindowMs: 60_000,
      rates: { read: 12_000, write: 3_000, anonymous: 600, auth_failure: 300 },
    });
    // The socket backstop answers after the edge's own deadlines, never before them.
    expect(limits.requestTimeoutMs).toBeGreaterThan(limits.uploadTimeoutMs);
    expect(limits.headersTimeoutMs).toBeLessThan(limits.requestTimeoutMs);
  });

  it('should take the limits from their variables', () => {
    const env = validateEnv({ ORCAOPS_RATE_LIMIT_READS: '5', ORCAOPS_RATE_LIMIT_AUTH_FAILURES: '0', ORCAOPS_BODY_TIMEOUT_MS: '2000' });
    expect(edgeLimitsFrom(env)).toMatchObject({ bodyTimeoutMs: 2000, rates: { read: 5, auth_failure: 0 } });
    expect(() => validateEnv({ ORCAOPS_RATE_LIMIT_WRITES: '-1' })).toThrow(/ORCAOPS_RATE_LIMIT_WRITES/);
    expect(() => validateEnv({ ORCAOPS_BODY_TIMEOUT_MS: '10' })).toThrow(/ORCAOPS_BODY_TIMEOUT_MS/);
  });

  it('should count probes never, public and unknown routes per address, and the rest per token by method', () => {
    expect(rateClassOf('GET', '/health', { isPublic: true })).toBe('unlimited');
    expect(rateClassOf('GET', '/ready', { isPublic: true })).toBe('unlimited');
    expect(rateClassOf('GET', '/openapi.json', undefined)).toBe('anonymous');
    expect(rateClassOf('GET', undefined, undefined)).toBe('anonymous');
    expect(rateClassOf('GET', '/v1/jobs', { isPublic: false })).toBe('read');
    expect(rateClassOf('HEAD', '/v1/jobs', { isPublic: false })).toBe('read');
    expect(rateClassOf('POST', '/mcp', { isPublic: false })).toBe('write');
    expect(rateClassOf('DELETE', '/v1/jobs/:jobId', { isPublic: false })).toBe('write');
  });
});

describe('BoundedBody', () => {
  const bound = { maxBytes: 10, limitName: 'TEST_LIMIT', timeoutMs: 200, timeoutSetting: 'TEST_TIMEOUT' };

  async function read(body: BoundedBody): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const part of body) parts.push(part as Buffer);
    return Buffer.concat(parts);
  }

  it('should pass a body within the bounds through unchanged', async () => {
    const source = new PassThrough();
    const body = new BoundedBody(source, bound);
    source.end('0123456789');
    await expect(read(body)).resolves.toEqual(Buffer.from('0123456789'));
    expect(body.receivedEncodedLength).toBe(10);
  });

  it('should fail with 413 naming the limit at the first byte too many, and stop reading the source', async () => {
    const source = new PassThrough();
    const body = new BoundedBody(source, bound);
    source.write('01234');
    source.write('567890');
    await expect(read(body)).rejects.toMatchObject({ code: 'payload_too_large', details: { limit_bytes: 10, limit: 'TEST_LIMIT' } });
    expect(source.isPaused()).toBe(true);
  });

  it('should fail with 408 request_timeout when the body is not complete in time', async () => {
    const source = new PassThrough();
    const body = new BoundedBody(source, bound);
    source.write('0');
    const started = Date.now();
    await expect(read(body)).rejects.toMatchObject({ code: 'request_timeout', details: { timeout_ms: 200, limit: 'TEST_TIMEOUT' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });
});

describe('UploadSlots', () => {
  it('should cap uploads per token (429) and per server (503), and free a slot once', () => {
    const slots = new UploadSlots(2, 3);
    const a1 = slots.acquire('a');
    const a2 = slots.acquire('a');
    expect(slots.acquire('a')).toMatchObject({ code: 'rate_limited', details: { limit: 2, setting: 'ORCAOPS_UPLOADS_PER_TOKEN' } });
    const b1 = slots.acquire('b');
    expect(slots.acquire('c')).toMatchObject({ code: 'service_unavailable', details: { limit: 3, setting: 'ORCAOPS_MAX_CONCURRENT_UPLOADS' } });
    if (typeof a1 !== 'function' || typeof a2 !== 'function' || typeof b1 !== 'function') throw new Error('expected slots');
    a1();
    a1();
    expect(slots.active).toBe(2);
    expect(typeof slots.acquire('a')).toBe('function');
  });
});
