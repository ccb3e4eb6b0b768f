import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestApp } from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { runCli } from '../support/cli';
import { docker, jobContainers, removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import { LocalRegistry, pushDerived, removeRegistryImages } from '../support/local-registry';
import type { ConnectedClient } from '../support/mcp';
import { httpClient, listen } from '../support/mcp';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

interface CachedImage {
  id: string;
  kind: string;
  references: string[];
  size_bytes: number;
  last_used_at: string;
  workspaces: Array<{ workspace_id: string; last_used_at: string }>;
  containers: number;
  keep: string | null;
}

/**
 * The image cache on the real engine with Debian's docker-registry on loopback (issue 13 part 4): the
 * admin listing by workspace with size and last use (REST, CLI), a workspace's own view, prune dry run,
 * the LRU collector keeping the image a running sandbox uses, a foreign name and an image OrcaOps never
 * pulled surviving, and the per-workspace image bytes quota refusing a pull.
 */
describe('image cache (REST + CLI → Docker → docker-registry)', () => {
  let t: TestApp;
  let registry: LocalRegistry;
  let a: SeededWorkspace;
  let b: SeededWorkspace;
  let baseUrl: string;
  let home: string;
  let sandboxId: string | undefined;
  const ref = (name: string): string => `${registry.host}/cache/${name}:v1`;
  const foreignTag = { repo: 'orcaops-test-foreign/imgcache-keep', tag: 'v1' };

  const runJob = async (ws: SeededWorkspace, image: string) => {
    const res = await api(t.app, 'POST', '/v1/jobs', { token: ws.tokens.developer.token, body: { image, command: 'true' } });
    expect(res.status).toBe(201);
    let job = (await api(t.app, 'GET', `/v1/jobs/${res.body.id}/wait?timeout_seconds=120`, { token: ws.tokens.developer.token })).body;
    while (!['succeeded', 'failed', 'timed_out', 'cancelled'].includes(job.status)) {
      job = (await api(t.app, 'GET', `/v1/jobs/${res.body.id}/wait?timeout_seconds=120`, { token: ws.tokens.developer.token })).body;
    }
    // The runner removes the container after recording the outcome: until then it holds the image.
    const deadline = Date.now() + 60_000;
    while ((await jobContainers(t.databaseUrl, job.id)).length) {
      if (Date.now() > deadline) throw new Error(`job ${job.id}'s container was not removed`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return job;
  };
  const adminList = async (): Promise<CachedImage[]> => {
    const res = await api(t.app, 'GET', '/v1/admin/images', { token: TEST_ADMIN_TOKEN });
    expect(res.status).toBe(200);
    return res.body.items;
  };
  const byRef = (items: CachedImage[], image: string) => items.find((i) => i.references.includes(image));
  const present = async (image: string): Promise<boolean> => (await docker.getImage(image).inspect().catch(() => undefined)) !== undefined;
  const cli = (args: string[], token: string) => runCli([...args, '--json'], { ORCAOPS_URL: baseUrl, ORCAOPS_HOME: home, ORCAOPS_TOKEN: token });

  beforeAll(async () => {
    registry = await LocalRegistry.start();
    // Distinct images (one extra layer each); `big` carries 3 MiB for the quota case.
    await Promise.all([
      pushDerived(registry, 'cache/foreign', 'v1', 'echo foreign > /marker'),
      pushDerived(registry, 'cache/in-use', 'v1', 'echo in-use > /marker'),
      pushDerived(registry, 'cache/older', 'v1', 'echo older > /marker'),
      pushDerived(registry, 'cache/newer', 'v1', 'echo newer > /marker'),
      pushDerived(registry, 'cache/raw', 'v1', 'echo raw > /marker'),
      pushDerived(registry, 'cache/big', 'v1', 'dd if=/dev/zero of=/big bs=1048576 count=3 2>/dev/null'),
    ]);
    t = await createTestApp();
    baseUrl = await listen(t);
    home = mkdtempSync(join(tmpdir(), 'orcaops-imgcache-cli-'));
    a = await seedWorkspace(t.app, 'imgcache-a');
    b = await seedWorkspace(t.app, 'imgcache-b');
    expect((await api(t.app, 'PUT', '/v1/policies/organisation', { token: TEST_ADMIN_TOKEN, body: { images: { registries: ['127.0.0.1:*'] } } })).status).toBe(200);

    // Oldest use first: `foreign` (then given a name OrcaOps did not make), `in-use` (held by a running
    // sandbox), `older`, `newer`. `raw` is pulled by the engine directly: OrcaOps never pulled it.
    expect((await runJob(a, ref('foreign'))).status).toBe('succeeded');
    await docker.getImage(ref('foreign')).tag(foreignTag);
    const sandbox = await api(t.app, 'POST', '/v1/sandboxes', { token: a.tokens.developer.token, body: { image: ref('in-use') } });
    expect(sandbox.status).toBe(201);
    sandboxId = sandbox.body.id;
    expect((await runJob(a, ref('older'))).status).toBe('succeeded');
    expect((await runJob(a, ref('newer'))).status).toBe('succeeded');
    const stream = await docker.pull(ref('raw'));
    await new Promise((resolve, reject) => docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve(undefined))));
  }, 300_000);

  afterAll(async () => {
    if (sandboxId) await api(t.app, 'DELETE', `/v1/sandboxes/${sandboxId}`, { token: a.tokens.developer.token });
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
    await docker.getImage(`${foreignTag.repo}:${foreignTag.tag}`).remove().catch(() => undefined);
    await removeRegistryImages(registry.host);
    await registry.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('REST and CLI list what OrcaOps pulled, by workspace, with size and last use; a workspace sees only its own', async () => {
    const items = await adminList();
    const [foreign, inUse, older, newer] = ['foreign', 'in-use', 'older', 'newer'].map((n) => byRef(items, ref(n)));
    for (const image of [foreign, inUse, older, newer]) {
      expect(image).toMatchObject({ kind: 'pulled', workspaces: [{ workspace_id: a.id }] });
      expect(image!.size_bytes).toBeGreaterThan(0);
    }
    const used = [foreign, inUse, older, newer].map((i) => Date.parse(i!.last_used_at));
    expect([...used].sort((x, y) => x - y)).toEqual(used);
    expect(inUse).toMatchObject({ keep: 'in_use' });
    expect(inUse!.containers).toBeGreaterThanOrEqual(1);
    expect(foreign).toMatchObject({ keep: 'foreign_reference' });
    expect([older!.keep, newer!.keep]).toEqual([null, null]);
    // Never pulled by OrcaOps: not listed. The standard images are listed and kept.
    expect(byRef(items, ref('raw'))).toBeUndefined();
    expect(items.find((i) => i.references.includes('orcaops/busybox:latest'))).toMatchObject({ kind: 'standard', keep: 'standard' });

    const listed = await cli(['images', 'cache', 'ls', '--workspace', a.id], TEST_ADMIN_TOKEN);
    expect(listed.exitCode).toBe(0);
    expect(JSON.parse(listed.stdout).items.map((i: CachedImage) => i.references[0]).sort()).toEqual(['foreign', 'in-use', 'newer', 'older'].map(ref).sort());

    const mine = await cli(['images', 'cache', 'usage'], a.tokens.viewer.token);
    expect(mine.exitCode).toBe(0);
    const view = JSON.parse(mine.stdout);
    expect(view.items).toHaveLength(4);
    expect(view.used_bytes).toBe([foreign, inUse, older, newer].reduce((sum, i) => sum + i!.size_bytes, 0));
    // The workspace's own names only: the foreign tag on its image is not shown.
    expect(view.items.flatMap((i: CachedImage) => i.references)).not.toContain(`${foreignTag.repo}:${foreignTag.tag}`);
    expect((await api(t.app, 'GET', '/v1/images/cache', { token: b.tokens.viewer.token })).body).toMatchObject({ items: [], used_bytes: 0 });
  });

  it('CLI prune --dry-run lists the removable images and removes nothing', async () => {
    const dry = await cli(['images', 'cache', 'prune', '--dry-run'], TEST_ADMIN_TOKEN);
    expect(dry.exitCode).toBe(0);
    const result = JSON.parse(dry.stdout);
    expect(result.dry_run).toBe(true);
    expect(result.removed.map((i: CachedImage) => i.references[0]).sort()).toEqual([ref('newer'), ref('older')].sort());
    for (const name of ['foreign', 'in-use', 'older', 'newer', 'raw']) expect(await present(ref(name))).toBe(true);
  });

  it('REST gc with a small budget removes the least recently used image, keeps the one a running sandbox uses, and never a foreign one', async () => {
    const before = await adminList();
    const total = before.filter((i) => i.kind !== 'standard').reduce((sum, i) => sum + i.size_bytes, 0);
    // One image over: the least recently used removable image goes (not `foreign`, not `in-use`, older than them all).
    const res = await api(t.app, 'POST', '/v1/admin/images/gc', { token: TEST_ADMIN_TOKEN, body: { budget_bytes: total - 1 } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ dry_run: false, failed: [], budget_bytes: total - 1, total_bytes_before: total });
    expect(res.body.removed.map((i: CachedImage) => i.references[0])).toEqual([ref('older')]);
    expect(await present(ref('older'))).toBe(false);
    for (const name of ['foreign', 'in-use', 'newer', 'raw']) expect(await present(ref(name))).toBe(true);
    expect(await present(`${foreignTag.repo}:${foreignTag.tag}`)).toBe(true);
    const audit = await api(t.app, 'GET', '/v1/audit?action=image_cache.collected', { token: TEST_ADMIN_TOKEN });
    expect(audit.body.items[0]).toMatchObject({ action: 'image_cache.collected' });

    // Budget 0 (CLI): everything removable goes; the image in use, the foreign-named one and the raw pull stay.
    const all = await cli(['images', 'cache', 'gc', '--budget', '0'], TEST_ADMIN_TOKEN);
    expect(all.exitCode).toBe(0);
    expect(JSON.parse(all.stdout).removed.map((i: CachedImage) => i.references[0])).toEqual([ref('newer')]);
    for (const name of ['foreign', 'in-use', 'raw']) expect(await present(ref(name))).toBe(true);
    // The workspace pulls a removed image again when it needs it.
    expect((await runJob(a, ref('older'))).status).toBe('succeeded');
  });

  it("REST and MCP: a pull that would take a workspace's images over its quota fails too_large and leaves nothing", async () => {
    expect((await api(t.app, 'PUT', `/v1/workspaces/${b.id}/policy`, { token: b.tokens.admin.token, body: { images: { max_cache_mb: 2 } } })).status).toBe(200);
    const job = await runJob(b, ref('big'));
    expect(job).toMatchObject({ status: 'failed', reason: 'image_pull_failed' });
    expect(job.message).toContain('(too_large)');
    expect(job.message).toContain('images.max_cache_mb');
    expect(await present(ref('big'))).toBe(false);
    const view = (await api(t.app, 'GET', '/v1/images/cache', { token: b.tokens.viewer.token })).body;
    expect(view).toMatchObject({ items: [], used_bytes: 0, quota_bytes: 2 * 1024 * 1024 });

    let mcp: ConnectedClient | undefined;
    try {
      mcp = await httpClient(baseUrl, b.tokens.developer.token);
      const run = (await mcp.client.callTool({ name: 'run_job', arguments: { image: ref('big'), command: 'true' } }, undefined, { timeout: 120_000 })) as {
        structuredContent?: { status: string; reason: string; message: string };
      };
      expect(run.structuredContent).toMatchObject({ status: 'failed', reason: 'image_pull_failed' });
      expect(run.structuredContent?.message).toContain('(too_large)');
      const cache = (await mcp.client.callTool({ name: 'get_image_cache', arguments: {} })) as { structuredContent?: Record<string, unknown> };
      expect(cache.structuredContent).toMatchObject({ items: [], used_bytes: 0, quota_bytes: 2 * 1024 * 1024 });
    } finally {
      await mcp?.client.close();
    }
    expect(await present(ref('big'))).toBe(false);
  });
});
