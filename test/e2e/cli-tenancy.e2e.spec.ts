import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { runCli } from '../support/cli';
import { api } from '../support/http';

/** The operator and tenancy CLI: `admin` boots the app context on the database; the rest is REST. */
describe('orcaops admin / workspaces / tokens (CLI)', () => {
  let t: TestApp;
  let url: string;

  beforeAll(async () => {
    t = await createTestApp();
    await t.app.listen(0, '127.0.0.1');
    url = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
  });
  afterAll(() => t.close());

  it('creates an organisation admin token on the database, then manages a workspace and its tokens over REST', async () => {
    const operatorEnv = { DATABASE_URL: t.databaseUrl, ORCAOPS_HOME: t.home, ORCAOPS_ENV: 'test' };
    const created = await runCli(['--json', 'admin', 'create-token', '--name', 'ops'], operatorEnv);
    expect(created.exitCode).toBe(0);
    const orgToken = JSON.parse(created.stdout).token as string;
    expect(orgToken).toMatch(/^orcaops_org_/);
    expect((await api(t.app, 'GET', '/v1/me', { token: orgToken })).body).toMatchObject({ kind: 'organisation' });

    const listed = await runCli(['--json', 'admin', 'list-tokens'], operatorEnv);
    expect(JSON.parse(listed.stdout).items.map((x: any) => x.name)).toContain('ops');

    const env = { ORCAOPS_URL: url, ORCAOPS_TOKEN: orgToken, ORCAOPS_HOME: t.home };
    const ws = JSON.parse((await runCli(['--json', 'workspaces', 'create', 'cli-team'], env)).stdout);
    expect(ws).toMatchObject({ name: 'cli-team', status: 'active' });
    const token = JSON.parse((await runCli(['--json', 'tokens', 'create', ws.id, 'bot', '--role', 'ci'], env)).stdout);
    expect(token.token).toMatch(/^orcaops_ws_/);
    const table = await runCli(['tokens', 'list', ws.id], env);
    expect(table.stdout).toContain('bot');
    expect(table.stdout).not.toContain(token.token);

    const me = await runCli(['--json', 'me'], { ...env, ORCAOPS_TOKEN: token.token });
    expect(JSON.parse(me.stdout)).toMatchObject({ kind: 'workspace', role: 'ci', workspace_id: ws.id });

    expect((await runCli(['--json', 'tokens', 'revoke', ws.id, token.id], env)).exitCode).toBe(0);
    const refused = await runCli(['--json', 'me'], { ...env, ORCAOPS_TOKEN: token.token });
    expect(JSON.parse(refused.stdout).error.code).toBe('unauthenticated');
    expect(refused.exitCode).toBe(3);

    const suspended = await runCli(['--json', 'workspaces', 'suspend', ws.id], env);
    expect(JSON.parse(suspended.stdout).status).toBe('suspended');
  });

  it('reports a missing token and an unreachable server clearly', async () => {
    const noToken = await runCli(['me'], { ORCAOPS_URL: url, ORCAOPS_TOKEN: '', ORCAOPS_HOME: t.home });
    expect(noToken.stderr).toMatch(/No token|Invalid/);
    const down = await runCli(['--json', 'me'], { ORCAOPS_URL: 'http://127.0.0.1:1', ORCAOPS_TOKEN: 'x', ORCAOPS_HOME: t.home });
    expect(JSON.parse(down.stdout).error.code).toBe('connection_failed');
    expect(down.exitCode).toBe(8);
  });
});
