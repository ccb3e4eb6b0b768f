import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WarmPoolService } from 'src/sandboxes/warm-pool.service';
import type { TestApp } from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { runCli } from '../support/cli';
import { docker, installationContainers, removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import { LocalRegistry, removeRegistryImages } from '../support/local-registry';
import type { ConnectedClient } from '../support/mcp';
import { httpClient, listen } from '../support/mcp';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

interface ToolResult {
  isError?: boolean;
  structuredContent?: { sandbox?: { id: string; status: string; image_digest: string | null } };
  content?: Array<{ text?: string }>;
}

/**
 * Sandboxes from a private registry (Debian's docker-registry with htpasswd auth, on loopback) through
 * REST, the CLI and MCP on the real engine: the workspace's own credentials, the digest on the sandbox,
 * another workspace refused (also a warm pool container of the image), policy denial before any engine call.
 */
describe('sandboxes from registry images (REST + CLI + MCP → Docker → docker-registry)', () => {
  const creds = { username: 'ci', password: 'sandbox-pass-71c2' };
  let t: TestApp;
  let locked: LocalRegistry;
  let a: SeededWorkspace;
  let b: SeededWorkspace;
  let baseUrl: string;
  let home: string;
  let image: string;
  let pooledImage: string;
  let digest: string;
  let pooledDigest: string;

  const create = (ws: SeededWorkspace, body: Record<string, unknown>) => api(t.app, 'POST', '/v1/sandboxes', { token: ws.tokens.developer.token, body });
  const remove = (ws: SeededWorkspace, id: string) => api(t.app, 'DELETE', `/v1/sandboxes/${id}`, { token: ws.tokens.developer.token });
  const pullEvents = async (since: number, reference: string): Promise<number> => {
    const stream = await docker.getEvents({ since: Math.floor(since / 1000), until: Math.ceil(Date.now() / 1000), filters: { type: ['image'], event: ['pull'] } });
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks).toString().split('\n').filter((line) => line.includes(`"${reference}"`)).length;
  };

  beforeAll(async () => {
    locked = await LocalRegistry.start(creds);
    image = `${locked.host}/private/sandbox:v1`;
    pooledImage = `${locked.host}/private/pooled:v1`;
    digest = await locked.push('orcaops/busybox', 'private/sandbox', 'v1');
    pooledDigest = await locked.push('orcaops/busybox', 'private/pooled', 'v1');
    // The operator's pool image is on the engine before the server starts (pulled here with the registry's credentials).
    const stream = await docker.pull(pooledImage, { authconfig: { ...creds, serveraddress: locked.host } });
    await new Promise((resolve, reject) => docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve(undefined))));
    t = await createTestApp({ ORCAOPS_SANDBOX_POOL: `${pooledImage}=1` });
    baseUrl = await listen(t);
    a = await seedWorkspace(t.app, 'regsbx-a');
    b = await seedWorkspace(t.app, 'regsbx-b');
    home = mkdtempSync(join(tmpdir(), 'orcaops-regsbx-cli-'));
    expect((await api(t.app, 'PUT', '/v1/policies/organisation', { token: TEST_ADMIN_TOKEN, body: { images: { registries: ['127.0.0.1:*'] } } })).status).toBe(200);
    const put = await api(t.app, 'PUT', '/v1/registry-credentials', { token: a.tokens.admin.token, body: { host: locked.host, ...creds } });
    expect(put.status).toBe(200);
  });
  afterAll(async () => {
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
    await removeRegistryImages(locked.host);
    await locked.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('REST: creates a sandbox from a private image with the workspace’s credentials; digest and pull line on it; runs commands', async () => {
    const res = await create(a, { image });
    expect(res.status).toBe(201);
    // The pool's one idle container is of another image: this one is cold.
    expect(res.body).toMatchObject({ status: 'ready', image, image_digest: digest, pull_policy: 'if_not_present', pooled: false });
    expect(res.body.message).toContain(`pulling ${image}`);
    const exec = await api(t.app, 'POST', `/v1/sandboxes/${res.body.id}/exec`, { token: a.tokens.developer.token, body: { command: 'echo hello-from-registry' } });
    expect(exec.status).toBe(200);
    expect(JSON.stringify(exec.body)).toContain('hello-from-registry');
    expect((await remove(a, res.body.id)).body.status).toBe('stopped');
  });

  it('CLI and MCP: another workspace without credentials is refused (typed), also with pull_policy never; the owner succeeds', async () => {
    const env = { ORCAOPS_URL: baseUrl, ORCAOPS_HOME: home };
    const denied = await runCli(['sandbox', 'create', image], { ...env, ORCAOPS_TOKEN: b.tokens.developer.token });
    expect(denied.exitCode).not.toBe(0);
    expect(denied.stderr).toContain('"reason": "unauthorized"');
    const never = await runCli(['--json', 'sandbox', 'create', image, '--pull', 'never'], { ...env, ORCAOPS_TOKEN: b.tokens.developer.token });
    expect(never.exitCode).not.toBe(0);
    expect(JSON.parse(never.stdout).error).toMatchObject({ code: 'image_pull_failed', details: { reason: 'unauthorized' } });
    const ok = await runCli(['--json', 'sandbox', 'create', image], { ...env, ORCAOPS_TOKEN: a.tokens.developer.token });
    expect(ok.exitCode).toBe(0);
    const created = JSON.parse(ok.stdout);
    expect(created).toMatchObject({ status: 'ready', image_digest: digest });
    await remove(a, created.id);

    let mcpB: ConnectedClient | undefined;
    let mcpA: ConnectedClient | undefined;
    try {
      mcpB = await httpClient(baseUrl, b.tokens.developer.token);
      const refused = (await mcpB.client.callTool({ name: 'create_sandbox', arguments: { image } }, undefined, { timeout: 120_000 })) as ToolResult;
      expect(refused.isError).toBe(true);
      expect(refused.content?.[0]?.text).toContain('image_pull_failed');
      expect(refused.content?.[0]?.text).toContain('unauthorized');
      mcpA = await httpClient(baseUrl, a.tokens.developer.token);
      const made = (await mcpA.client.callTool({ name: 'create_sandbox', arguments: { image } }, undefined, { timeout: 120_000 })) as ToolResult;
      expect(made.isError).toBeFalsy();
      expect(made.structuredContent?.sandbox).toMatchObject({ status: 'ready', image_digest: digest });
      await remove(a, made.structuredContent!.sandbox!.id);
    } finally {
      await mcpB?.client.close();
      await mcpA?.client.close();
    }
    // B's refused sandboxes are recorded failed with the typed reason, and left no container.
    const listed = await api(t.app, 'GET', '/v1/sandboxes', { token: b.tokens.developer.token });
    expect(listed.body.items.map((s: { status: string; exit_reason: string }) => `${s.status}/${s.exit_reason}`)).toEqual(Array(3).fill('failed/image_pull_failed'));
    const live = (await installationContainers(t.databaseUrl)).filter((c) => c.Labels?.['orcaops.workspace_id'] === b.id);
    expect(live).toEqual([]);
  });

  it('warm pool: a pooled container of a registry image goes only to a workspace with its own grant for the digest', async () => {
    await waitForIdlePool(pooledImage);
    // B: no credentials, no grant → refused, and the idle pool container is not handed over.
    const refused = await create(b, { image: pooledImage });
    expect(refused.status).toBe(424);
    expect(refused.body.error).toMatchObject({ code: 'image_pull_failed', details: { reason: 'unauthorized' } });
    // A: its first create pulls (authorising it: the layers are here, the registry checks A's credentials).
    const first = await create(a, { image: pooledImage });
    expect(first.body).toMatchObject({ status: 'ready', image_digest: pooledDigest });
    // Now A holds a grant for the digest: a pool container is usable as it is.
    await waitForIdlePool(pooledImage);
    const second = await create(a, { image: pooledImage });
    expect(second.body).toMatchObject({ status: 'ready', image_digest: pooledDigest, pooled: true });
    await remove(a, first.body.id);
    await remove(a, second.body.id);
  });

  it('REST: a registry outside the workspace policy is refused before any engine call (nothing pulled, no sandbox container)', async () => {
    const since = Date.now();
    const other = `${locked.host}/private/never:v1`;
    expect((await api(t.app, 'PUT', `/v1/workspaces/${a.id}/policy`, { token: a.tokens.admin.token, body: { images: { registries: ['127.0.0.1:1'] } } })).status).toBe(200);
    try {
      const res = await create(a, { image: other });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('policy_denied');
    } finally {
      await api(t.app, 'PUT', `/v1/workspaces/${a.id}/policy`, { token: a.tokens.admin.token, body: {} });
    }
    expect(await pullEvents(since, other)).toBe(0);
    const listed = await api(t.app, 'GET', '/v1/sandboxes?status=starting', { token: a.tokens.developer.token });
    expect(listed.body.items).toEqual([]);
  });

  async function waitForIdlePool(reference: string): Promise<void> {
    const pool = t.app.get(WarmPoolService);
    const deadline = Date.now() + 60_000;
    while (!pool.has(reference)) {
      if (Date.now() > deadline) throw new Error(`no idle pool container of ${reference}: ${JSON.stringify(pool.stats())}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
});
