import type { TestApp } from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { expectError } from '../support/errors';
import type { ApiResponse } from '../support/http';
import { api } from '../support/http';
import { sql } from '../support/sql';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

const ENV_ADMIN_ID = '00000000-0000-0000-0000-000000000000';

interface EventRow {
  action: string;
  outcome: string;
  workspace_id: string | null;
  actor_type: string;
  actor_id: string | null;
  resource_type: string | null;
  resource_id: string | null;
  request_id: string | null;
  via: string | null;
  details: Record<string, unknown>;
}

interface ExpectedEvent {
  action: string;
  outcome?: string;
  workspace_id: string | null;
  actor_id: string | null;
  resource_type?: string;
  resource_id?: string;
  details?: Record<string, unknown>;
}

interface AuditView {
  id: string;
  occurred_at: string;
  action: string;
  actor_id: string | null;
  workspace_id: string | null;
  resource_id: string | null;
}

describe('audit trail', () => {
  let t: TestApp;
  let a: SeededWorkspace;
  let b: SeededWorkspace;

  /** The response's request id names exactly one event, and it is the expected one. */
  async function expectOneEvent(res: ApiResponse, expected: ExpectedEvent): Promise<EventRow> {
    const requestId = res.headers['x-request-id'];
    expect(requestId).toEqual(expect.any(String));
    const rows = await sql<EventRow & Record<string, unknown>>(
      t.databaseUrl,
      'SELECT * FROM audit_events WHERE request_id = $1',
      [requestId],
    );
    expect(rows).toHaveLength(1);
    const { details, ...rest } = expected;
    expect(rows[0]).toMatchObject({ outcome: 'success', via: 'rest', request_id: requestId, ...rest });
    if (details) expect(rows[0]?.details).toMatchObject(details);
    return rows[0]!;
  }

  async function listAll(token: string, query = ''): Promise<AuditView[]> {
    const res = await api(t.app, 'GET', `/v1/audit?limit=500${query}`, { token });
    expect(res.status).toBe(200);
    expect(res.body.next_cursor).toBeNull();
    return res.body.items;
  }

  beforeAll(async () => {
    t = await createTestApp();
    a = await seedWorkspace(t.app, 'audit-a');
    b = await seedWorkspace(t.app, 'audit-b');
  });
  afterAll(() => t.close());

  describe('every mutation leaves exactly one matching event', () => {
    let workspaceId: string;
    let tokenId: string;

    it('workspace.create', async () => {
      const res = await api(t.app, 'POST', '/v1/workspaces', {
        token: TEST_ADMIN_TOKEN,
        body: { name: 'audited' },
      });
      workspaceId = res.body.id;
      await expectOneEvent(res, {
        action: 'workspace.create',
        actor_id: ENV_ADMIN_ID,
        workspace_id: workspaceId,
        resource_type: 'workspace',
        resource_id: workspaceId,
        details: { name: 'audited' },
      });
    });

    it('workspace.update (keeps a caller-supplied X-Request-Id)', async () => {
      const res = await api(t.app, 'PATCH', `/v1/workspaces/${workspaceId}`, {
        token: TEST_ADMIN_TOKEN,
        body: { name: 'renamed' },
        headers: { 'x-request-id': 'caller-chosen-id.1' },
      });
      expect(res.headers['x-request-id']).toBe('caller-chosen-id.1');
      await expectOneEvent(res, {
        action: 'workspace.update',
        actor_id: ENV_ADMIN_ID,
        workspace_id: workspaceId,
        resource_id: workspaceId,
        details: { name: 'renamed' },
      });
    });

    it('token.create, by a workspace admin token', async () => {
      const seeded = await seedWorkspace(t.app, 'audited-tokens');
      workspaceId = seeded.id;
      const res = await api(t.app, 'POST', `/v1/workspaces/${workspaceId}/tokens`, {
        token: seeded.tokens.admin.token,
        body: { name: 'ci bot', role: 'ci' },
      });
      tokenId = res.body.id;
      const event = await expectOneEvent(res, {
        action: 'token.create',
        actor_type: 'workspace',
        actor_id: seeded.tokens.admin.id,
        workspace_id: workspaceId,
        resource_type: 'token',
        resource_id: tokenId,
        details: { name: 'ci bot', role: 'ci' },
      } as ExpectedEvent);
      expect(JSON.stringify(event)).not.toContain(res.body.token.slice(-32));
    });

    it('token.update', async () => {
      const res = await api(t.app, 'PATCH', `/v1/workspaces/${workspaceId}/tokens/${tokenId}`, {
        token: TEST_ADMIN_TOKEN,
        body: { role: 'viewer' },
      });
      await expectOneEvent(res, {
        action: 'token.update',
        actor_id: ENV_ADMIN_ID,
        workspace_id: workspaceId,
        resource_id: tokenId,
        details: { role: 'viewer' },
      });
    });

    it('token.rotate', async () => {
      const res = await api(t.app, 'POST', `/v1/workspaces/${workspaceId}/tokens/${tokenId}/rotate`, {
        token: TEST_ADMIN_TOKEN,
      });
      const event = await expectOneEvent(res, {
        action: 'token.rotate',
        actor_id: ENV_ADMIN_ID,
        workspace_id: workspaceId,
        resource_id: tokenId,
      });
      expect(JSON.stringify(event)).not.toContain(res.body.token.slice(-32));
    });

    it('token.revoke', async () => {
      const res = await api(t.app, 'DELETE', `/v1/workspaces/${workspaceId}/tokens/${tokenId}`, {
        token: TEST_ADMIN_TOKEN,
      });
      await expectOneEvent(res, {
        action: 'token.revoke',
        actor_id: ENV_ADMIN_ID,
        workspace_id: workspaceId,
        resource_id: tokenId,
      });
    });

    it('revoking twice records nothing new', async () => {
      const res = await api(t.app, 'DELETE', `/v1/workspaces/${workspaceId}/tokens/${tokenId}`, {
        token: TEST_ADMIN_TOKEN,
      });
      expect(res.status).toBe(200);
      const rows = await sql(t.databaseUrl, 'SELECT 1 FROM audit_events WHERE request_id = $1', [
        res.headers['x-request-id'],
      ]);
      expect(rows).toHaveLength(0);
    });

    it('workspace status changes: suspend, reactivate, archive', async () => {
      for (const [from, to] of [
        ['active', 'suspended'],
        ['suspended', 'active'],
      ] as const) {
        const res = await api(t.app, 'PATCH', `/v1/workspaces/${workspaceId}`, {
          token: TEST_ADMIN_TOKEN,
          body: { status: to },
        });
        await expectOneEvent(res, {
          action: 'workspace.update',
          actor_id: ENV_ADMIN_ID,
          workspace_id: workspaceId,
          resource_id: workspaceId,
          details: { status: { from, to } },
        });
      }
      const res = await api(t.app, 'DELETE', `/v1/workspaces/${workspaceId}`, { token: TEST_ADMIN_TOKEN });
      await expectOneEvent(res, {
        action: 'workspace.archive',
        actor_id: ENV_ADMIN_ID,
        workspace_id: workspaceId,
        resource_id: workspaceId,
        details: { status: { from: 'active', to: 'archived' } },
      });
    });
  });

  describe('denials are audited', () => {
    it('a failed authentication (401) is auth.failed, with no actor', async () => {
      const res = await api(t.app, 'GET', `/v1/workspaces/${a.id}`, {
        token: `orcaops_ws_${'Z'.repeat(12)}_${'z'.repeat(32)}`,
      });
      expectError(res, 401, 'unauthenticated');
      await expectOneEvent(res, {
        action: 'auth.failed',
        outcome: 'denied',
        actor_type: 'anonymous',
        actor_id: null,
        workspace_id: null,
        details: { code: 'unauthenticated', route: 'GET /v1/workspaces/:workspaceId' },
      } as ExpectedEvent);
    });

    it('a missing token is auth.failed too', async () => {
      const res = await api(t.app, 'GET', '/v1/me');
      await expectOneEvent(res, {
        action: 'auth.failed',
        outcome: 'denied',
        actor_id: null,
        workspace_id: null,
      });
    });

    it('a token of a suspended workspace is auth.failed with its code', async () => {
      const c = await seedWorkspace(t.app, 'audit-suspended');
      await api(t.app, 'PATCH', `/v1/workspaces/${c.id}`, {
        token: TEST_ADMIN_TOKEN,
        body: { status: 'suspended' },
      });
      const res = await api(t.app, 'GET', '/v1/me', { token: c.tokens.viewer.token });
      expectError(res, 403, 'workspace_suspended');
      await expectOneEvent(res, {
        action: 'auth.failed',
        outcome: 'denied',
        actor_id: null,
        workspace_id: null,
        details: { code: 'workspace_suspended' },
      });
    });

    it('a route permission denial (403) is auth.forbidden, naming the token and the permission', async () => {
      const res = await api(t.app, 'PATCH', `/v1/workspaces/${a.id}`, {
        token: a.tokens.viewer.token,
        body: { name: 'nope' },
      });
      expectError(res, 403, 'forbidden');
      await expectOneEvent(res, {
        action: 'auth.forbidden',
        outcome: 'denied',
        actor_id: a.tokens.viewer.id,
        workspace_id: a.id,
        details: { required: 'workspace:admin', route: 'PATCH /v1/workspaces/:workspaceId' },
      });
    });

    it('a permission denial inside a service (status change by a workspace admin) is audited too', async () => {
      const res = await api(t.app, 'PATCH', `/v1/workspaces/${a.id}`, {
        token: a.tokens.admin.token,
        body: { status: 'archived' },
      });
      expectError(res, 403, 'forbidden');
      await expectOneEvent(res, {
        action: 'auth.forbidden',
        outcome: 'denied',
        actor_id: a.tokens.admin.id,
        workspace_id: a.id,
        details: { required: 'org:admin', field: 'status' },
      });
    });

    it('an organisation-only workspace setting asked for by a workspace admin is denied and audited', async () => {
      const res = await api(t.app, 'PATCH', `/v1/workspaces/${a.id}`, {
        token: a.tokens.admin.token,
        body: { settings: { max_concurrent_jobs: 64 } },
      });
      expectError(res, 403, 'forbidden');
      await expectOneEvent(res, {
        action: 'auth.forbidden',
        outcome: 'denied',
        actor_id: a.tokens.admin.id,
        workspace_id: a.id,
        details: { required: 'org:admin', field: 'settings' },
      });
    });

    it('a viewer lacks audit:read', async () => {
      expectError(await api(t.app, 'GET', '/v1/audit', { token: a.tokens.viewer.token }), 403, 'forbidden');
      expectError(
        await api(t.app, 'GET', '/v1/audit', { token: a.tokens.developer.token }),
        403,
        'forbidden',
      );
    });
  });

  describe('GET /v1/audit', () => {
    it("shows a workspace token only its workspace's events, whatever it asks for", async () => {
      const own = await listAll(a.tokens.admin.token);
      expect(own.length).toBeGreaterThan(3);
      expect(new Set(own.map((e) => e.workspace_id))).toEqual(new Set([a.id]));

      expect(await listAll(a.tokens.admin.token, `&workspace_id=${b.id}`)).toEqual(
        await listAll(a.tokens.admin.token),
      );
      expect(await listAll(a.tokens.admin.token, `&resource_id=${b.id}`)).toEqual([]);
      expect(await listAll(b.tokens.admin.token, `&actor=${a.tokens.viewer.id}`)).toEqual([]);
    });

    it('lets the organisation admin see every workspace, or one', async () => {
      const all = await listAll(TEST_ADMIN_TOKEN);
      expect(all.some((e) => e.workspace_id === a.id) && all.some((e) => e.workspace_id === b.id)).toBe(true);
      expect(all.some((e) => e.workspace_id === null)).toBe(true);
      const onlyB = await listAll(TEST_ADMIN_TOKEN, `&workspace_id=${b.id}`);
      expect(onlyB.length).toBeGreaterThan(0);
      expect(new Set(onlyB.map((e) => e.workspace_id))).toEqual(new Set([b.id]));
    });

    it('filters by action, with * as the only wildcard', async () => {
      const tokenEvents = await listAll(TEST_ADMIN_TOKEN, '&action=token.*');
      expect(new Set(tokenEvents.map((e) => e.action))).toEqual(
        new Set(['token.create', 'token.update', 'token.rotate', 'token.revoke']),
      );
      const exact = await listAll(TEST_ADMIN_TOKEN, '&action=token.rotate');
      expect(exact).toHaveLength(1);
      const all = await listAll(TEST_ADMIN_TOKEN);
      const forbidden = await listAll(TEST_ADMIN_TOKEN, '&action=*.forbidden');
      expect(forbidden.map((e) => e.id)).toEqual(
        all.filter((e) => e.action === 'auth.forbidden').map((e) => e.id),
      );
      expect(forbidden.length).toBeGreaterThanOrEqual(3);
      expect(await listAll(TEST_ADMIN_TOKEN, `&action=${encodeURIComponent('token.%')}`)).toEqual([]);
      expect(await listAll(TEST_ADMIN_TOKEN, '&action=token_create')).toEqual([]);
      expect(await listAll(TEST_ADMIN_TOKEN, '&action=token')).toEqual([]);
    });

    it('filters by actor and by resource', async () => {
      const byViewer = await listAll(TEST_ADMIN_TOKEN, `&actor=${a.tokens.viewer.id}`);
      expect(byViewer.length).toBeGreaterThanOrEqual(2);
      expect(byViewer.every((e) => e.action === 'auth.forbidden' && e.actor_id === a.tokens.viewer.id)).toBe(
        true,
      );

      const viewerToken = await listAll(
        TEST_ADMIN_TOKEN,
        `&resource_type=token&resource_id=${a.tokens.viewer.id}`,
      );
      expect(viewerToken.map((e) => [e.action, e.resource_id])).toEqual([
        ['token.create', a.tokens.viewer.id],
      ]);
      expect(
        await listAll(TEST_ADMIN_TOKEN, `&resource_type=workspace&resource_id=${a.tokens.viewer.id}`),
      ).toEqual([]);
    });

    it('filters by time: since is inclusive, until exclusive', async () => {
      const all = await listAll(TEST_ADMIN_TOKEN);
      const times = [...new Set(all.map((e) => e.occurred_at))].sort();
      expect(times.length).toBeGreaterThan(4);
      const [since, until] = [times[1]!, times[times.length - 2]!];

      const window = await listAll(TEST_ADMIN_TOKEN, `&since=${since}&until=${until}`);
      const expected = all.filter((e) => e.occurred_at >= since && e.occurred_at < until);
      expect(window.map((e) => e.id)).toEqual(expected.map((e) => e.id));
      expect(window.some((e) => e.occurred_at === since)).toBe(true);
      expect(window.some((e) => e.occurred_at === until)).toBe(false);
      expect(
        await listAll(TEST_ADMIN_TOKEN, `&since=${new Date(Date.now() + 60_000).toISOString()}`),
      ).toEqual([]);
    });

    it('pages newest first with a cursor, without gaps or repeats, keeping the filters', async () => {
      const all = await listAll(TEST_ADMIN_TOKEN);
      const paged: AuditView[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `&cursor=${cursor}` : '';
        const res: ApiResponse = await api(t.app, 'GET', `/v1/audit?limit=3${query}`, {
          token: TEST_ADMIN_TOKEN,
        });
        expect(res.body.items.length).toBeLessThanOrEqual(3);
        paged.push(...res.body.items);
        cursor = res.body.next_cursor;
      } while (cursor);
      expect(paged.map((e) => e.id)).toEqual(all.map((e) => e.id));
      const times = paged.map((e) => e.occurred_at);
      expect(times).toEqual([...times].sort().reverse());

      const first = await api(t.app, 'GET', `/v1/audit?limit=2&workspace_id=${a.id}`, {
        token: TEST_ADMIN_TOKEN,
      });
      const second = await api(
        t.app,
        'GET',
        `/v1/audit?limit=500&workspace_id=${a.id}&cursor=${first.body.next_cursor}`,
        {
          token: TEST_ADMIN_TOKEN,
        },
      );
      const onlyA = await listAll(TEST_ADMIN_TOKEN, `&workspace_id=${a.id}`);
      expect([...first.body.items, ...second.body.items].map((e: AuditView) => e.id)).toEqual(
        onlyA.map((e) => e.id),
      );
    });
  });
});
