import { McpSessions, MCP_SESSION_LIMITS } from 'src/mcp/mcp-sessions.service';
import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { httpClient, listen } from '../support/mcp';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';
import { sql } from '../support/sql';

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } };

/** MCP session lifecycle on /mcp: configured origins, idle expiry and shutdown (no containers needed). */
describe('MCP sessions', () => {
  let t: TestApp;
  let baseUrl: string;
  let ws: SeededWorkspace;
  let sessions: McpSessions;

  beforeAll(async () => {
    t = await createTestApp({ ORCAOPS_ALLOWED_ORIGINS: 'https://console.example.com' });
    baseUrl = await listen(t);
    ws = await seedWorkspace(t.app, 'mcp-sessions');
    sessions = t.app.get(McpSessions);
  });
  afterAll(() => t.close());

  const post = (body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${baseUrl}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${ws.tokens.viewer.token}`, ...headers },
      body: JSON.stringify(body),
    });

  it('accepts a configured Origin and refuses others', async () => {
    const allowed = await post(INIT, { origin: 'https://console.example.com' });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('mcp-session-id')).toBeTruthy();
    await allowed.body?.cancel();
    const refused = await post(INIT, { origin: 'https://console.example.com.evil.example' });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: { code: 'forbidden' } });
  });

  it('refuses a request without a session that is not initialize', async () => {
    const res = await post({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    expect(res.status).toBe(400);
  });

  it('closes idle sessions; their id then answers 404', async () => {
    // Opened with plain requests: no standing GET stream (an open stream counts as activity).
    const opened = await post(INIT);
    const id = opened.headers.get('mcp-session-id')!;
    await opened.body?.cancel();
    const ping = async (n: number): Promise<number> => {
      const res = await post({ jsonrpc: '2.0', id: n, method: 'ping' }, { 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' });
      await res.body?.cancel();
      return res.status;
    };
    sessions.closeIdle(Date.now() + MCP_SESSION_LIMITS.idleMs - 5000);
    expect(await ping(3)).toBe(200);
    sessions.closeIdle(Date.now() + MCP_SESSION_LIMITS.idleMs + 5000);
    expect(await ping(4)).toBe(404);
  });

  it('a tool the token may not call is a tool error, audited like a forbidden route (via mcp)', async () => {
    const { client } = await httpClient(baseUrl, ws.tokens.viewer.token);
    const result = (await client.callTool({ name: 'create_sandbox', arguments: { image: 'orcaops/busybox' } })) as { isError?: boolean; content: Array<{ text: string }> };
    expect(result.isError).toBe(true);
    expect(result.content[0]!.text).toMatch(/^Error \(forbidden\): .*sandbox:create/);
    const rows = await sql<{ via: string; details: Record<string, unknown> }>(
      t.databaseUrl,
      "SELECT * FROM audit_events WHERE action = 'auth.forbidden' AND actor_id = $1",
      [ws.tokens.viewer.id],
    );
    expect(rows).toEqual([expect.objectContaining({ via: 'mcp', outcome: 'denied', details: { required: 'sandbox:create', tool: 'create_sandbox' } })]);
    await client.close();
  });

  it('closes every session at shutdown', async () => {
    await httpClient(baseUrl, ws.tokens.viewer.token);
    expect(sessions.size).toBeGreaterThan(0);
    sessions.onModuleDestroy();
    expect(sessions.size).toBe(0);
  });
});
