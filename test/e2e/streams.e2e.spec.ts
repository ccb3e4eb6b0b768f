import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { runCli } from '../support/cli';
import { api } from '../support/http';
import { listen } from '../support/mcp';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

/**
 * The stream cap on every front end: REST (SSE and long-polls), the CLI (`jobs wait`, `jobs logs -f`)
 * and /mcp. A job held for approval never ends, so its waits and log streams stay open.
 */
describe('stream caps through REST, CLI and MCP', () => {
  let t: TestApp;
  let url: string;
  let ws: SeededWorkspace;
  let dir: string;
  let jobId: string;
  const held: AbortController[] = [];

  beforeAll(async () => {
    t = await createTestApp({ ORCAOPS_RUNTIME: 'fake', ORCAOPS_STREAMS_PER_TOKEN: '2' });
    url = await listen(t);
    ws = await seedWorkspace(t.app, 'stream-caps');
    dir = mkdtempSync(join(tmpdir(), 'orcaops-streams-'));
    const admin = ws.tokens.admin.token;
    expect((await api(t.app, 'PUT', `/v1/workspaces/${ws.id}/policy`, { token: admin, body: { resources: { approval_above: { timeout_seconds: 30 } } } })).status).toBe(200);
    const job = await api(t.app, 'POST', '/v1/jobs', { token: ws.tokens.developer.token, body: { image: 'orcaops/busybox', command: 'true', timeout_seconds: 60 } });
    expect(job.body.status).toBe('awaiting_approval');
    jobId = job.body.id;
  });
  afterAll(async () => {
    for (const c of held) c.abort();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const hold = async (path: string, token: string, accept?: string): Promise<Response> => {
    const controller = new AbortController();
    held.push(controller);
    return fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}`, ...(accept ? { accept } : {}) }, signal: controller.signal });
  };

  it('refuses a token over its cap on REST, the CLI and /mcp, and frees the slots when the clients go away', async () => {
    const dev = ws.tokens.developer.token;
    // Two held: one SSE log stream (answers 200 at once) and one long-poll (answers when it ends).
    const sse = await hold(`/v1/jobs/${jobId}/logs`, dev, 'text/event-stream');
    expect(sse.status).toBe(200);
    void hold(`/v1/jobs/${jobId}/wait?timeout_seconds=300`, dev).catch(() => undefined);
    let rest = await fetch(`${url}/v1/jobs/${jobId}/wait?timeout_seconds=1`, { headers: { authorization: `Bearer ${dev}` } });
    for (let i = 0; i < 50 && rest.status === 200; i++) {
      // The long-poll may not have reached the server yet.
      await new Promise((r) => setTimeout(r, 100));
      rest = await fetch(`${url}/v1/jobs/${jobId}/wait?timeout_seconds=1`, { headers: { authorization: `Bearer ${dev}` } });
    }
    expect(rest.status).toBe(429);
    expect(rest.headers.get('retry-after')).toBe('5');
    expect(await rest.json()).toMatchObject({ error: { code: 'rate_limited', details: { limit: 'streams_per_token', max: 2 } } });

    const env = { ORCAOPS_URL: url, ORCAOPS_TOKEN: dev, ORCAOPS_HOME: dir };
    const wait = await runCli(['jobs', 'wait', jobId, '--timeout', '5'], env);
    expect(wait.exitCode).toBe(7);
    expect(wait.stderr).toContain('ORCAOPS_STREAMS_PER_TOKEN');
    const logs = await runCli(['jobs', 'logs', jobId, '--follow'], env);
    expect(logs.exitCode).toBe(7);

    const mcp = await fetch(`${url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${dev}`, accept: 'application/json, text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }),
    });
    expect(mcp.status).toBe(429);
    expect(((await mcp.json()) as { error: { message: string } }).error.message).toContain('ORCAOPS_STREAMS_PER_TOKEN');

    // Another token of the workspace is not affected by this token's cap.
    const viewer = await fetch(`${url}/v1/jobs/${jobId}/wait?timeout_seconds=1`, { headers: { authorization: `Bearer ${ws.tokens.viewer.token}` } });
    expect(viewer.status).toBe(200);

    for (const c of held.splice(0)) c.abort();
    let again = 429;
    for (let i = 0; i < 50 && again !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      again = (await fetch(`${url}/v1/jobs/${jobId}/wait?timeout_seconds=1`, { headers: { authorization: `Bearer ${dev}` } })).status;
    }
    expect(again).toBe(200);
  }, 60_000);
});
