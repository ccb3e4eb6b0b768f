import type { TestApp } from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { docker, installationContainers, removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import { LocalRegistry, pushDerived, removeRegistryImages } from '../support/local-registry';
import { sql } from '../support/sql';
import { TcpProxy } from '../support/tcp-proxy';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

jest.setTimeout(300_000);

/** Per connection: a 48 MiB layer takes tens of seconds, so the test can stop the registry mid-pull. */
const LINK_BYTES_PER_SECOND = 1024 * 1024;
/** Random bytes: a layer the engine does not have (orcaops/python's layers are all on the engine already, so its pull downloads nothing). */
const LAYER_SCRIPT = 'head -c 50331648 /dev/urandom > /big';

/**
 * A real registry (docker-registry on loopback, behind a slow-link proxy) stopped while a large image
 * (a 48 MiB random layer) pulls: the engine's download retries and the puller's retries end in image_pull_failed
 * (registry_unreachable); nothing half-pulled is used (no container, no image, no pull grant, no digest).
 */
describe('registry stopped mid-pull (real engine, docker-registry)', () => {
  let t: TestApp;
  let registry: LocalRegistry;
  let proxy: TcpProxy;
  let ws: SeededWorkspace;
  let image: string;

  beforeAll(async () => {
    registry = await LocalRegistry.start();
    await pushDerived(registry, 'big/image', 'v1', LAYER_SCRIPT);
    proxy = new TcpProxy('127.0.0.1', registry.port, LINK_BYTES_PER_SECOND);
    await proxy.start();
    image = `127.0.0.1:${proxy.port}/big/image:v1`;
    t = await createTestApp();
    ws = await seedWorkspace(t.app, 'regout');
    expect((await api(t.app, 'PUT', '/v1/policies/organisation', { token: TEST_ADMIN_TOKEN, body: { images: { registries: ['127.0.0.1:*'] } } })).status).toBe(200);
  });
  afterAll(async () => {
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
    await proxy.stop();
    await removeRegistryImages(`127.0.0.1:${proxy.port}`);
    await removeRegistryImages(registry.host);
    await registry.close();
  });

  const logText = async (id: string): Promise<string> =>
    (await api(t.app, 'GET', `/v1/jobs/${id}/logs`, { token: ws.tokens.developer.token })).body.items.map((c: { data: string }) => c.data).join('');

  it('fails registry_unreachable after the retries; no container, image, grant or digest is left', async () => {
    const submitted = await api(t.app, 'POST', '/v1/jobs', { token: ws.tokens.developer.token, body: { image, command: 'true' } });
    expect(submitted.status).toBe(201);
    const id = submitted.body.id as string;
    // Mid-pull: some bytes arrived, the pull is not done.
    const until = Date.now() + 120_000;
    let text = '';
    while (!/pulling \S+: \d+\/\d+ layers, [1-9]\d*\/\d+ MiB$/m.test(text)) {
      if (Date.now() > until || text.includes('job failed') || text.includes('job succeeded')) throw new Error(`no pull progress: ${text}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      text = await logText(id);
    }
    await registry.stop();

    let job = (await api(t.app, 'GET', `/v1/jobs/${id}/wait?timeout_seconds=240`, { token: ws.tokens.developer.token })).body;
    while (!['succeeded', 'failed', 'timed_out', 'cancelled'].includes(job.status)) {
      job = (await api(t.app, 'GET', `/v1/jobs/${id}/wait?timeout_seconds=240`, { token: ws.tokens.developer.token })).body;
    }
    expect(job).toMatchObject({ status: 'failed', reason: 'image_pull_failed', image_digest: null });
    expect(job.message).toContain('(registry_unreachable)');
    expect(await docker.getImage(image).inspect().catch(() => undefined)).toBeUndefined();
    const grants = await sql(t.databaseUrl, 'SELECT id FROM image_pull_grants WHERE workspace_id = $1', [ws.id]);
    expect(grants).toEqual([]);
    expect((await installationContainers(t.databaseUrl)).filter((c) => c.Labels['orcaops.job_id'] === id)).toEqual([]);
  });
});
