import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestApp } from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { runCli } from '../support/cli';
import { docker, removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import { LocalRegistry, removeRegistryImages } from '../support/local-registry';
import type { ConnectedClient } from '../support/mcp';
import { httpClient, listen } from '../support/mcp';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

/**
 * Images from real registries on loopback (Debian's docker-registry: one open, one with htpasswd basic
 * auth) through REST, the CLI and MCP on the real engine: digests on the record, pinning, typed
 * failures, policy refusal before any pull, one pull for concurrent jobs, and a privately pulled image
 * refused to another workspace.
 */
describe('registry images (REST + CLI + MCP → Docker → docker-registry)', () => {
  const creds = { username: 'ci', password: 'registry-pass-9f3b' };
  let t: TestApp;
  let open: LocalRegistry;
  let locked: LocalRegistry;
  let a: SeededWorkspace;
  let b: SeededWorkspace;
  let baseUrl: string;
  let home: string;
  let digest: string;

  const submit = (ws: SeededWorkspace, body: Record<string, unknown>) => api(t.app, 'POST', '/v1/jobs', { token: ws.tokens.developer.token, body: { command: 'true', ...body } });
  const waitJob = async (ws: SeededWorkspace, id: string) => {
    let job = (await api(t.app, 'GET', `/v1/jobs/${id}/wait?timeout_seconds=120`, { token: ws.tokens.developer.token })).body;
    while (!['succeeded', 'failed', 'timed_out', 'cancelled'].includes(job.status)) {
      job = (await api(t.app, 'GET', `/v1/jobs/${id}/wait?timeout_seconds=120`, { token: ws.tokens.developer.token })).body;
    }
    return job;
  };
  const run = async (ws: SeededWorkspace, body: Record<string, unknown>) => {
    const res = await submit(ws, body);
    expect(res.status).toBe(201);
    return waitJob(ws, res.body.id);
  };
  const pullEvents = async (since: number, reference: string): Promise<number> => {
    // With `until` the engine ends the stream at that time.
    const stream = (await docker.getEvents({ since: Math.floor(since / 1000), until: Math.ceil(Date.now() / 1000), filters: { type: ['image'], event: ['pull'] } }));
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
    const text = Buffer.concat(chunks).toString();
    return text.split('\n').filter((line) => line.includes(`"${reference}"`)).length;
  };

  beforeAll(async () => {
    [open, locked] = await Promise.all([LocalRegistry.start(), LocalRegistry.start(creds)]);
    digest = await open.push('orcaops/busybox', 'tools/busybox', 'v1');
    await open.push('orcaops/busybox', 'tools/busybox', 'v2');
    await open.push('orcaops/busybox', 'tools/many', 'v1');
    await open.push('orcaops/busybox', 'tools/never-pulled', 'v1');
    await locked.push('orcaops/busybox', 'private/busybox', 'v1');
    t = await createTestApp();
    baseUrl = await listen(t);
    a = await seedWorkspace(t.app, 'registry-a');
    b = await seedWorkspace(t.app, 'registry-b');
    home = mkdtempSync(join(tmpdir(), 'orcaops-registry-cli-'));
    const org = await api(t.app, 'PUT', '/v1/policies/organisation', { token: TEST_ADMIN_TOKEN, body: { images: { registries: ['127.0.0.1:*'] } } });
    expect(org.status).toBe(200);
  });
  afterAll(async () => {
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
    await removeRegistryImages(open.host);
    await removeRegistryImages(locked.host);
    await Promise.all([open.close(), locked.close()]);
    rmSync(home, { recursive: true, force: true });
  });

  it('a standard image pushed to a registry stays usable under its own name by every workspace (its registry digest names another repository)', async () => {
    // beforeAll pushed orcaops/busybox: the engine now records a RepoDigest under the registry's name for it.
    const job = await run(b, { image: 'orcaops/busybox' });
    expect(job).toMatchObject({ status: 'succeeded', image_digest: null });
  });

  it('REST: pulls, records the digest and pull phase, logs progress; pinning by digest runs the same image', async () => {
    const job = await run(a, { image: `${open.host}/tools/busybox:v1` });
    expect(job).toMatchObject({ status: 'succeeded', image_digest: digest });
    expect(job.pull_started_at).toEqual(expect.any(String));
    const logs = await api(t.app, 'GET', `/v1/jobs/${job.id}/logs`, { token: a.tokens.developer.token });
    expect(logs.body.items.map((c: { data: string }) => c.data).join('')).toContain(`pulling ${open.host}/tools/busybox:v1`);
    const pinned = await run(a, { image: `${open.host}/tools/busybox@${digest}` });
    expect(pinned).toMatchObject({ status: 'succeeded', image_digest: digest });
  });

  it('REST: unknown tag and a stopped registry fail typed', async () => {
    const unknown = await run(a, { image: `${open.host}/tools/busybox:nope` });
    expect(unknown).toMatchObject({ status: 'failed', reason: 'image_pull_failed' });
    expect(unknown.message).toContain('(not_found)');
    await open.stop();
    try {
      const down = await run(a, { image: `${open.host}/tools/busybox:v2` });
      expect(down.message).toContain('(registry_unreachable)');
    } finally {
      await open.resume();
    }
  });

  it('REST: a registry outside the policy is refused before any engine call (nothing pulled)', async () => {
    const since = Date.now();
    expect((await api(t.app, 'PUT', `/v1/workspaces/${a.id}/policy`, { token: a.tokens.admin.token, body: { images: { registries: ['127.0.0.1:1'] } } })).status).toBe(200);
    try {
      const res = await submit(a, { image: `${open.host}/tools/never-pulled:v1` });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('policy_denied');
    } finally {
      await api(t.app, 'PUT', `/v1/workspaces/${a.id}/policy`, { token: a.tokens.admin.token, body: {} });
    }
    expect(await docker.getImage(`${open.host}/tools/never-pulled:v1`).inspect().catch(() => undefined)).toBeUndefined();
    expect(await pullEvents(since, `${open.host}/tools/never-pulled:v1`)).toBe(0);
  });

  it('REST: 10 concurrent jobs on a missing image share one pull', async () => {
    const since = Date.now();
    const image = `${open.host}/tools/many:v1`;
    const submitted = await Promise.all(Array.from({ length: 10 }, () => submit(a, { image })));
    const done = await Promise.all(submitted.map((res) => waitJob(a, res.body.id)));
    expect(done.map((j) => j.status)).toEqual(Array(10).fill('succeeded'));
    expect(await pullEvents(since, image)).toBe(1);
  });

  it('CLI and MCP: private pulls need the workspace’s own credentials; another workspace cannot use the pulled image', async () => {
    const image = `${locked.host}/private/busybox:v1`;
    const env = { ORCAOPS_URL: baseUrl, ORCAOPS_HOME: home };
    // CLI, no credentials yet: unauthorized.
    const denied = await runCli(['run', image, '--', 'true'], { ...env, ORCAOPS_TOKEN: a.tokens.developer.token });
    expect(denied.exitCode).not.toBe(0);
    expect(denied.stderr).toContain('(unauthorized)');
    // Wrong, then right credentials (write-only: the password never comes back).
    const wrong = await runCli(['registry', 'login', locked.host, '-u', creds.username], { ...env, ORCAOPS_TOKEN: a.tokens.admin.token, ORCAOPS_REGISTRY_PASSWORD: 'wrong' });
    expect(wrong.exitCode).toBe(0);
    expect((await runCli(['run', image, '--', 'true'], { ...env, ORCAOPS_TOKEN: a.tokens.developer.token })).stderr).toContain('(unauthorized)');
    const login = await runCli(['--json', 'registry', 'login', locked.host, '-u', creds.username], { ...env, ORCAOPS_TOKEN: a.tokens.admin.token, ORCAOPS_REGISTRY_PASSWORD: creds.password });
    expect(login.stdout).not.toContain(creds.password);
    const ok = await runCli(['run', image, '--', 'true'], { ...env, ORCAOPS_TOKEN: a.tokens.developer.token });
    expect(ok.exitCode).toBe(0);
    const listed = await runCli(['--json', 'registry', 'list'], { ...env, ORCAOPS_TOKEN: a.tokens.admin.token });
    expect(listed.stdout).toContain(locked.host);
    expect(listed.stdout).not.toContain(creds.password);
    // MCP, workspace B: the image is on the engine now, but B never pulled it with its own credentials.
    let mcp: ConnectedClient | undefined;
    try {
      mcp = await httpClient(baseUrl, b.tokens.developer.token);
      const result = (await mcp.client.callTool({ name: 'run_job', arguments: { image, command: 'true' } }, undefined, { timeout: 120_000 })) as {
        structuredContent?: { status: string; reason: string; message: string };
      };
      expect(result.structuredContent).toMatchObject({ status: 'failed', reason: 'image_pull_failed' });
      expect(result.structuredContent?.message).toContain('(unauthorized)');
      const never = (await mcp.client.callTool({ name: 'run_job', arguments: { image, command: 'true', pull_policy: 'never' } }, undefined, { timeout: 120_000 })) as {
        structuredContent?: { message: string };
      };
      expect(never.structuredContent?.message).toContain('(unauthorized)');
    } finally {
      await mcp?.client.close();
    }
    // Nothing in the audit log carries the password.
    const audit = await api(t.app, 'GET', '/v1/audit?limit=200', { token: a.tokens.admin.token });
    expect(JSON.stringify(audit.body)).not.toContain(creds.password);
  });
});
