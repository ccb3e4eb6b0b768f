import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestApp } from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { runCli } from '../support/cli';
import { api } from '../support/http';
import { seedWorkspace } from '../support/tenants';

/** The workflow source quotas through the CLI front end: `workflow run --source` is refused (exit 7) and `usage` shows them. */
describe('workflow source quotas through the CLI', () => {
  let t: TestApp;
  let dir: string;

  beforeAll(async () => {
    t = await createTestApp();
    dir = mkdtempSync(join(tmpdir(), 'orcaops-source-quota-'));
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src', 'hello.txt'), 'hello\n');
    writeFileSync(join(dir, 'wf.yml'), 'jobs:\n  a:\n    image: orcaops/busybox\n    steps: [{uses: actions/checkout@v4}, {run: cat src/hello.txt}]\n');
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t.close();
  });

  it('refuses the upload over workflow_sources with exit 7 naming the quota, and shows the quotas in usage', async () => {
    const ws = await seedWorkspace(t.app, 'source-quota');
    const set = await api(t.app, 'PUT', `/v1/workspaces/${ws.id}/quotas`, { token: TEST_ADMIN_TOKEN, body: { limits: { workflow_sources: 1 } } });
    expect(set.status).toBe(200);
    await t.app.listen(0, '127.0.0.1');
    const url = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    const env = { ORCAOPS_URL: url, ORCAOPS_TOKEN: ws.tokens.developer.token, ORCAOPS_HOME: t.home };
    const tar = Buffer.alloc(1024); // an empty tar: two zero blocks
    const first = await t.app.inject({ method: 'POST', url: '/v1/workflows/sources', headers: { authorization: `Bearer ${ws.tokens.developer.token}`, 'content-type': 'application/x-tar' }, payload: tar });
    expect(first.statusCode).toBe(201);

    const refused = await runCli(['--json', 'workflow', 'run', join(dir, 'wf.yml'), '--source', dir], env);
    expect(refused.exitCode).toBe(7);
    expect(JSON.parse(refused.stdout).error).toMatchObject({ code: 'quota_exceeded', details: { quota: 'workflow_sources', limit: 1, current: 1 } });

    const table = await runCli(['usage'], env);
    expect(table.stdout).toMatch(/workflow_sources\s+1\s+1\s+0\s+-/);
    expect(table.stdout).toMatch(/workflow_source_bytes\s+1.0 kB\s+1.1 GB/);
    expect(table.stdout).toMatch(/workflow_service_containers\s+0\s+8\s+8\s+-/);
  });
});
