import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { listen } from '../support/mcp';
import { seedWorkspace } from '../support/tenants';

const CONFORMANCE = join(__dirname, '..', '..', 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
/** The scenarios that apply to any server (the others need fixture tools, prompts or sampling). */
const SCENARIOS = ['server-initialize', 'ping', 'tools-list', 'logging-set-level', 'server-sse-multiple-streams', 'resources-list'];

/**
 * The suite sends no Authorization header. This loopback proxy adds a valid workspace token, so the
 * suite exercises /mcp with authentication unchanged (the proxy is the suite's "client credentials").
 */
function tokenProxy(target: URL, token: string): Promise<Server> {
  const server = createServer((req, res) => {
    const upstream = request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host, authorization: `Bearer ${token}` } },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function checksIn(dir: string): Array<{ id: string; status: string; errorMessage?: string }> {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return checksIn(path);
    return name === 'checks.json' ? (JSON.parse(readFileSync(path, 'utf8')) as Array<{ id: string; status: string }>) : [];
  });
}

describe('MCP conformance suite (@modelcontextprotocol/conformance) against /mcp', () => {
  let t: TestApp;
  let proxy: Server;
  let proxyUrl: string;
  let results: string;

  beforeAll(async () => {
    t = await createTestApp();
    const baseUrl = await listen(t);
    const ws = await seedWorkspace(t.app, 'conformance');
    proxy = await tokenProxy(new URL(baseUrl), ws.tokens.developer.token);
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/mcp`;
    results = mkdtempSync(join(tmpdir(), 'orcaops-conformance-'));
  });
  afterAll(async () => {
    proxy.closeAllConnections();
    await new Promise((resolve) => proxy.close(resolve));
    await t.close();
    rmSync(results, { recursive: true, force: true });
  });

  it('still requires a token on /mcp itself (only the proxy adds one)', async () => {
    const direct = proxyUrl.replace(/:\d+\/mcp$/, `:${(t.app.getHttpServer().address() as AddressInfo).port}/mcp`);
    const res = await fetch(direct, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' });
    expect(res.status).toBe(401);
  });

  it.each(SCENARIOS)('passes %s', async (scenario) => {
    const out = join(results, scenario);
    const child = spawn(process.execPath, [CONFORMANCE, 'server', '--url', proxyUrl, '--scenario', scenario, '-o', out], { cwd: results, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (c: Buffer) => (log += c.toString()));
    child.stderr.on('data', (c: Buffer) => (log += c.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    const checks = checksIn(out);
    const failed = checks.filter((c) => c.status === 'FAILURE');
    if (code !== 0 || failed.length || checks.length === 0) throw new Error(`conformance ${scenario} (exit ${code}):\n${log}\n${JSON.stringify(failed, null, 2)}`);
  }, 120_000);
});
