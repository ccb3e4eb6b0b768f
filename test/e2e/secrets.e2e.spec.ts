import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { encodingsOf } from 'src/common/masking/secret-masker';
import type { TestApp } from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { comparableError, expectError } from '../support/errors';
import type { ApiResponse } from '../support/http';
import { api } from '../support/http';
import { sql } from '../support/sql';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

const VALUE = `s3cr3t-${randomUUID()}`;
const UPDATED = `upd4ted-${randomUUID()}`;
const ORG_VALUE = `org-${randomUUID()}`;

/** Every response of the run, to scan for values at the end. */
const seen: ApiResponse[] = [];

describe('secrets over REST: write-only values, inheritance, validation, tenancy, audit', () => {
  let t: TestApp;
  let a: SeededWorkspace;
  let b: SeededWorkspace;

  const call = async (method: 'GET' | 'PUT' | 'DELETE' | 'POST', path: string, token: string, body?: unknown): Promise<ApiResponse> => {
    const res = await api(t.app, method, path, { token, body });
    seen.push(res);
    return res;
  };

  beforeAll(async () => {
    t = await createTestApp({ ORCAOPS_RUNTIME: 'fake' });
    a = await seedWorkspace(t.app, 'secrets-a');
    b = await seedWorkspace(t.app, 'secrets-b');
  });
  afterAll(() => t?.close());

  it('creates and replaces a workspace secret without ever returning its value', async () => {
    const created = await call('PUT', '/v1/secrets/API_KEY', a.tokens.admin.token, { value: VALUE });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ name: 'API_KEY', scope: 'workspace', workspace_id: a.id, created: true, created_by: a.tokens.admin.id });
    expect(created.body).not.toHaveProperty('value');
    const replaced = await call('PUT', '/v1/secrets/API_KEY', a.tokens.admin.token, { value: UPDATED });
    expect(replaced.body).toMatchObject({ name: 'API_KEY', created: false });
    const list = await call('GET', '/v1/secrets', a.tokens.developer.token);
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([expect.objectContaining({ name: 'API_KEY', scope: 'workspace' })]);
    expect(Object.keys(list.body.items[0]).sort()).toEqual(['created_at', 'created_by', 'name', 'scope', 'updated_at', 'updated_by', 'workspace_id']);
  });

  it('stores the value sealed (AES-256-GCM) with its key id, and the key file 0600 in ORCAOPS_HOME', async () => {
    const rows = await sql<{ sealed: string; key_id: string }>(t.databaseUrl, 'SELECT sealed, key_id FROM workspace_secrets WHERE workspace_id = $1', [a.id]);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.sealed.startsWith(`v1:${rows[0]!.key_id}:`)).toBe(true);
    for (const form of [...encodingsOf(VALUE), ...encodingsOf(UPDATED)]) expect(rows[0]!.sealed).not.toContain(form);
    expect(statSync(join(t.home, 'secrets.key')).mode & 0o777).toBe(0o600);
  });

  it('inherits organisation secrets; a workspace secret of the same name wins', async () => {
    expect((await call('PUT', '/v1/secrets/organisation/SHARED_TOKEN', TEST_ADMIN_TOKEN, { value: ORG_VALUE })).body).toMatchObject({ scope: 'organisation', workspace_id: null, created: true });
    expect((await call('PUT', '/v1/secrets/organisation/API_KEY', TEST_ADMIN_TOKEN, { value: ORG_VALUE })).status).toBe(200);
    const listA = await call('GET', '/v1/secrets', a.tokens.developer.token);
    expect(listA.body.items.map((s: { name: string; scope: string }) => `${s.name}:${s.scope}`)).toEqual(['API_KEY:workspace', 'SHARED_TOKEN:organisation']);
    const listB = await call('GET', '/v1/secrets', b.tokens.developer.token);
    expect(listB.body.items.map((s: { name: string; scope: string }) => `${s.name}:${s.scope}`)).toEqual(['API_KEY:organisation', 'SHARED_TOKEN:organisation']);
    const org = await call('GET', '/v1/secrets/organisation', TEST_ADMIN_TOKEN);
    expect(org.body.items.map((s: { name: string }) => s.name)).toEqual(['API_KEY', 'SHARED_TOKEN']);
  });

  it('validates names and values, and rejects unknown fields', async () => {
    for (const name of ['lower', '1ABC', 'ORCAOPS_X', 'GITHUB_TOKEN', 'A-B', 'X'.repeat(65)]) {
      const res = await call('PUT', `/v1/secrets/${name}`, a.tokens.admin.token, { value: 'v' });
      expectError(res, 400, 'validation_failed');
      expect(JSON.stringify(res.body)).toContain('name');
    }
    expectError(await call('PUT', '/v1/secrets/EMPTY', a.tokens.admin.token, { value: '' }), 400, 'validation_failed');
    expectError(await call('PUT', '/v1/secrets/BIG', a.tokens.admin.token, { value: 'x'.repeat(32_769) }), 400, 'validation_failed');
    expectError(await call('PUT', '/v1/secrets/NUL', a.tokens.admin.token, { value: 'a\0b' }), 400, 'validation_failed');
    expectError(await call('PUT', '/v1/secrets/EXTRA', a.tokens.admin.token, { value: 'v', scope: 'organisation' }), 400, 'validation_failed');
    expectError(await call('PUT', '/v1/secrets/NOVALUE', a.tokens.admin.token, {}), 400, 'validation_failed');
  });

  it('needs secret:admin to write and secret:read to list; organisation secrets need an organisation admin', async () => {
    expectError(await call('PUT', '/v1/secrets/DEV', a.tokens.developer.token, { value: 'vvvv' }), 403, 'forbidden');
    expectError(await call('DELETE', '/v1/secrets/API_KEY', a.tokens.developer.token), 403, 'forbidden');
    expectError(await call('GET', '/v1/secrets', a.tokens.viewer.token), 403, 'forbidden');
    expectError(await call('GET', '/v1/secrets', a.tokens.ci.token), 403, 'forbidden');
    expectError(await call('PUT', '/v1/secrets/organisation/X_ORG', a.tokens.admin.token, { value: 'vvvv' }), 403, 'forbidden');
    expectError(await call('DELETE', '/v1/secrets/organisation/SHARED_TOKEN', a.tokens.admin.token), 403, 'forbidden');
    expectError(await call('GET', '/v1/secrets', TEST_ADMIN_TOKEN), 403, 'workspace_token_required');
  });

  it("answers another workspace's secret exactly like a missing one, and leaves it in place", async () => {
    const foreign = await call('DELETE', '/v1/secrets/API_KEY', b.tokens.admin.token);
    const absent = await call('DELETE', '/v1/secrets/NO_SUCH_SECRET', b.tokens.admin.token);
    expectError(foreign, 404, 'not_found');
    expect(comparableError(foreign, { ':name': 'API_KEY' })).toEqual(comparableError(absent, { ':name': 'NO_SUCH_SECRET' }));
    // B writing the same name creates B's own secret; A's is untouched.
    expect((await call('PUT', '/v1/secrets/API_KEY', b.tokens.admin.token, { value: 'b-value-1234' })).body.created).toBe(true);
    const listA = await call('GET', '/v1/secrets', a.tokens.developer.token);
    expect(listA.body.items.find((s: { name: string }) => s.name === 'API_KEY')).toMatchObject({ workspace_id: a.id, updated_by: a.tokens.admin.id });
  });

  it('refuses a job asking for an unknown secret with 400 naming it, and records secret use by name', async () => {
    const unknown = await call('POST', '/v1/jobs', a.tokens.developer.token, { image: 'orcaops/busybox', command: 'true', secrets: { TOKEN: 'NOPE_MISSING' } });
    expectError(unknown, 400, 'validation_failed');
    expect(unknown.body.error.message).toContain('NOPE_MISSING');
    expect(JSON.stringify(unknown.body.error.details)).toContain('secrets.TOKEN');
    const bad = await call('POST', '/v1/jobs', a.tokens.developer.token, { image: 'orcaops/busybox', command: 'true', secrets: { TOKEN: 'lower-case' } });
    expectError(bad, 400, 'validation_failed');
    const ok = await call('POST', '/v1/jobs', a.tokens.developer.token, { image: 'orcaops/busybox', command: 'true', secrets: { TOKEN: 'API_KEY', SHARED: 'SHARED_TOKEN' } });
    expect(ok.status).toBe(201);
    expect(ok.body.secrets).toEqual({ TOKEN: 'API_KEY', SHARED: 'SHARED_TOKEN' });
    const uses = await sql<{ details: { names: string[] } }>(t.databaseUrl, "SELECT details FROM audit_events WHERE action = 'secret.use' AND resource_id = $1", [ok.body.id]);
    expect(uses.map((u) => u.details.names)).toEqual([['API_KEY', 'SHARED_TOKEN']]);
    const spec = await sql<{ spec: unknown }>(t.databaseUrl, 'SELECT spec FROM jobs WHERE id = $1', [ok.body.id]);
    expect(JSON.stringify(spec[0]!.spec)).toContain('API_KEY');
  });

  it('lets the policy decide which roles may use which secrets (403 policy_denied naming the secret)', async () => {
    const policy = { secrets: { rules: [{ names: ['API_*'], roles: ['admin'] }] } };
    expect((await call('PUT', `/v1/workspaces/${a.id}/policy`, a.tokens.admin.token, policy)).status).toBe(200);
    const denied = await call('POST', '/v1/jobs', a.tokens.developer.token, { image: 'orcaops/busybox', command: 'true', secrets: { T: 'API_KEY' } });
    expectError(denied, 403, 'policy_denied');
    expect(denied.body.error.message).toContain('API_KEY');
    const other = await call('POST', '/v1/jobs', a.tokens.developer.token, { image: 'orcaops/busybox', command: 'true', secrets: { T: 'SHARED_TOKEN' } });
    expect(other.status).toBe(201);
    expect((await call('POST', '/v1/jobs', a.tokens.admin.token, { image: 'orcaops/busybox', command: 'true', secrets: { T: 'API_KEY' } })).status).toBe(201);
    const widening = await call('PUT', `/v1/workspaces/${a.id}/policy`, TEST_ADMIN_TOKEN, { secrets: { allowed_roles: ['admin'] } });
    expect(widening.status).toBe(200);
    await call('PUT', '/v1/policies/organisation', TEST_ADMIN_TOKEN, { secrets: { allowed_roles: ['admin', 'ci'] } });
    expectError(await call('PUT', `/v1/workspaces/${a.id}/policy`, TEST_ADMIN_TOKEN, { secrets: { allowed_roles: ['developer'] } }), 400, 'validation_failed');
    await call('PUT', '/v1/policies/organisation', TEST_ADMIN_TOKEN, {});
    await call('PUT', `/v1/workspaces/${a.id}/policy`, TEST_ADMIN_TOKEN, {});
  });

  it('takes sandbox secrets the same way: 400 unknown, 403 by policy before anything runs; the dry run decides them too (success paths: test/docker/sandbox-secrets.docker.spec.ts)', async () => {
    const dev = a.tokens.developer.token;
    const unknown = await call('POST', '/v1/sandboxes', dev, { image: 'orcaops/busybox', secrets: { TOKEN: 'NOPE_MISSING' } });
    expectError(unknown, 400, 'validation_failed');
    expect(JSON.stringify(unknown.body.error)).toContain('secrets.TOKEN');
    expectError(await call('POST', '/v1/sandboxes', dev, { image: 'orcaops/busybox', secrets: { TOKEN: 'lower' } }), 400, 'validation_failed');
    expect((await call('PUT', `/v1/workspaces/${a.id}/policy`, a.tokens.admin.token, { secrets: { rules: [{ names: ['API_*'], roles: ['admin'] }] } })).status).toBe(200);
    const before = await sql<{ n: string }>(t.databaseUrl, 'SELECT count(*) AS n FROM sandboxes WHERE workspace_id = $1', [a.id]);
    const denied = await call('POST', '/v1/sandboxes', dev, { image: 'orcaops/busybox', secrets: { T: 'API_KEY' } });
    expectError(denied, 403, 'policy_denied');
    expect(denied.body.error.details.violations).toEqual([expect.objectContaining({ rule: 'secrets', field: 'secrets.API_KEY' })]);
    // Refused before anything was recorded or started.
    expect(await sql(t.databaseUrl, 'SELECT count(*) AS n FROM sandboxes WHERE workspace_id = $1', [a.id])).toEqual(before);

    // POST /v1/policies/evaluate: the same decision for the caller's role, nothing created.
    const job = { image: 'orcaops/busybox', command: 'true', secrets: { T: 'API_KEY', S: 'SHARED_TOKEN' } };
    const dryDev = await call('POST', '/v1/policies/evaluate', dev, { job });
    expect(dryDev.body).toMatchObject({ decision: 'denied', violations: [expect.objectContaining({ rule: 'secrets', field: 'secrets.API_KEY', effect: 'deny' })] });
    expect(dryDev.body.violations).toHaveLength(1);
    expect((await call('POST', '/v1/policies/evaluate', a.tokens.admin.token, { job })).body).toMatchObject({ decision: 'allowed', violations: [] });
    const drySandbox = await call('POST', '/v1/policies/evaluate', dev, { sandbox: { image: 'orcaops/busybox', secrets: { T: 'API_KEY' } } });
    expect(drySandbox.body).toMatchObject({ decision: 'denied', violations: [expect.objectContaining({ field: 'secrets.API_KEY' })] });
    expect((await call('POST', '/v1/policies/evaluate', dev, { sandbox: { image: 'orcaops/busybox', secrets: { S: 'SHARED_TOKEN' } } })).body.decision).toBe('allowed');
    await call('PUT', `/v1/workspaces/${a.id}/policy`, TEST_ADMIN_TOKEN, {});
  });

  it('deletes workspace and organisation secrets, audited by name', async () => {
    expect((await call('DELETE', '/v1/secrets/API_KEY', a.tokens.admin.token)).body).toMatchObject({ name: 'API_KEY', scope: 'workspace' });
    expectError(await call('DELETE', '/v1/secrets/API_KEY', a.tokens.admin.token), 404, 'not_found');
    expect((await call('DELETE', '/v1/secrets/organisation/SHARED_TOKEN', TEST_ADMIN_TOKEN)).status).toBe(200);
    const listA = await call('GET', '/v1/secrets', a.tokens.developer.token);
    expect(listA.body.items.map((s: { name: string; scope: string }) => `${s.name}:${s.scope}`)).toEqual(['API_KEY:organisation']);
    const actions = await sql<{ action: string; resource_id: string }>(t.databaseUrl, "SELECT action, resource_id FROM audit_events WHERE action LIKE 'secret.%' AND action <> 'secret.use' ORDER BY occurred_at, id");
    expect(actions.filter((r) => r.resource_id === 'API_KEY').map((r) => r.action)).toEqual(expect.arrayContaining(['secret.create', 'secret.update', 'secret.delete']));
  });

  it('never shows a value or an encoding of it in any response body or audit row', async () => {
    const audit = await sql<{ row: string }>(t.databaseUrl, 'SELECT row_to_json(a)::text AS row FROM audit_events a');
    const haystacks = [...seen.map((r) => JSON.stringify(r.body)), ...audit.map((r) => r.row)];
    expect(haystacks.length).toBeGreaterThan(30);
    for (const value of [VALUE, UPDATED, ORG_VALUE]) {
      for (const form of encodingsOf(value)) {
        expect(haystacks.filter((h) => h.includes(form))).toEqual([]);
      }
    }
  });
});
