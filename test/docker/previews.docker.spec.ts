import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { PreviewProxy } from 'src/sandboxes/previews/preview-proxy.service';
import { SandboxActivity } from 'src/sandboxes/sandbox-activity';
import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import { runCli } from '../support/cli';
import { httpClient } from '../support/mcp';
import { sql } from '../support/sql';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

const DEV_SERVER = readFileSync(join(__dirname, '../fixtures/previews/dev-server.py'), 'utf8');

interface Fetched {
  status: number;
  headers: Headers;
  text: string;
}

interface WsResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  reply?: string;
}

/** A WebSocket handshake, one masked text frame, and the first frame back (raw: Node 20 has no client). */
function wsEcho(url: string, message: string, headers: Record<string, string> = {}): Promise<WsResult> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      headers: { ...headers, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': randomBytes(16).toString('base64'), 'sec-websocket-version': '13' },
    });
    req.once('error', reject);
    req.once('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    });
    req.once('upgrade', (res, socket, head) => {
      const mask = randomBytes(4);
      const payload = Buffer.from(message);
      const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
      socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]));
      let got = head;
      const done = (): void => {
        if (got.length < 2 || got.length < 2 + got[1]!) return;
        socket.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, reply: got.subarray(2, 2 + got[1]!).toString() });
      };
      socket.on('data', (chunk: Buffer) => {
        got = Buffer.concat([got, chunk]);
        done();
      });
      socket.once('error', reject);
      done();
    });
    req.end();
  });
}

/** Sandbox preview URLs on the real engine: a dev server in a sandbox with network none, through both routes. */
describe('sandbox previews on the real engine', () => {
  let t: TestApp;
  let a: SeededWorkspace;
  let b: SeededWorkspace;
  let dev: string;
  let base: string;
  let busybox: string;
  let python: string;

  const fetchText = async (url: string, init: RequestInit = {}): Promise<Fetched> => {
    const res = await fetch(url.startsWith('http') ? url : `${base}${url}`, init);
    return { status: res.status, headers: res.headers, text: await res.text() };
  };
  const asDev = (token = dev): RequestInit => ({ headers: { authorization: `Bearer ${token}` } });
  const portUrl = (sandbox: string, port: number, rest = '/'): string => `${base}/v1/sandboxes/${sandbox}/ports/${port}${rest}`;

  /** Polls through the proxy until the server in the sandbox answers (its start is not an event we can await). */
  const until = async (url: string, init: RequestInit): Promise<Fetched> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const res = await fetchText(url, init);
      if (res.status !== 502 || Date.now() > deadline) return res;
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  // busybox httpd daemonizes: no process of the sandbox API holds it, so only preview traffic keeps the sandbox busy.
  const startHttpd = async (sandbox: string): Promise<void> => {
    const httpd = await api(t.app, 'POST', `/v1/sandboxes/${sandbox}/exec`, {
      token: dev,
      body: { command: 'mkdir -p www/sub && echo "hello preview" > www/index.html && echo "nested" > www/sub/page.html && httpd -p 8080 -h /workspace/www' },
    });
    expect(httpd.body.exit_code).toBe(0);
  };

  const issue = async (sandbox: string, body: Record<string, unknown>, token = dev): Promise<{ status: number; body: any }> =>
    api(t.app, 'POST', `/v1/sandboxes/${sandbox}/previews`, { token, body });

  beforeAll(async () => {
    t = await createTestApp({ ORCAOPS_SANDBOX_REAPER_MS: '200', ORCAOPS_PUBLIC_URL: 'https://previews.example.test/' });
    await t.app.listen(0, '127.0.0.1');
    base = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    a = await seedWorkspace(t.app, 'preview-a');
    b = await seedWorkspace(t.app, 'preview-b');
    dev = a.tokens.developer.token;
    const [bb, py] = await Promise.all([
      api(t.app, 'POST', '/v1/sandboxes', { token: dev, body: { image: 'orcaops/busybox', ttl_seconds: 900 } }),
      api(t.app, 'POST', '/v1/sandboxes', { token: dev, body: { image: 'orcaops/python', ttl_seconds: 900 } }),
    ]);
    expect([bb.status, py.status]).toEqual([201, 201]);
    busybox = bb.body.id;
    python = py.body.id;
    await startHttpd(busybox);
    await api(t.app, 'POST', `/v1/sandboxes/${python}/exec`, { token: dev, body: { command: 'cat > dev-server.py && mkdir site && echo "stdlib server" > site/index.html', stdin: DEV_SERVER } });
    for (const command of ['python3 dev-server.py 9000', 'cd site && python3 -m http.server 8000 --bind 127.0.0.1']) {
      const started = await api(t.app, 'POST', `/v1/sandboxes/${python}/processes`, { token: dev, body: { command } });
      expect(started.status).toBe(201);
    }
    expect((await until(portUrl(busybox, 8080), asDev())).status).toBe(200);
    expect((await until(portUrl(python, 9000), asDev())).status).toBe(200);
    expect((await until(portUrl(python, 8000), asDev())).status).toBe(200);
  });
  afterAll(async () => {
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
  });

  it('serves a page from busybox httpd through the token route (network none), path and query passed through', async () => {
    const page = await fetchText(portUrl(busybox, 8080, '/index.html?x=1'), asDev());
    expect(page).toMatchObject({ status: 200, text: 'hello preview\n' });
    expect(page.headers.get('content-security-policy')).toContain('sandbox');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect((await fetchText(portUrl(busybox, 8080, '/sub/page.html'), asDev())).text).toBe('nested\n');
    expect((await fetchText(portUrl(busybox, 8080, '/missing'), asDev())).status).toBe(404);
    const stdlib = await fetchText(portUrl(python, 8000, '/'), asDev());
    expect(stdlib).toMatchObject({ status: 200, text: 'stdlib server\n' });
  });

  it('keeps the caller token and API cookies from the sandbox, and the sandbox cookies from the API origin', async () => {
    const res = await fetchText(portUrl(python, 9000, '/p?q=1'), { headers: { authorization: `Bearer ${dev}`, cookie: 'api=secret' } });
    expect(res.text).toBe('auth=None cookie=None host=localhost:9000 path=/p?q=1');
    expect(res.headers.get('set-cookie')).toBeNull();
    const echoed = await fetchText(portUrl(python, 9000, '/echo'), { method: 'POST', headers: { authorization: `Bearer ${dev}`, 'content-type': 'application/json' }, body: '{"raw":true}' });
    expect(echoed).toMatchObject({ status: 201, text: '{"raw":true}' });
    const binary = randomBytes(200_000);
    const up = await fetch(portUrl(python, 9000, '/bin'), { method: 'POST', headers: { authorization: `Bearer ${dev}`, 'content-type': 'application/octet-stream' }, body: binary });
    expect(Buffer.from(await up.arrayBuffer()).equals(binary)).toBe(true);
  });

  it('answers 502 when nothing listens on the port, 401 without a token, 403 for a viewer', async () => {
    const none = await fetchText(portUrl(busybox, 9999), asDev());
    expect(none.status).toBe(502);
    expect(JSON.parse(none.text).error.code).toBe('bad_gateway');
    expect((await fetchText(portUrl(busybox, 8080))).status).toBe(401);
    expect((await fetchText(portUrl(busybox, 8080), asDev(a.tokens.viewer.token))).status).toBe(403);
    expect((await issue(busybox, { port: 8080 }, a.tokens.viewer.token)).status).toBe(403);
  });

  it('serves a signed URL without a token until it is revoked (404), and audits issue and revoke', async () => {
    const issued = await issue(busybox, { port: 8080, ttl_seconds: 600 });
    expect(issued.status).toBe(201);
    // Issued under ORCAOPS_PUBLIC_URL (the address browsers use), its trailing slash dropped.
    expect(issued.body.url).toBe(`https://previews.example.test${issued.body.path}`);
    const page = await fetchText(`${issued.body.path}index.html`);
    expect(page).toMatchObject({ status: 200, text: 'hello preview\n' });
    expect((await fetchText(`${issued.body.path}sub/page.html`)).text).toBe('nested\n');
    const list = await api(t.app, 'GET', `/v1/sandboxes/${busybox}/previews`, { token: a.tokens.viewer.token });
    expect(list.body.items).toEqual([expect.objectContaining({ id: issued.body.id, port: 8080, revoked_at: null })]);
    expect(list.body.items[0].url).toBeUndefined();
    const stored = await sql<{ secret_hash: string }>(t.databaseUrl, 'SELECT secret_hash FROM sandbox_previews WHERE id = $1', [issued.body.id]);
    expect(issued.body.path).not.toContain(stored[0]!.secret_hash);
    const revoked = await api(t.app, 'DELETE', `/v1/sandboxes/${busybox}/previews/${issued.body.id}`, { token: dev });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).not.toBeNull();
    const after = await fetchText(`${issued.body.path}index.html`);
    expect(after.status).toBe(404);
    expect(JSON.parse(after.text).error.code).toBe('not_found');
    // A mangled token is the same 404 as a revoked one.
    expect((await fetchText(`${issued.body.path.slice(0, -3)}x/`)).status).toBe(404);
    const audit = await sql<{ action: string }>(
      t.databaseUrl,
      "SELECT action FROM audit_events WHERE action LIKE 'sandbox.preview.%' AND resource_id = $1 AND details->>'preview_id' = $2 ORDER BY occurred_at",
      [busybox, issued.body.id],
    );
    expect(audit.map((r) => r.action)).toEqual(['sandbox.preview.issue', 'sandbox.preview.revoke']);
  });

  it('stops serving an expired signed URL (401, saying it expired)', async () => {
    const issued = await issue(busybox, { port: 8080, ttl_seconds: 1 });
    expect((await fetchText(issued.body.path)).status).toBe(200);
    await sql(t.databaseUrl, "UPDATE sandbox_previews SET expires_at = now() - interval '1 second' WHERE id = $1", [issued.body.id]);
    const expired = await fetchText(issued.body.path);
    expect(expired.status).toBe(401);
    expect(JSON.parse(expired.text).error.message).toContain('expired');
  });

  it("answers 404 for another workspace's sandbox on every preview route, as for a missing one", async () => {
    const other = b.tokens.developer.token;
    const issued = await issue(busybox, { port: 8080 });
    expect((await fetchText(portUrl(busybox, 8080), asDev(other))).status).toBe(404);
    expect((await issue(busybox, { port: 8080 }, other)).status).toBe(404);
    expect((await api(t.app, 'GET', `/v1/sandboxes/${busybox}/previews`, { token: other })).status).toBe(404);
    expect((await api(t.app, 'DELETE', `/v1/sandboxes/${busybox}/previews/${issued.body.id}`, { token: other })).status).toBe(404);
    expect((await wsEcho(portUrl(python, 9000, '/ws'), 'x', { authorization: `Bearer ${other}` })).status).toBe(404);
  });

  it('relays a WebSocket both ways through the token route and a signed URL, without the sandbox cookie', async () => {
    const byToken = await wsEcho(portUrl(python, 9000, '/ws'), 'hi', { authorization: `Bearer ${dev}` });
    expect(byToken).toMatchObject({ status: 101, reply: 'echo:hi' });
    expect(byToken.headers['set-cookie']).toBeUndefined();
    const issued = await issue(python, { port: 9000 });
    const signed = await wsEcho(`${base}${issued.body.path}ws`, 'signed');
    expect(signed).toMatchObject({ status: 101, reply: 'echo:signed' });
    await api(t.app, 'DELETE', `/v1/sandboxes/${python}/previews/${issued.body.id}`, { token: dev });
    expect((await wsEcho(`${base}${issued.body.path}ws`, 'late')).status).toBe(404);
  });

  it('prints a working URL from the CLI (plain and --json), and errors with a non-zero exit for a foreign sandbox', async () => {
    const env = { ORCAOPS_URL: base, ORCAOPS_TOKEN: dev };
    const plain = await runCli(['sandbox', 'preview', python, '8000', '--ttl', '120'], env);
    expect(plain.exitCode).toBe(0);
    const url = plain.stdout.trim();
    expect(url.startsWith(`${base}/v1/previews/`)).toBe(true);
    expect((await fetchText(url)).text).toBe('stdlib server\n');
    const json = JSON.parse((await runCli(['--json', 'sandbox', 'preview', python, '8000'], env)).stdout);
    expect(json).toMatchObject({ port: 8000, sandbox_id: python, url: expect.stringContaining('/v1/previews/') });
    expect((await fetchText(json.url)).status).toBe(200);
    const foreign = await runCli(['--json', 'sandbox', 'preview', python, '8000'], { ...env, ORCAOPS_TOKEN: b.tokens.developer.token });
    expect(foreign.exitCode).not.toBe(0);
    expect(JSON.parse(foreign.stdout).error.code).toBe('not_found');
  });

  it('opens a preview from the MCP tool open_preview, and hides another workspace\'s sandbox', async () => {
    const { client } = await httpClient(base, dev);
    try {
      const opened = (await client.callTool({ name: 'open_preview', arguments: { sandbox_id: python, port: 8000 } })) as { isError?: boolean; structuredContent?: any };
      expect(opened.isError).toBeFalsy();
      expect(opened.structuredContent).toMatchObject({ port: 8000, url: expect.stringContaining('/v1/previews/') });
      const path = new URL(opened.structuredContent.url).pathname;
      expect((await fetchText(path)).text).toBe('stdlib server\n');
    } finally {
      await client.close();
    }
    const other = (await httpClient(base, b.tokens.developer.token)).client;
    try {
      const denied = (await other.callTool({ name: 'open_preview', arguments: { sandbox_id: python, port: 8000 } })) as { isError?: boolean; content: Array<{ text?: string }> };
      expect(denied.isError).toBe(true);
      expect(denied.content.map((c) => c.text).join('')).toContain('not_found');
    } finally {
      await other.close();
    }
  });

  it('counts preview traffic as sandbox activity: used through a preview, the sandbox outlives its idle timeout', async () => {
    const activity = t.app.get(SandboxActivity);
    const proxy = t.app.get(PreviewProxy);
    const created = await api(t.app, 'POST', '/v1/sandboxes', { token: dev, body: { image: 'orcaops/busybox', ttl_seconds: 900, idle_timeout_seconds: 4 } });
    const idle: string = created.body.id;
    await startHttpd(idle);
    const issued = await issue(idle, { port: 8080 });
    expect((await until(issued.body.path, {})).status).toBe(200);
    const started = Date.now();
    // idle_timeout_seconds is 4: a browser fetching every second for 6 s keeps it alive.
    while (Date.now() - started < 6_000) {
      const before = Date.now();
      expect((await fetchText(issued.body.path)).status).toBe(200);
      expect(activity.lastActivity(idle)).toBeGreaterThanOrEqual(before);
      await new Promise((r) => setTimeout(r, 1_000));
    }
    const row = await sql<{ status: string }>(t.databaseUrl, 'SELECT status FROM sandboxes WHERE id = $1', [idle]);
    expect(row[0]!.status).toBe('ready');
    // Every relay has ended: nothing holds the sandbox busy any more, and with no traffic it expires as idle.
    const deadline = Date.now() + 10_000;
    while (proxy.openConnections(idle) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(proxy.openConnections(idle)).toBe(0);
    let status = 'ready';
    while ((status === 'ready' || status === 'stopping') && Date.now() < started + 60_000) {
      await new Promise((r) => setTimeout(r, 200));
      status = (await sql<{ status: string }>(t.databaseUrl, 'SELECT status FROM sandboxes WHERE id = $1', [idle]))[0]!.status;
    }
    const ended = await sql<{ status: string; exit_reason: string }>(t.databaseUrl, 'SELECT status, exit_reason FROM sandboxes WHERE id = $1', [idle]);
    expect(ended[0]).toMatchObject({ status: 'expired', exit_reason: 'idle' });
  });
});
