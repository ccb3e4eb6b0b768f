import { TokenAuthService } from 'src/tenancy/token-auth.service';
import type { TestApp } from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { expectError } from '../support/errors';
import { api } from '../support/http';
import { sql } from '../support/sql';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

const BAD_TOKEN = `orcaops_ws_${'Q'.repeat(12)}_${'q'.repeat(32)}`;

// The HTTP edge (src/http/edge) through Fastify's inject: authentication in onRequest, body rules
// in preParsing, rate limits per token and per address. Real sockets: test/abuse/http-edge.abuse.spec.ts.
describe('HTTP edge', () => {
  let t: TestApp;
  let a: SeededWorkspace;

  beforeAll(async () => {
    t = await createTestApp({
      ORCAOPS_RATE_LIMIT_READS: '8',
      ORCAOPS_RATE_LIMIT_ANONYMOUS: '3',
      ORCAOPS_RATE_LIMIT_AUTH_FAILURES: '4',
    });
    a = await seedWorkspace(t.app, 'edge');
  });
  afterAll(() => t.close());

  it('verifies a token once per request: the guard takes the principal the edge found', async () => {
    const authenticate = jest.spyOn(t.app.get(TokenAuthService), 'authenticate');
    try {
      const res = await api(t.app, 'GET', '/v1/me', { token: a.tokens.admin.token });
      expect(res.status).toBe(200);
      expect(authenticate).toHaveBeenCalledTimes(1);
    } finally {
      authenticate.mockRestore();
    }
  });

  it('refuses a body without a token before looking at its type', async () => {
    const res = await api(t.app, 'POST', '/v1/jobs', { rawBody: 'x'.repeat(4096), headers: { 'content-type': 'application/octet-stream' } });
    expectError(res, 401, 'unauthenticated');
  });

  it('takes raw bytes only on upload routes: elsewhere 415 naming the route', async () => {
    const res = await api(t.app, 'POST', '/v1/jobs', {
      token: a.tokens.developer.token,
      rawBody: 'x'.repeat(16),
      headers: { 'content-type': 'application/octet-stream' },
    });
    expectError(res, 415, 'unsupported_media_type');
    expect(res.body.error.message).toContain('POST /v1/jobs takes a JSON body');
  });

  it('answers 413 naming the limit from Content-Length, for a token holder', async () => {
    const res = await api(t.app, 'POST', '/v1/jobs', { token: a.tokens.developer.token, body: { image: 'x'.repeat(2 * 1024 * 1024) } });
    expectError(res, 413, 'payload_too_large');
    expect(res.body.error.details).toEqual({ limit_bytes: 1024 * 1024, limit: 'ORCAOPS_MAX_BODY_BYTES' });
  });

  it('limits reads per token (429 with Retry-After), not per address: another token is still served', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await api(t.app, 'GET', '/v1/jobs', { token: a.tokens.viewer.token })).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(8);
    const limited = await api(t.app, 'GET', '/v1/jobs', { token: a.tokens.viewer.token });
    expectError(limited, 429, 'rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.body.error.details).toMatchObject({ limit: 8, window_seconds: 60, setting: 'ORCAOPS_RATE_LIMIT_READS' });
    expect((await api(t.app, 'GET', '/v1/jobs', { token: a.tokens.ci.token })).status).toBe(200);
  });

  it('never limits /health and /ready; limits other public routes per address', async () => {
    for (let i = 0; i < 20; i++) expect((await api(t.app, 'GET', '/health')).status).toBe(200);
    for (let i = 0; i < 5; i++) expect([200, 503]).toContain((await api(t.app, 'GET', '/ready')).status);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await api(t.app, 'GET', '/openapi.json')).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it('limits failed authentications per address, and a valid token on that address is still served', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await api(t.app, 'GET', '/v1/me', { token: BAD_TOKEN })).status);
    // The anonymous body above was the address's first failure: three more fit in the budget of four.
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);
    const limited = await api(t.app, 'POST', '/mcp', { body: { jsonrpc: '2.0', id: 1, method: 'ping' } });
    expectError(limited, 429, 'rate_limited');
    expect(limited.body.error.details).toMatchObject({ setting: 'ORCAOPS_RATE_LIMIT_AUTH_FAILURES' });
    expect((await api(t.app, 'GET', '/v1/me', { token: TEST_ADMIN_TOKEN })).status).toBe(200);
  });

  it('audits failed authentications at /mcp as via mcp, one row per address, route and code in a window', async () => {
    const rows = await sql<{ via: string; details: Record<string, unknown> }>(
      t.databaseUrl,
      `SELECT via, details FROM audit_events WHERE action = 'auth.failed' ORDER BY occurred_at`,
    );
    expect(rows).toEqual([
      { via: 'rest', details: { code: 'unauthenticated', route: 'POST /v1/jobs' } },
      { via: 'rest', details: { code: 'unauthenticated', route: 'GET /v1/me' } },
      { via: 'mcp', details: { code: 'unauthenticated', route: 'POST /mcp' } },
    ]);
  });
});
