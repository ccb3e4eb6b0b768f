import type { TestApp } from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { expectError, expectErrorShape } from '../support/errors';
import type { ApiResponse } from '../support/http';
import { api } from '../support/http';
import { sql } from '../support/sql';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

const MAX_BODY_BYTES = 2048;

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

describe('request validation and the error shape', () => {
  let t: TestApp;
  let ws: SeededWorkspace;
  const responses: ApiResponse[] = [];

  /** Every request of this file goes through here, so the last test can check every error it saw. */
  async function send(
    method: Method,
    url: string,
    options: Parameters<typeof api>[3] = {},
  ): Promise<ApiResponse> {
    const res = await api(t.app, method, url, { token: TEST_ADMIN_TOKEN, ...options });
    responses.push(res);
    return res;
  }

  function expectFieldError(res: ApiResponse, field: string): void {
    expectError(res, 400, 'validation_failed');
    const fields = res.body.error.details.fields as Array<{ field: string; messages: string[] }>;
    expect(fields.map((f) => f.field)).toContain(field);
    for (const f of fields) expect(f.messages.length).toBeGreaterThan(0);
  }

  beforeAll(async () => {
    t = await createTestApp({ ORCAOPS_MAX_BODY_BYTES: String(MAX_BODY_BYTES) });
    ws = await seedWorkspace(t.app, 'validation');
  });
  afterAll(() => t.close());

  describe('unknown fields are rejected, naming the field', () => {
    const cases: Array<[string, Method, () => string, unknown, string]> = [
      ['create workspace', 'POST', () => '/v1/workspaces', { name: 'x', owner_id: 'me' }, 'owner_id'],
      [
        'create workspace (nested)',
        'POST',
        () => '/v1/workspaces',
        { name: 'x', settings: { quota: 9 } },
        'settings.quota',
      ],
      ['update workspace', 'PATCH', () => `/v1/workspaces/${ws.id}`, { archived_at: null }, 'archived_at'],
      [
        'create token',
        'POST',
        () => `/v1/workspaces/${ws.id}/tokens`,
        { name: 'x', role: 'viewer', workspace_id: '00000000-0000-4000-8000-000000000000' },
        'workspace_id',
      ],
      [
        'update token',
        'PATCH',
        () => `/v1/workspaces/${ws.id}/tokens/${ws.tokens.ci.id}`,
        { revoked_at: null },
        'revoked_at',
      ],
      ['audit query', 'GET', () => '/v1/audit?tenant=other', undefined, 'tenant'],
    ];

    it.each(cases)('%s', async (_name, method, url, body, field) => {
      expectFieldError(await send(method, url(), { body }), field);
    });

    it('names every problem of a request together', async () => {
      const res = await send('POST', '/v1/workspaces', {
        body: { name: 7, colour: 'red', settings: { job_retention_days: 0 } },
      });
      expectError(res, 400, 'validation_failed');
      const fields = res.body.error.details.fields.map((f: { field: string }) => f.field);
      expect(fields).toEqual(expect.arrayContaining(['name', 'colour', 'settings.job_retention_days']));
    });

    it('changes nothing when it rejects', async () => {
      const rows = await sql(t.databaseUrl, `SELECT count(*)::int AS n FROM workspaces WHERE name = 'x'`);
      expect(rows[0]?.n).toBe(0);
    });
  });

  describe('wrong types are rejected', () => {
    const cases: Array<[string, Method, () => string, unknown, string]> = [
      ['workspace name as a number', 'POST', () => '/v1/workspaces', { name: 42 }, 'name'],
      ['empty workspace name', 'POST', () => '/v1/workspaces', { name: '' }, 'name'],
      ['settings as a string', 'POST', () => '/v1/workspaces', { name: 'x', settings: 'none' }, 'settings'],
      [
        'retention as a string',
        'PATCH',
        () => `/v1/workspaces/${ws.id}`,
        { settings: { job_retention_days: '30' } },
        'settings.job_retention_days',
      ],
      ['unknown status', 'PATCH', () => `/v1/workspaces/${ws.id}`, { status: 'deleted' }, 'status'],
      ['unknown role', 'POST', () => `/v1/workspaces/${ws.id}/tokens`, { name: 'x', role: 'root' }, 'role'],
      [
        'expiry as a string',
        'POST',
        () => `/v1/workspaces/${ws.id}/tokens`,
        { name: 'x', role: 'ci', expires_in_days: '5' },
        'expires_in_days',
      ],
      [
        'fractional expiry',
        'POST',
        () => `/v1/workspaces/${ws.id}/tokens`,
        { name: 'x', role: 'ci', expires_in_days: 1.5 },
        'expires_in_days',
      ],
      [
        'token name as an array',
        'PATCH',
        () => `/v1/workspaces/${ws.id}/tokens/${ws.tokens.ci.id}`,
        { name: ['a'] },
        'name',
      ],
      ['body as an array', 'POST', () => '/v1/workspaces', [{ name: 'x' }], 'name'],
      ['limit as a word', 'GET', () => '/v1/audit?limit=many', undefined, 'limit'],
      ['limit out of range', 'GET', () => '/v1/audit?limit=501', undefined, 'limit'],
      ['since not a date', 'GET', () => '/v1/audit?since=yesterday', undefined, 'since'],
      ['workspace_id not a uuid', 'GET', () => '/v1/audit?workspace_id=42', undefined, 'workspace_id'],
    ];

    it.each(cases)('%s', async (_name, method, url, body, field) => {
      expectFieldError(await send(method, url(), { body }), field);
    });

    it('a garbled audit cursor is a validation error, not a server error', async () => {
      const cursors = [
        '%%%',
        Buffer.from('2024-01-01T00:00:00.000Z|not-a-uuid').toString('base64url'),
        'bm9wZQ',
      ];
      for (const cursor of cursors) {
        expectFieldError(await send('GET', `/v1/audit?cursor=${encodeURIComponent(cursor)}`), 'cursor');
      }
    });

    it('a malformed id answers 404 like an unknown one', async () => {
      expectError(await send('GET', '/v1/workspaces/not-a-uuid'), 404, 'not_found');
      expectError(await send('GET', `/v1/workspaces/${ws.id}/tokens/123`), 404, 'not_found');
    });
  });

  describe('bodies', () => {
    it(`rejects a body over ORCAOPS_MAX_BODY_BYTES (${MAX_BODY_BYTES}) with 413`, async () => {
      const res = await send('POST', '/v1/workspaces', {
        body: { name: 'big', settings: { description: 'x'.repeat(MAX_BODY_BYTES) } },
      });
      expectError(res, 413, 'payload_too_large');
      const rows = await sql(t.databaseUrl, `SELECT count(*)::int AS n FROM workspaces WHERE name = 'big'`);
      expect(rows[0]?.n).toBe(0);
    });

    it('accepts a body just under the limit', async () => {
      const res = await send('POST', '/v1/workspaces', {
        body: { name: 'small', settings: { description: 'x'.repeat(400) } },
      });
      expect(res.status).toBe(201);
    });

    // Authentication comes first (the HTTP edge): an anonymous body is refused unread, whatever its size.
    it('refuses an oversized body without a token with 401, before reading it', async () => {
      const res = await send('POST', '/v1/workspaces', {
        token: undefined,
        rawBody: 'x'.repeat(MAX_BODY_BYTES + 1),
        headers: { 'content-type': 'application/json' },
      });
      expectError(res, 401, 'unauthenticated');
    });

    it.each([
      ['truncated JSON', '{"name":'],
      ['trailing comma', '{"name":"x",}'],
      ['single quotes', "{'name':'x'}"],
    ])('malformed JSON (%s) is 400 in our shape', async (_name, rawBody) => {
      const res = await send('POST', '/v1/workspaces', {
        rawBody,
        headers: { 'content-type': 'application/json' },
      });
      expectError(res, 400, 'bad_request');
    });

    it('an empty JSON body is no body (issue 20): a route that needs one answers 400 validation_failed', async () => {
      const res = await send('POST', '/v1/workspaces', { rawBody: '', headers: { 'content-type': 'application/json' } });
      expectError(res, 400, 'validation_failed');
    });

    it('rejects a content type it does not parse with 415', async () => {
      const res = await send('POST', '/v1/workspaces', {
        rawBody: '<name>x</name>',
        headers: { 'content-type': 'application/xml' },
      });
      expectError(res, 415, 'unsupported_media_type');
    });

    it('answers an unknown route with 404 in our shape', async () => {
      expectError(await send('GET', '/v1/nothing-here'), 404, 'not_found');
    });
  });

  it('gives every error response of this file the one shape {error: {code, message, request_id, details?}}', () => {
    const errors = responses.filter((r) => r.status >= 400);
    expect(errors.length).toBeGreaterThan(30);
    for (const res of errors) expectErrorShape(res);
  });
});
