import { randomUUID } from 'node:crypto';
import type { TestApp } from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { comparableError, expectError } from '../support/errors';
import type { ApiResponse } from '../support/http';
import { api } from '../support/http';
import { sql } from '../support/sql';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
type Role = keyof SeededWorkspace['tokens'];

interface RouteCase {
  name: string;
  method: Method;
  path: (workspaceId: string, tokenId: string) => string;
  body?: unknown;
  /** Only organisation admins hold this route's permission: every workspace token gets 403, whatever the id. */
  orgOnly?: boolean;
}

/** Every /v1 route that takes a workspace (and token) id. */
const ROUTES_WITH_IDS: RouteCase[] = [
  { name: 'get workspace', method: 'GET', path: (ws) => `/v1/workspaces/${ws}` },
  {
    name: 'update workspace',
    method: 'PATCH',
    path: (ws) => `/v1/workspaces/${ws}`,
    body: { name: 'taken over' },
  },
  { name: 'archive workspace', method: 'DELETE', path: (ws) => `/v1/workspaces/${ws}`, orgOnly: true },
  {
    name: 'create token',
    method: 'POST',
    path: (ws) => `/v1/workspaces/${ws}/tokens`,
    body: { name: 'x', role: 'admin' },
  },
  { name: 'list tokens', method: 'GET', path: (ws) => `/v1/workspaces/${ws}/tokens` },
  { name: 'get token', method: 'GET', path: (ws, tok) => `/v1/workspaces/${ws}/tokens/${tok}` },
  {
    name: 'update token',
    method: 'PATCH',
    path: (ws, tok) => `/v1/workspaces/${ws}/tokens/${tok}`,
    body: { role: 'viewer' },
  },
  { name: 'revoke token', method: 'DELETE', path: (ws, tok) => `/v1/workspaces/${ws}/tokens/${tok}` },
  { name: 'rotate token', method: 'POST', path: (ws, tok) => `/v1/workspaces/${ws}/tokens/${tok}/rotate` },
];
const TOKEN_ROUTES = ROUTES_WITH_IDS.filter((r) => r.path('W', 'T').includes('/T'));
const MUTATING_ROUTES = ROUTES_WITH_IDS.filter((r) => r.method !== 'GET');
/** Operator views of the engine (issue 20): organisation admins only, whatever the object. */
const ENGINE_ROUTES: RouteCase[] = [
  { name: 'engine objects', method: 'GET', path: () => '/v1/admin/engine/objects' },
  { name: 'inspect engine container', method: 'GET', path: (_ws, tok) => `/v1/admin/engine/containers/${tok}` },
  { name: 'engine container logs', method: 'GET', path: (_ws, tok) => `/v1/admin/engine/containers/${tok}/logs` },
  { name: 'stop engine container', method: 'POST', path: (_ws, tok) => `/v1/admin/engine/containers/${tok}/stop` },
  { name: 'remove engine container', method: 'DELETE', path: (_ws, tok) => `/v1/admin/engine/containers/${tok}` },
  { name: 'remove engine volume', method: 'DELETE', path: (_ws, tok) => `/v1/admin/engine/volumes/${tok}` },
  { name: 'remove engine network', method: 'DELETE', path: (_ws, tok) => `/v1/admin/engine/networks/${tok}` },
  { name: 'engine gc', method: 'POST', path: () => '/v1/admin/engine/gc', body: { dry_run: true } },
];
const EVERY_V1_ROUTE: RouteCase[] = [
  ...ENGINE_ROUTES,
  { name: 'who am i', method: 'GET', path: () => '/v1/me' },
  { name: 'list workspaces', method: 'GET', path: () => '/v1/workspaces' },
  { name: 'create workspace', method: 'POST', path: () => '/v1/workspaces', body: { name: 'x' } },
  { name: 'audit', method: 'GET', path: () => '/v1/audit' },
  { name: 'job metrics', method: 'GET', path: () => '/v1/metrics/jobs' },
  // Run search takes no ids: its isolation (only the caller's runs, on REST, CLI and MCP) is in run-search*.e2e.spec.ts.
  { name: 'search runs', method: 'GET', path: () => '/v1/jobs/search?q=status:failed' },
  { name: 'export runs', method: 'GET', path: () => '/v1/jobs/export?q=status:failed' },
  { name: 'delete runs by query', method: 'POST', path: () => '/v1/jobs/delete-by-query', body: { q: 'status:failed', dry_run: true } },
  { name: 'delete workflow runs by query', method: 'POST', path: () => '/v1/workflows/delete-by-query', body: { q: 'until:30d', dry_run: true } },
  { name: 'list registry credentials', method: 'GET', path: () => '/v1/registry-credentials' },
  { name: 'delete registry credential', method: 'DELETE', path: (_ws, tok) => `/v1/registry-credentials/${tok}` },
  { name: 'egress events', method: 'GET', path: () => '/v1/egress/events' },
  { name: 'list image builds', method: 'GET', path: () => '/v1/images/builds' },
  { name: 'get image build', method: 'GET', path: () => `/v1/images/builds/${randomUUID()}` },
  { name: 'image build log', method: 'GET', path: () => `/v1/images/builds/${randomUUID()}/log` },
  { name: 'delete image build', method: 'DELETE', path: () => `/v1/images/builds/${randomUUID()}` },
  { name: 'workspace image cache', method: 'GET', path: () => '/v1/images/cache' },
  { name: 'list cached images', method: 'GET', path: () => '/v1/admin/images' },
  { name: 'prune cached images', method: 'POST', path: () => '/v1/admin/images/prune', body: { dry_run: true } },
  { name: 'collect cached images', method: 'POST', path: () => '/v1/admin/images/gc', body: { dry_run: true, budget_bytes: 0 } },
  { name: 'list secrets', method: 'GET', path: () => '/v1/secrets' },
  { name: 'delete secret', method: 'DELETE', path: () => '/v1/secrets/SOME_NAME' },
  // Cross-tenant cases below ("another workspace's sandbox command history"): the id must be a sandbox of A.
  { name: 'sandbox command history', method: 'GET', path: () => `/v1/sandboxes/${randomUUID()}/commands` },
  // Cross-tenant cases below ("another workspace's environment").
  { name: 'list environments', method: 'GET', path: () => '/v1/environments' },
  { name: 'environment templates', method: 'GET', path: () => '/v1/environment-templates' },
  { name: 'create environment', method: 'POST', path: () => '/v1/environments', body: { template: 'api-testing' } },
  { name: 'get environment', method: 'GET', path: () => `/v1/environments/${randomUUID()}` },
  { name: 'delete environment', method: 'DELETE', path: () => `/v1/environments/${randomUUID()}` },
  // Cross-tenant cases below ("another workspace's sandbox previews").
  { name: 'list previews', method: 'GET', path: () => `/v1/sandboxes/${randomUUID()}/previews` },
  { name: 'issue preview', method: 'POST', path: () => `/v1/sandboxes/${randomUUID()}/previews`, body: { port: 8080 } },
  { name: 'revoke preview', method: 'DELETE', path: () => `/v1/sandboxes/${randomUUID()}/previews/${randomUUID()}` },
  { name: 'proxy a sandbox port', method: 'GET', path: () => `/v1/sandboxes/${randomUUID()}/ports/8080/index.html` },
  ...ROUTES_WITH_IDS,
];
const ROLES: Role[] = ['admin', 'developer', 'viewer', 'ci'];

describe('tenancy: isolation, authentication and workspace status over HTTP', () => {
  let t: TestApp;
  let a: SeededWorkspace;
  let b: SeededWorkspace;
  /** A token of A that the cross-tenant suite aims at (and must find unchanged afterwards). */
  let target: { id: string; token: string };

  const call = (token: string | undefined, route: RouteCase, ws: string, tok: string): Promise<ApiResponse> =>
    api(t.app, route.method, route.path(ws, tok), { token, body: route.body });

  async function issue(
    workspaceId: string,
    body: Record<string, unknown>,
  ): Promise<{ id: string; token: string }> {
    const res = await api(t.app, 'POST', `/v1/workspaces/${workspaceId}/tokens`, {
      token: TEST_ADMIN_TOKEN,
      body,
    });
    expect(res.status).toBe(201);
    return { id: res.body.id, token: res.body.token };
  }

  beforeAll(async () => {
    t = await createTestApp();
    a = await seedWorkspace(t.app, 'tenant-a');
    b = await seedWorkspace(t.app, 'tenant-b');
    target = await issue(a.id, { name: 'target', role: 'developer' });
  });
  afterAll(() => t.close());

  describe("another tenant's resources answer exactly like missing ones", () => {
    const cases = ROLES.flatMap((role) => ROUTES_WITH_IDS.map((route) => ({ role, ...route })));

    it.each(cases)("B's $role token: $method $name on A's ids", async (route) => {
      const token = b.tokens[route.role].token;
      const missing = { ws: randomUUID(), tok: randomUUID() };
      const foreign = await call(token, route, a.id, target.id);
      const absent = await call(token, route, missing.ws, missing.tok);

      expect(comparableError(foreign, { ':ws': a.id, ':tok': target.id })).toEqual(
        comparableError(absent, { ':ws': missing.ws, ':tok': missing.tok }),
      );
      if (route.role === 'admin' && !route.orgOnly) expectError(foreign, 404, 'not_found');
      else expect([403, 404]).toContain(foreign.status);
    });

    it.each(TOKEN_ROUTES)(
      "B's admin token: $method $name on A's token id inside B's own workspace",
      async (route) => {
        const token = b.tokens.admin.token;
        const missing = randomUUID();
        const foreign = await call(token, route, b.id, target.id);
        const absent = await call(token, route, b.id, missing);

        expectError(foreign, 404, 'not_found');
        expect(comparableError(foreign, { ':tok': target.id })).toEqual(
          comparableError(absent, { ':tok': missing }),
        );
      },
    );

    it("leaves A's workspace and token untouched", async () => {
      const workspace = await api(t.app, 'GET', `/v1/workspaces/${a.id}`, { token: a.tokens.admin.token });
      expect(workspace.body).toMatchObject({ name: 'tenant-a', status: 'active' });
      const token = await api(t.app, 'GET', `/v1/workspaces/${a.id}/tokens/${target.id}`, {
        token: a.tokens.admin.token,
      });
      expect(token.body).toMatchObject({ name: 'target', role: 'developer', state: 'active' });
      const tokens = await api(t.app, 'GET', `/v1/workspaces/${a.id}/tokens`, {
        token: a.tokens.admin.token,
      });
      expect(tokens.body.items).toHaveLength(5);
      expect((await api(t.app, 'GET', '/v1/me', { token: target.token })).status).toBe(200);
    });

    it.each(ROLES)("B's %s token: A's secret answers exactly like a missing one, and stays A's", async (role) => {
      const value = `a-only-${randomUUID()}`;
      expect((await api(t.app, 'PUT', '/v1/secrets/A_ONLY', { token: a.tokens.admin.token, body: { value } })).status).toBe(200);
      const token = b.tokens[role].token;
      const foreign = await api(t.app, 'DELETE', '/v1/secrets/A_ONLY', { token });
      const absent = await api(t.app, 'DELETE', '/v1/secrets/NOT_A_SECRET', { token });
      expect(comparableError(foreign, { ':name': 'A_ONLY' })).toEqual(comparableError(absent, { ':name': 'NOT_A_SECRET' }));
      if (role === 'admin') expectError(foreign, 404, 'not_found');
      else expectError(foreign, 403, 'forbidden');
      const job = await api(t.app, 'POST', '/v1/jobs', { token, body: { image: 'orcaops/busybox', command: 'true', secrets: { X: 'A_ONLY' } } });
      if (role === 'viewer') expectError(job, 403, 'forbidden');
      else expectError(job, 400, 'validation_failed');
      const listB = await api(t.app, 'GET', '/v1/secrets', { token: b.tokens.admin.token });
      expect(listB.body.items.map((i: { name: string }) => i.name)).not.toContain('A_ONLY');
      const listA = await api(t.app, 'GET', '/v1/secrets', { token: a.tokens.admin.token });
      expect(listA.body.items.map((i: { name: string }) => i.name)).toContain('A_ONLY');
      for (const res of [foreign, absent, job, listB, listA]) expect(JSON.stringify(res.body)).not.toContain(value);
    });

    it.each(ROLES.flatMap((role) => ENGINE_ROUTES.map((route) => ({ role, ...route }))))(
      "B's $role token: $method $name is 403 whatever the object (organisation admins only)",
      async (route) => {
        const token = b.tokens[route.role].token;
        const res = await call(token, route, a.id, randomUUID());
        expectError(res, 403, 'forbidden');
      },
    );

    it("lists only the caller's own workspace", async () => {
      const res = await api(t.app, 'GET', '/v1/workspaces', { token: b.tokens.viewer.token });
      expect(res.body.items.map((w: { id: string }) => w.id)).toEqual([b.id]);
    });

    it("aggregates only the caller's own jobs in /v1/metrics/jobs, and takes no workspace id", async () => {
      const created = new Date(Date.now() - 60_000);
      await sql(
        t.databaseUrl,
        `INSERT INTO jobs (id, workspace_id, status, spec, image, request_hash, created_by, cleanup_policy, created_at)
         VALUES ($1, $2, 'succeeded', '{}'::jsonb, 'orcaops/busybox', 'seed', 'seed', 'remove', $3)`,
        [randomUUID(), a.id, created],
      );
      const mine = await api(t.app, 'GET', '/v1/metrics/jobs', { token: a.tokens.viewer.token });
      const theirs = await api(t.app, 'GET', '/v1/metrics/jobs', { token: b.tokens.viewer.token });
      expect([mine.body.workspace_id, mine.body.totals[0].total]).toEqual([a.id, 1]);
      expect([theirs.body.workspace_id, theirs.body.totals[0].total]).toEqual([b.id, 0]);
      expectError(await api(t.app, 'GET', `/v1/metrics/jobs?workspace_id=${a.id}`, { token: b.tokens.viewer.token }), 400, 'validation_failed');
    });

    it("lets the organisation admin reach every tenant's resources (positive control)", async () => {
      for (const route of ROUTES_WITH_IDS.filter((r) => r.method === 'GET')) {
        expect((await call(TEST_ADMIN_TOKEN, route, a.id, target.id)).status).toBe(200);
      }
    });
  });

  describe("another workspace's registry credentials", () => {
    it('answer like missing ones, and never show a password', async () => {
      const put = await api(t.app, 'PUT', '/v1/registry-credentials', {
        token: a.tokens.admin.token,
        body: { host: 'registry.tenant-a.example', username: 'a', password: 'tenant-a-secret' },
      });
      expect(put.status).toBe(200);
      expect(JSON.stringify(put.body)).not.toContain('tenant-a-secret');
      const foreign = await api(t.app, 'DELETE', `/v1/registry-credentials/${put.body.id}`, { token: b.tokens.admin.token });
      const missing = randomUUID();
      const absent = await api(t.app, 'DELETE', `/v1/registry-credentials/${missing}`, { token: b.tokens.admin.token });
      expectError(foreign, 404, 'not_found');
      expect(comparableError(foreign, { ':id': put.body.id })).toEqual(comparableError(absent, { ':id': missing }));
      expect((await api(t.app, 'GET', '/v1/registry-credentials', { token: b.tokens.admin.token })).body.items).toEqual([]);
      const own = await api(t.app, 'GET', '/v1/registry-credentials', { token: a.tokens.admin.token });
      expect(own.body.items.map((c: { id: string }) => c.id)).toEqual([put.body.id]);
      expect(JSON.stringify(own.body)).not.toContain('tenant-a-secret');
      expectError(await api(t.app, 'GET', '/v1/registry-credentials', { token: a.tokens.developer.token }), 403, 'forbidden');
    });
  });

  describe("another workspace's image builds", () => {
    it.each(ROLES)("B's %s token gets what a missing build gets (record, log, delete); A reads its own", async (role) => {
      const id = randomUUID();
      // Written directly: no engine in this tier (the real build is in test/docker/image-builds.docker.spec.ts).
      await sql(
        t.databaseUrl,
        `INSERT INTO image_builds (id, workspace_id, image, name, tag, dockerfile, status, context_bytes, log, created_by, runner)
         VALUES ($1, $2, 'orcaops-ws-0/tools:v1', 'tools', 'v1', 'Dockerfile', 'failed', 10, 'tenant-a output', 'test', 'test')`,
        [id, a.id],
      );
      const missing = randomUUID();
      const token = b.tokens[role].token;
      for (const [method, suffix] of [['GET', ''], ['GET', '/log'], ['DELETE', '']] as const) {
        const foreign = await api(t.app, method, `/v1/images/builds/${id}${suffix}`, { token });
        const absent = await api(t.app, method, `/v1/images/builds/${missing}${suffix}`, { token });
        expect(comparableError(foreign, { ':id': id })).toEqual(comparableError(absent, { ':id': missing }));
        // viewer and ci tokens lack image:delete: 403 for both, by the guard.
        if (method === 'GET' || role === 'admin' || role === 'developer') expectError(foreign, 404, 'not_found');
      }
      expect((await api(t.app, 'GET', '/v1/images/builds', { token })).body.items).toEqual([]);
      const own = await api(t.app, 'GET', `/v1/images/builds/${id}/log`, { token: a.tokens.viewer.token });
      expect(own.body).toMatchObject({ log: 'tenant-a output', status: 'failed' });
    });
  });

  describe('the image cache', () => {
    // The engine's cache is shared: only organisation admins see or change it whole. A workspace sees its
    // own images (GET /v1/images/cache), never another's: test/docker/image-cache.docker.spec.ts.
    it.each(ROLES)("a workspace %s token cannot list, prune or collect the installation's images, with or without A's id", async (role) => {
      const token = b.tokens[role].token;
      const foreign = await api(t.app, 'GET', `/v1/admin/images?workspace_id=${a.id}`, { token });
      const absent = await api(t.app, 'GET', `/v1/admin/images?workspace_id=${randomUUID()}`, { token });
      expectError(foreign, 403, 'forbidden');
      expect(comparableError(foreign, {})).toEqual(comparableError(absent, {}));
      expectError(await api(t.app, 'POST', '/v1/admin/images/prune', { token, body: { dry_run: true } }), 403, 'forbidden');
      expectError(await api(t.app, 'POST', '/v1/admin/images/gc', { token, body: { dry_run: true, budget_bytes: 0 } }), 403, 'forbidden');
    });

    it("a workspace's own view needs a workspace token and takes no workspace id", async () => {
      expectError(await api(t.app, 'GET', '/v1/images/cache', { token: TEST_ADMIN_TOKEN }), 403, 'workspace_token_required');
      expectError(await api(t.app, 'GET', `/v1/images/cache?workspace_id=${a.id}`, { token: b.tokens.viewer.token }), 400, 'validation_failed');
      const own = await api(t.app, 'GET', '/v1/images/cache', { token: b.tokens.viewer.token });
      expect(own.status).toBe(200);
      expect(own.body).toMatchObject({ items: [], used_bytes: 0, quota_bytes: null });
    });
  });

  describe("another workspace's sandbox command history", () => {
    /** A stopped sandbox of A with one recorded command (rows written directly: no engine in this tier). */
    async function sandboxWithHistory(): Promise<string> {
      const id = randomUUID();
      await sql(
        t.databaseUrl,
        `INSERT INTO sandboxes (id, workspace_id, status, image, spec, created_by, expires_at, last_activity_at, stopped_at)
         VALUES ($1, $2, 'stopped', 'orcaops/busybox', '{}'::jsonb, 'test', now(), now(), now())`,
        [id, a.id],
      );
      await sql(
        t.databaseUrl,
        `INSERT INTO sandbox_commands (id, workspace_id, sandbox_id, kind, command, status, exit_code, started_at, finished_at, duration_ms, stdout_bytes, stderr_bytes, created_by)
         VALUES ($1, $2, $3, 'exec', 'echo tenant-a', 'succeeded', 0, now(), now(), 1, 7, 0, 'test')`,
        [randomUUID(), a.id, id],
      );
      return id;
    }

    it.each(ROLES)("B's %s token gets what a missing sandbox gets; A reads its own", async (role) => {
      const sandboxId = await sandboxWithHistory();
      const missing = randomUUID();
      const token = b.tokens[role].token;
      const foreign = await api(t.app, 'GET', `/v1/sandboxes/${sandboxId}/commands`, { token });
      const absent = await api(t.app, 'GET', `/v1/sandboxes/${missing}/commands`, { token });
      expect(comparableError(foreign, { ':id': sandboxId })).toEqual(comparableError(absent, { ':id': missing }));
      expectError(foreign, 404, 'not_found');
      const own = await api(t.app, 'GET', `/v1/sandboxes/${sandboxId}/commands`, { token: a.tokens.viewer.token });
      expect(own.status).toBe(200);
      expect(own.body.items.map((c: { command: string }) => c.command)).toEqual(['echo tenant-a']);
    });
  });

  describe("another workspace's environment", () => {
    /** A stopped environment of A (row written directly: no engine in this tier). */
    async function environmentOfA(): Promise<string> {
      const id = randomUUID();
      await sql(
        t.databaseUrl,
        `INSERT INTO environments (id, workspace_id, name, status, definition, services, events, engine_objects, created_by, ttl_seconds, idle_timeout_seconds, stopped_at)
         VALUES ($1, $2, 'tenant-a-env', 'stopped', '{"sandbox":{"env":{}},"services":[],"volumes":[]}'::jsonb, '[]'::jsonb, '[]'::jsonb, '{"containers":[],"volumes":[]}'::jsonb, 'test', 60, 60, now())`,
        [id, a.id],
      );
      return id;
    }

    it.each(ROLES)("B's %s token gets what a missing environment gets (get, delete); A reads its own; B's list is empty", async (role) => {
      const id = await environmentOfA();
      const missing = randomUUID();
      const token = b.tokens[role].token;
      for (const method of ['GET', 'DELETE'] as const) {
        const foreign = await api(t.app, method, `/v1/environments/${id}`, { token });
        const absent = await api(t.app, method, `/v1/environments/${missing}`, { token });
        expect(comparableError(foreign, { ':id': id })).toEqual(comparableError(absent, { ':id': missing }));
        expect([403, 404]).toContain(foreign.status);
        if (method === 'GET' || role === 'admin' || role === 'developer') expectError(foreign, 404, 'not_found');
      }
      expect((await api(t.app, 'GET', '/v1/environments', { token })).body.items ?? []).toEqual([]);
      const own = await api(t.app, 'GET', `/v1/environments/${id}`, { token: a.tokens.viewer.token });
      expect(own.status).toBe(200);
      expect(own.body).toMatchObject({ id, name: 'tenant-a-env', status: 'stopped' });
    });
  });

  describe("another workspace's sandbox previews", () => {
    /** A sandbox of A with one preview URL (rows written directly: no engine in this tier). */
    async function sandboxWithPreview(): Promise<{ sandboxId: string; previewId: string }> {
      const sandboxId = randomUUID();
      const previewId = randomUUID();
      await sql(
        t.databaseUrl,
        `INSERT INTO sandboxes (id, workspace_id, status, image, spec, created_by, expires_at, last_activity_at, stopped_at)
         VALUES ($1, $2, 'stopped', 'orcaops/busybox', '{}'::jsonb, 'test', now(), now(), now())`,
        [sandboxId, a.id],
      );
      await sql(
        t.databaseUrl,
        `INSERT INTO sandbox_previews (id, workspace_id, sandbox_id, port, secret_hash, expires_at, created_by)
         VALUES ($1, $2, $3, 8080, $4, now() + interval '1 hour', 'test')`,
        [previewId, a.id, sandboxId, 'a'.repeat(64)],
      );
      return { sandboxId, previewId };
    }

    const cases: Array<[string, Method, (sandbox: string, preview: string) => string, unknown]> = [
      ['list', 'GET', (s) => `/v1/sandboxes/${s}/previews`, undefined],
      ['issue', 'POST', (s) => `/v1/sandboxes/${s}/previews`, { port: 8080 }],
      ['revoke', 'DELETE', (s, p) => `/v1/sandboxes/${s}/previews/${p}`, undefined],
      ['proxy', 'GET', (s) => `/v1/sandboxes/${s}/ports/8080/`, undefined],
    ];

    it.each(cases)("B's developer token on %s gets what a missing sandbox gets", async (_name, method, path, body) => {
      const { sandboxId, previewId } = await sandboxWithPreview();
      const missing = randomUUID();
      const token = b.tokens.developer.token;
      const foreign = await api(t.app, method, path(sandboxId, previewId), { token, body });
      const absent = await api(t.app, method, path(missing, previewId), { token, body });
      expectError(foreign, 404, 'not_found');
      expect(comparableError(foreign, { ':id': sandboxId })).toEqual(comparableError(absent, { ':id': missing }));
      const own = await api(t.app, 'GET', `/v1/sandboxes/${sandboxId}/previews`, { token: a.tokens.viewer.token });
      expect(own.body.items.map((p: { id: string }) => p.id)).toEqual([previewId]);
    });
  });

  describe('authentication', () => {
    it.each(EVERY_V1_ROUTE)('$method $name without a token is 401', async (route) => {
      const res = await api(t.app, route.method, route.path(a.id, target.id), { body: route.body });
      expectError(res, 401, 'unauthenticated');
    });

    const wellFormedButUnknown = `orcaops_ws_${'A'.repeat(12)}_${'b'.repeat(32)}`;
    const garbled: Array<[string, Record<string, string>]> = [
      ['unknown token', { authorization: `Bearer ${wellFormedButUnknown}` }],
      ['not a token', { authorization: 'Bearer not-a-token' }],
      ['truncated token', { authorization: `Bearer ${wellFormedButUnknown.slice(0, -1)}` }],
      [
        'admin token of the wrong kind',
        { authorization: `Bearer ${wellFormedButUnknown.replace('_ws_', '_org_')}` },
      ],
      ['basic scheme', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }],
      ['bearer without a token', { authorization: 'Bearer' }],
      ['two tokens', { authorization: `Bearer ${wellFormedButUnknown} ${wellFormedButUnknown}` }],
    ];

    it.each(garbled)('%s is 401', async (_name, headers) => {
      const res = await api(t.app, 'GET', '/v1/me', { headers });
      expectError(res, 401, 'unauthenticated');
    });

    it("rejects a valid token's secret with one character changed", async () => {
      const last = target.token.at(-1) === 'a' ? 'b' : 'a';
      const res = await api(t.app, 'GET', '/v1/me', { token: `${target.token.slice(0, -1)}${last}` });
      expectError(res, 401, 'unauthenticated');
    });

    it('rejects a revoked token at once, answering like an unknown token', async () => {
      const token = await issue(a.id, { name: 'to revoke', role: 'developer' });
      expect((await api(t.app, 'GET', '/v1/me', { token: token.token })).status).toBe(200);

      const revoked = await api(t.app, 'DELETE', `/v1/workspaces/${a.id}/tokens/${token.id}`, {
        token: a.tokens.admin.token,
      });
      expect(revoked.body).toMatchObject({ state: 'revoked', revoked_at: expect.any(String) });

      const res = await api(t.app, 'GET', '/v1/me', { token: token.token });
      expectError(res, 401, 'unauthenticated');
      const unknown = await api(t.app, 'GET', '/v1/me', { token: wellFormedButUnknown });
      expect(comparableError(res)).toEqual(comparableError(unknown));
    });

    it('rejects an expired token, answering like an unknown token', async () => {
      const fresh = await issue(a.id, { name: 'not yet expired', role: 'viewer', expires_in_days: 1 });
      const expiring = await issue(a.id, { name: 'expired', role: 'viewer', expires_in_days: 1 });
      await sql(
        t.databaseUrl,
        `UPDATE api_tokens SET expires_at = now() - interval '1 minute' WHERE id = $1`,
        [expiring.id],
      );

      expect((await api(t.app, 'GET', '/v1/me', { token: fresh.token })).status).toBe(200);
      const res = await api(t.app, 'GET', '/v1/me', { token: expiring.token });
      expectError(res, 401, 'unauthenticated');
      const unknown = await api(t.app, 'GET', '/v1/me', { token: wellFormedButUnknown });
      expect(comparableError(res)).toEqual(comparableError(unknown));
      const shown = await api(t.app, 'GET', `/v1/workspaces/${a.id}/tokens/${expiring.id}`, {
        token: TEST_ADMIN_TOKEN,
      });
      expect(shown.body.state).toBe('expired');
    });
  });

  describe('permissions', () => {
    it.each(MUTATING_ROUTES)(
      'a viewer token is refused $method $name on its own workspace (403)',
      async (route) => {
        const res = await call(a.tokens.viewer.token, route, a.id, target.id);
        expectError(res, 403, 'forbidden');
        expect(res.body.error.details).toEqual({ required: expect.any(String) });
      },
    );

    it('a workspace admin may not change its own workspace status', async () => {
      const res = await api(t.app, 'PATCH', `/v1/workspaces/${a.id}`, {
        token: a.tokens.admin.token,
        body: { status: 'suspended' },
      });
      expectError(res, 403, 'forbidden');
      const after = await api(t.app, 'GET', `/v1/workspaces/${a.id}`, { token: TEST_ADMIN_TOKEN });
      expect(after.body.status).toBe('active');
    });

    it('a role change takes effect on the next request', async () => {
      const token = await issue(a.id, { name: 'demoted', role: 'admin' });
      expect((await api(t.app, 'GET', `/v1/workspaces/${a.id}/tokens`, { token: token.token })).status).toBe(
        200,
      );
      await api(t.app, 'PATCH', `/v1/workspaces/${a.id}/tokens/${token.id}`, {
        token: TEST_ADMIN_TOKEN,
        body: { role: 'viewer' },
      });
      expectError(
        await api(t.app, 'GET', `/v1/workspaces/${a.id}/tokens`, { token: token.token }),
        403,
        'forbidden',
      );
    });
  });

  describe('workspace status', () => {
    let c: SeededWorkspace;
    const setStatus = (status: string): Promise<ApiResponse> =>
      api(t.app, 'PATCH', `/v1/workspaces/${c.id}`, { token: TEST_ADMIN_TOKEN, body: { status } });
    const eachRole = (): Promise<ApiResponse[]> =>
      Promise.all(
        ROLES.map((role) => api(t.app, 'GET', `/v1/workspaces/${c.id}`, { token: c.tokens[role].token })),
      );

    beforeAll(async () => {
      c = await seedWorkspace(t.app, 'tenant-c');
    });

    it('suspension refuses every token of the workspace with workspace_suspended, and reactivation restores them', async () => {
      expect((await setStatus('suspended')).body.status).toBe('suspended');
      for (const res of await eachRole()) expectError(res, 403, 'workspace_suspended');
      expect((await api(t.app, 'GET', '/v1/me', { token: a.tokens.viewer.token })).status).toBe(200);

      expect((await setStatus('active')).body.status).toBe('active');
      for (const res of await eachRole()) expect(res.status).toBe(200);
    });

    it('archiving refuses every token with workspace_archived, for good', async () => {
      const archived = await api(t.app, 'DELETE', `/v1/workspaces/${c.id}`, { token: TEST_ADMIN_TOKEN });
      expect(archived.body).toMatchObject({ status: 'archived', archived_at: expect.any(String) });
      for (const res of await eachRole()) expectError(res, 403, 'workspace_archived');

      expectError(await setStatus('active'), 409, 'conflict');
      for (const res of await eachRole()) expectError(res, 403, 'workspace_archived');
    });
  });

  describe('rotation', () => {
    it('replaces the secret: the old one is 401 at once, the new one works, the id stays', async () => {
      const token = await issue(a.id, { name: 'rotating', role: 'developer' });
      expect((await api(t.app, 'GET', '/v1/me', { token: token.token })).status).toBe(200);

      const rotated = await api(t.app, 'POST', `/v1/workspaces/${a.id}/tokens/${token.id}/rotate`, {
        token: a.tokens.admin.token,
      });
      expect(rotated.status).toBe(201);
      expect(rotated.body).toMatchObject({
        id: token.id,
        name: 'rotating',
        role: 'developer',
        state: 'active',
      });
      expect(rotated.body.token).not.toBe(token.token);

      expectError(await api(t.app, 'GET', '/v1/me', { token: token.token }), 401, 'unauthenticated');
      const me = await api(t.app, 'GET', '/v1/me', { token: rotated.body.token });
      expect(me.body).toMatchObject({ token_id: token.id, workspace_id: a.id, role: 'developer' });
    });

    it('refuses to rotate a revoked token', async () => {
      const token = await issue(a.id, { name: 'revoked then rotated', role: 'viewer' });
      await api(t.app, 'DELETE', `/v1/workspaces/${a.id}/tokens/${token.id}`, { token: TEST_ADMIN_TOKEN });
      const res = await api(t.app, 'POST', `/v1/workspaces/${a.id}/tokens/${token.id}/rotate`, {
        token: TEST_ADMIN_TOKEN,
      });
      expectError(res, 409, 'conflict');
    });
  });

  describe('secrets', () => {
    const TOKEN_FIELDS = [
      'created_at',
      'display_prefix',
      'expires_at',
      'id',
      'last_used_at',
      'name',
      'revoked_at',
      'role',
      'state',
      'workspace_id',
    ];

    it('list and get never return a secret or its hash', async () => {
      const issued = await issue(a.id, { name: 'secret keeper', role: 'ci' });
      const list = await api(t.app, 'GET', `/v1/workspaces/${a.id}/tokens`, { token: a.tokens.admin.token });
      const one = await api(t.app, 'GET', `/v1/workspaces/${a.id}/tokens/${issued.id}`, {
        token: a.tokens.admin.token,
      });

      for (const item of [...list.body.items, one.body])
        expect(Object.keys(item).sort()).toEqual(TOKEN_FIELDS);
      const secrets = [issued.token, target.token, ...Object.values(a.tokens).map((x) => x.token)];
      for (const text of [JSON.stringify(list.body), JSON.stringify(one.body)]) {
        for (const secret of secrets) expect(text).not.toContain(secret.slice(-32));
      }
      expect(issued.token.startsWith(one.body.display_prefix)).toBe(true);
    });
  });
});
