import type { TestApp} from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { api } from '../support/http';

describe('smoke: AppModule on Fastify with a real database', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('answers liveness without a token', async () => {
    const res = await api(t.app, 'GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
    expect(res.headers['x-request-id']).toBeTruthy();
  });

  it('reports readiness of database and engine', async () => {
    const res = await api(t.app, 'GET', '/ready');
    expect(res.body.checks.database.ok).toBe(true);
  });

  it('serves the OpenAPI document with bearer auth', async () => {
    const res = await api(t.app, 'GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.components.securitySchemes.bearer).toBeDefined();
    expect(res.body.paths['/v1/workspaces'].post.operationId).toBe('createWorkspace');
  });

  it('accepts the organisation admin token from the environment', async () => {
    const res = await api(t.app, 'GET', '/v1/me', { token: TEST_ADMIN_TOKEN });
    expect(res.status).toBe(200);
    expect(res.body.kind).toBe('organisation');
  });
});
