import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { api } from '../support/http';
import { CONTAINER_RUNTIME } from 'src/runtime/container-runtime.port';
import type { FakeRuntime } from 'src/runtime/fake/fake.runtime';
import type { ConnectedClient } from '../support/mcp';
import { httpClient, listen } from '../support/mcp';
import { sql } from '../support/sql';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

// MCP session tools (issue 20 item 5): an agent lists its sessions, reads what one created and spent,
// and ends it with clean-up; audited; another workspace's session answers like a missing one. Fake engine.
interface ToolResult {
  isError?: boolean;
  content: Array<{ type: string; text: string }>;
  structuredContent?: any;
}

describe('MCP: list_sessions, get_session, end_session', () => {
  let t: TestApp;
  let url: string;
  let a: SeededWorkspace;
  let b: SeededWorkspace;
  const clients: ConnectedClient[] = [];

  const client = async (token: string): Promise<ConnectedClient> => {
    const c = await httpClient(url, token);
    clients.push(c);
    return c;
  };
  const call = async (c: ConnectedClient, name: string, args: Record<string, unknown>): Promise<ToolResult> => (await c.client.callTool({ name, arguments: args })) as ToolResult;

  beforeAll(async () => {
    t = await createTestApp({ ORCAOPS_RUNTIME: 'fake' });
    t.app.get<FakeRuntime>(CONTAINER_RUNTIME).addImage('orcaops/busybox');
    url = await listen(t);
    a = await seedWorkspace(t.app, 'mcp-sessions-a');
    b = await seedWorkspace(t.app, 'mcp-sessions-b');
  });
  afterAll(async () => {
    for (const c of clients) await c.client.close();
    await t?.close();
  });

  it('lists, reads with spend, and ends a session with clean-up, audited; isolated per workspace', async () => {
    const dev = a.tokens.developer.token;
    const opened = await api(t.app, 'POST', '/v1/sessions', { token: dev, body: { agent_type: 'claude-code', name: 'fix the build' } });
    expect(opened.status).toBe(201);
    const id: string = opened.body.id;
    const sandbox = await api(t.app, 'POST', '/v1/sandboxes', { token: dev, body: { image: 'orcaops/busybox', session_id: id } });
    expect([sandbox.status, sandbox.body.error]).toEqual([201, undefined]);

    const agent = await client(dev);
    const listed = await call(agent, 'list_sessions', { status: 'open' });
    expect(listed.isError).toBeFalsy();
    expect(listed.structuredContent.items).toEqual([expect.objectContaining({ id, agent_type: 'claude-code', name: 'fix the build', status: 'open' })]);

    const got = await call(agent, 'get_session', { session_id: id });
    expect(got.isError).toBeFalsy();
    expect(got.structuredContent.session.sandboxes).toEqual([expect.objectContaining({ id: sandbox.body.id })]);
    expect(got.structuredContent.session.spend).toMatchObject({ sandbox_count: 1 });

    // Another workspace: nothing listed, the id answers like a missing one, ending it is refused the same way.
    const other = await client(b.tokens.developer.token);
    expect((await call(other, 'list_sessions', {})).structuredContent.items).toEqual([]);
    const foreign = await call(other, 'get_session', { session_id: id });
    const missing = await call(other, 'get_session', { session_id: '00000000-0000-4000-8000-000000000000' });
    expect(foreign.isError).toBe(true);
    expect(foreign.content[0]!.text.replaceAll(id, 'ID')).toBe(missing.content[0]!.text.replaceAll('00000000-0000-4000-8000-000000000000', 'ID'));
    expect((await call(other, 'end_session', { session_id: id })).isError).toBe(true);

    // A viewer reads but may not end.
    const viewer = await client(a.tokens.viewer.token);
    expect((await call(viewer, 'get_session', { session_id: id })).isError).toBeFalsy();
    const refused = await call(viewer, 'end_session', { session_id: id });
    expect(refused.isError).toBe(true);
    expect(refused.content[0]!.text).toContain('forbidden');

    const ended = await call(agent, 'end_session', { session_id: id, cleanup: true });
    expect(ended.isError).toBeFalsy();
    expect(ended.structuredContent.session).toMatchObject({ id, status: 'ended', end_reason: 'ended', cleanup: { sandboxes_stopped: 1 } });
    const after = await api(t.app, 'GET', `/v1/sandboxes/${sandbox.body.id}`, { token: dev });
    expect(after.body).toMatchObject({ status: 'expired', exit_reason: 'session_ended' });
    const rows = await sql<{ action: string; via: string }>(t.databaseUrl, "SELECT action, via FROM audit_events WHERE action = 'session.end' AND resource_id = $1", [id]);
    expect(rows).toEqual([{ action: 'session.end', via: 'mcp' }]);
  });
});
