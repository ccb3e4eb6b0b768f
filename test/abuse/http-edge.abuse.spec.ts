import { randomUUID } from 'node:crypto';
import { randomBase62 } from 'src/tenancy/token-secret';
import { sql } from '../support/sql';
import { startAbuseServer, type AbuseServer } from './support/abuse-server';
import { sendStreamed, type StreamedResult } from './support/streamed-request';

const MiB = 1024 * 1024;
const BODY_TIMEOUT_MS = 3_000;
const UPLOAD_TIMEOUT_MS = 5_000;
const READS_PER_WINDOW = 300;
const AUTH_FAILURES_PER_WINDOW = 20;
/** A refused body must not be buffered: the server's RSS grows by less than this during the case. */
const RSS_GROWTH_BOUND = 32 * MiB;

// The HTTP edge (src/http/edge): authentication before the body, body caps and read deadlines, rate
// limits per token and per address, and a bounded audit trail of failed authentications.
describe('abuse: the HTTP edge', () => {
  let s: AbuseServer;
  beforeAll(async () => {
    s = await startAbuseServer({
      ORCAOPS_BODY_TIMEOUT_MS: String(BODY_TIMEOUT_MS),
      ORCAOPS_UPLOAD_TIMEOUT_MS: String(UPLOAD_TIMEOUT_MS),
      ORCAOPS_RATE_LIMIT_READS: String(READS_PER_WINDOW),
      ORCAOPS_RATE_LIMIT_AUTH_FAILURES: String(AUTH_FAILURES_PER_WINDOW),
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  /** An anonymous 50 MiB body is answered 401 while the client is still sending, and never buffered. */
  async function refusedUnread(method: string, path: string, contentType: string): Promise<StreamedResult> {
    const before = s.rss();
    const { result, peakRss } = await s.watch(() => sendStreamed(s.url, { method, path, contentType, totalBytes: 50 * MiB }));
    expect(result.status).toBe(401);
    expect(result.body.error.code).toBe('unauthenticated');
    expect(result.sentBeforeAnswer).toBeLessThan(result.totalBytes);
    expect(result.answeredAfterMs).toBeLessThan(5_000);
    expect(peakRss - before).toBeLessThan(RSS_GROWTH_BOUND);
    return result;
  }

  it('an unauthenticated 50 MiB octet-stream upload to a raw file route is refused 401 before it is read', async () => {
    await refusedUnread('PUT', `/v1/sandboxes/${randomUUID()}/files/content?path=big.bin`, 'application/octet-stream');
  });

  it('an unauthenticated 50 MiB x-tar upload (sandbox archive, workflow source) is refused 401 before it is read', async () => {
    await refusedUnread('PUT', `/v1/sandboxes/${randomUUID()}/archive?path=/workspace`, 'application/x-tar');
    await refusedUnread('POST', '/v1/workflows/sources', 'application/x-tar');
  });

  it('an unauthenticated 50 MiB JSON body (REST and /mcp) is refused 401 before it is read', async () => {
    await refusedUnread('POST', '/v1/jobs', 'application/json');
    await refusedUnread('POST', '/mcp', 'application/json');
  });

  it('an oversized body with a valid token gets 413 naming the limit, before it is read', async () => {
    const before = s.rss();
    const { result, peakRss } = await s.watch(async () => ({
      json: await sendStreamed(s.url, { method: 'POST', path: '/v1/jobs', token: s.abuser.developer, contentType: 'application/json', totalBytes: 20 * MiB }),
      mcp: await sendStreamed(s.url, { method: 'POST', path: '/mcp', token: s.abuser.developer, contentType: 'application/json', totalBytes: 20 * MiB }),
      upload: await sendStreamed(s.url, {
        method: 'PUT',
        path: `/v1/sandboxes/${randomUUID()}/files/content?path=big.bin`,
        token: s.abuser.developer,
        contentType: 'application/octet-stream',
        totalBytes: 65 * MiB,
      }),
      octetToJsonRoute: await sendStreamed(s.url, { method: 'POST', path: '/v1/jobs', token: s.abuser.developer, contentType: 'application/octet-stream', totalBytes: 20 * MiB }),
    }));
    for (const response of [result.json, result.mcp]) {
      expect(response.status).toBe(413);
      expect(response.body.error).toMatchObject({ code: 'payload_too_large', details: { limit_bytes: MiB, limit: 'ORCAOPS_MAX_BODY_BYTES' } });
      expect(response.body.error.message).toContain(`${MiB}-byte limit (ORCAOPS_MAX_BODY_BYTES)`);
      expect(response.sentBeforeAnswer).toBeLessThan(response.totalBytes);
    }
    expect(result.upload.status).toBe(413);
    expect(result.upload.body.error).toMatchObject({ code: 'payload_too_large', details: { limit_bytes: 64 * MiB } });
    expect(result.upload.body.error.message).toContain('upload limit of PUT /v1/sandboxes/:id/files/content');
    expect(result.octetToJsonRoute.status).toBe(415);
    expect(result.octetToJsonRoute.body.error.code).toBe('unsupported_media_type');
    expect(peakRss - before).toBeLessThan(RSS_GROWTH_BOUND);
  });

  it('a slow-drip body (a few bytes per second) is cut with 408 request_timeout after its timeout (JSON and upload)', async () => {
    const drip = { token: s.abuser.developer, totalBytes: 10_000, chunkBytes: 5, intervalMs: 1_000 };
    const { result } = await s.watch(() =>
      Promise.all([
        sendStreamed(s.url, { ...drip, method: 'POST', path: '/v1/jobs', contentType: 'application/json' }),
        sendStreamed(s.url, { ...drip, method: 'PUT', path: `/v1/sandboxes/${randomUUID()}/files/content?path=drip.bin`, contentType: 'application/octet-stream' }),
      ]),
    );
    const [json, upload] = result;
    for (const [response, timeoutMs, setting] of [
      [json, BODY_TIMEOUT_MS, 'ORCAOPS_BODY_TIMEOUT_MS'],
      [upload, UPLOAD_TIMEOUT_MS, 'ORCAOPS_UPLOAD_TIMEOUT_MS'],
    ] as const) {
      expect(response.status).toBe(408);
      expect(response.body.error).toMatchObject({ code: 'request_timeout', details: { timeout_ms: timeoutMs, limit: setting } });
      expect(response.body.error.message).toContain(setting);
      expect(response.answeredAfterMs).toBeGreaterThanOrEqual(timeoutMs - 500);
      expect(response.answeredAfterMs).toBeLessThan(timeoutMs + 5_000);
      expect(response.headers.connection).toBe('close');
    }
  });

  it('parallel uploads: a token gets 429 past its upload slots while another tenant still uploads', async () => {
    const drip = { token: s.abuser.developer, totalBytes: 10_000, chunkBytes: 100, intervalMs: 500, contentType: 'application/octet-stream', method: 'PUT' };
    const path = (): string => `/v1/sandboxes/${randomUUID()}/files/content?path=slot.bin`;
    const { result } = await s.watch(async () => {
      // Two uploads hold the abuser's slots (ORCAOPS_UPLOADS_PER_TOKEN=2) until the upload timeout cuts them.
      const holding = [sendStreamed(s.url, { ...drip, path: path() }), sendStreamed(s.url, { ...drip, path: path() })];
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const third = await sendStreamed(s.url, { ...drip, path: path(), intervalMs: undefined });
      const bystander = await sendStreamed(s.url, { ...drip, token: s.bystander.developer, path: path(), intervalMs: undefined });
      return { third, bystander, held: await Promise.all(holding) };
    });
    expect(result.third.status).toBe(429);
    expect(result.third.body.error).toMatchObject({ code: 'rate_limited', details: { limit: 2, setting: 'ORCAOPS_UPLOADS_PER_TOKEN' } });
    expect(result.third.headers['retry-after']).toBe('1');
    // The bystander's upload is read and reaches the service (which answers for the unknown sandbox).
    expect(result.bystander.status).toBe(404);
    expect(result.held.map((r) => r.status)).toEqual([408, 408]);
  });

  it('a flood with one valid token gets 429 with Retry-After for that token, while other tokens are served', async () => {
    const { result } = await s.watch(async () => {
      const statuses: number[] = [];
      let limited: Awaited<ReturnType<AbuseServer['request']>> | undefined;
      for (let batch = 0; batch < 8 && !limited; batch++) {
        const responses = await Promise.all(Array.from({ length: 50 }, () => s.request('GET', '/v1/jobs?limit=1', { token: s.abuser.developer })));
        statuses.push(...responses.map((r) => r.status));
        limited = responses.find((r) => r.status === 429);
      }
      // The abuser's other token and the bystander are counted apart.
      const sibling = await s.request('GET', '/v1/me', { token: s.abuser.viewer });
      return { statuses, limited, sibling };
    });
    expect(result.statuses.filter((status) => status === 200)).toHaveLength(READS_PER_WINDOW);
    expect(result.statuses.every((status) => status === 200 || status === 429)).toBe(true);
    expect(result.limited?.body.error).toMatchObject({ code: 'rate_limited', details: { limit: READS_PER_WINDOW, setting: 'ORCAOPS_RATE_LIMIT_READS' } });
    expect(result.limited?.body.error.message).toContain('this token');
    expect(Number(result.limited?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(result.sibling.status).toBe(200);
  });

  it('a token brute force from one address gets 429 with Retry-After quickly, while the bystander on that address is served', async () => {
    const { result } = await s.watch(async () => {
      const responses = [];
      for (let i = 0; i < 100; i++) {
        responses.push(await s.request('GET', '/v1/me', { token: `orcaops_ws_${randomBase62(12)}_${randomBase62(32)}` }));
      }
      return responses;
    });
    const statuses = result.map((r) => r.status);
    expect(statuses.filter((status) => status === 401).length).toBeLessThanOrEqual(AUTH_FAILURES_PER_WINDOW);
    expect(statuses.slice(AUTH_FAILURES_PER_WINDOW)).toEqual(Array(100 - AUTH_FAILURES_PER_WINDOW).fill(429));
    const limited = result[result.length - 1]!;
    expect(limited.body.error).toMatchObject({ code: 'rate_limited', details: { setting: 'ORCAOPS_RATE_LIMIT_AUTH_FAILURES' } });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('a flood of failed authentications adds a bounded number of audit rows', async () => {
    const FLOOD = 300;
    const count = async (): Promise<number> =>
      (await sql<{ n: number }>(s.databaseUrl, `SELECT count(*)::int AS n FROM audit_events WHERE action = 'auth.failed' AND details->>'route' IN ('GET /v1/jobs', 'POST /v1/jobs')`))[0]!.n;
    const before = await count();
    const { result } = await s.watch(async () => {
      const statuses: number[] = [];
      for (let batch = 0; batch < FLOOD / 30; batch++) {
        const responses = await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            s.request(i % 2 ? 'GET' : 'POST', '/v1/jobs', { token: i % 3 ? `orcaops_ws_${randomBase62(12)}_${randomBase62(32)}` : undefined, body: i % 2 ? undefined : {} }),
          ),
        );
        statuses.push(...responses.map((r) => r.status));
      }
      return statuses;
    });
    expect(result).toHaveLength(FLOOD);
    expect(result.every((status) => status === 401 || status === 429)).toBe(true);
    // One row per (address, route, code) and window, plus one summary per key when its window ends:
    // two keys here, and at most one window boundary during the flood.
    expect((await count()) - before).toBeLessThanOrEqual(6);
  });
});
