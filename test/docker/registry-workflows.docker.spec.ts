import type { TestApp } from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import { LocalRegistry, moveTag, removeRegistryImages } from '../support/local-registry';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';
import { instancesOf, removeWorkflowLeftovers, submitWorkflow, waitForRun, workflowLeftovers } from '../support/workflows';

jest.setTimeout(240_000);

/**
 * Workflow job containers (`container:`) and services (`services:`) from real registries on loopback:
 * pulled through the same path as jobs (the service from a private registry with the workspace's
 * credentials, refused to a workspace without them), digests pinned on the run, and a rerun after the tag
 * moved in the registry runs the digest the run first resolved.
 */
describe('workflow containers and services from registry images (real engine, docker-registry)', () => {
  const creds = { username: 'ci', password: 'wf-registry-pass-3d1e' };
  let t: TestApp;
  let open: LocalRegistry;
  let locked: LocalRegistry;
  let a: SeededWorkspace;
  let b: SeededWorkspace;
  let appImage: string;
  let serviceImage: string;
  let appDigest: string;
  let serviceDigest: string;

  // The step fails on the pushed image and would pass on the moved one (which has /moved).
  const yaml = (): string => `name: pinned-images
jobs:
  build:
    container: ${appImage}
    services:
      cache:
        image: ${serviceImage}
        command: sleep 600
    steps:
      - run: test -e /moved
`;

  beforeAll(async () => {
    [open, locked] = await Promise.all([LocalRegistry.start(), LocalRegistry.start(creds)]);
    appImage = `${open.host}/tools/app:v1`;
    serviceImage = `${locked.host}/private/svc:v1`;
    appDigest = await open.push('orcaops/busybox', 'tools/app', 'v1');
    serviceDigest = await locked.push('orcaops/busybox', 'private/svc', 'v1');
    t = await createTestApp();
    a = await seedWorkspace(t.app, 'regwf-a');
    b = await seedWorkspace(t.app, 'regwf-b');
    expect((await api(t.app, 'PUT', '/v1/policies/organisation', { token: TEST_ADMIN_TOKEN, body: { images: { registries: ['127.0.0.1:*'] } } })).status).toBe(200);
    expect((await api(t.app, 'PUT', '/v1/registry-credentials', { token: a.tokens.admin.token, body: { host: locked.host, ...creds } })).status).toBe(200);
  });
  afterAll(async () => {
    await removeWorkflowLeftovers(t.databaseUrl);
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
    await removeRegistryImages(open.host);
    await removeRegistryImages(locked.host);
    await Promise.all([open.close(), locked.close()]);
  });

  const jobOf = async (ws: SeededWorkspace, id: string) => (await api(t.app, 'GET', `/v1/jobs/${id}`, { token: ws.tokens.developer.token })).body;

  it('pulls the job container and the private service image, pins their digests on the run; a rerun after the tag moved runs the pinned digest', async () => {
    const dev = a.tokens.developer.token;
    const submitted = await submitWorkflow(t.app, dev, yaml());
    const first = await waitForRun(t.app, dev, submitted.id);
    expect(first.conclusion).toBe('failure');
    expect(first.image_digests).toEqual({ [appImage]: appDigest, [serviceImage]: serviceDigest });
    const before = instancesOf(first).build;
    const firstJob = await jobOf(a, before.job_id);
    expect(firstJob).toMatchObject({ image: appImage, image_digest: appDigest });
    const logs = await api(t.app, 'GET', `/v1/jobs/${before.job_id}/logs`, { token: dev });
    expect(logs.body.items.map((c: { data: string }) => c.data).join('')).toContain(`pulling ${appImage}`);

    // The tag moves to an image on which the step would pass.
    const moved = await moveTag(open, 'tools/app', 'v1');
    expect(moved).not.toBe(appDigest);
    const rerun = await api(t.app, 'POST', `/v1/workflows/${submitted.id}/rerun`, { token: dev });
    expect([200, 201]).toContain(rerun.status);
    const second = await waitForRun(t.app, dev, submitted.id);
    const after = instancesOf(second).build;
    expect(after.attempts).toHaveLength(2);
    expect(after.job_id).not.toBe(before.job_id);
    // Still the first digest: the step fails again, as it did.
    expect(second.conclusion).toBe('failure');
    expect(await jobOf(a, after.job_id)).toMatchObject({ image: `${open.host}/tools/app@${appDigest}`, image_digest: appDigest });
    expect(second.image_digests).toEqual({ [appImage]: appDigest, [serviceImage]: serviceDigest });
    expect(await workflowLeftovers(submitted.id)).toEqual({ containers: [], networks: [], volumes: [] });
  });

  it('refuses the private service image to a workspace without credentials: the instance fails naming the service and the reason, nothing left', async () => {
    const dev = b.tokens.developer.token;
    const submitted = await submitWorkflow(t.app, dev, yaml());
    const run = await waitForRun(t.app, dev, submitted.id);
    expect(run.conclusion).toBe('failure');
    const build = instancesOf(run).build;
    expect(build.message).toContain(`Service 'cache': image ${serviceImage} could not be used: image_pull_failed (unauthorized)`);
    expect(run.image_digests[serviceImage]).toBeUndefined();
    expect(await workflowLeftovers(submitted.id)).toEqual({ containers: [], networks: [], volumes: [] });
  });
});
