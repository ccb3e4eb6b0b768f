import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packEntries } from 'src/common/hostile-tar';
import { WorkflowSourcesService } from 'src/workflows/sources/workflow-sources.service';
import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { runCli } from '../support/cli';
import { removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import { seedWorkspace } from '../support/tenants';
import { instancesOf, removeWorkflowLeftovers, submitWorkflow, waitForRun, workflowLeftovers } from '../support/workflows';

jest.setTimeout(180_000);

/** Artifacts between workflow jobs and the checkout of an uploaded source, on the real engine. */
describe('workflow artifacts and checkout', () => {
  let t: TestApp;
  let dev: string;
  let otherDev: string;
  let env: Record<string, string>;
  let home: string;

  beforeAll(async () => {
    t = await createTestApp();
    await t.app.listen(0, '127.0.0.1');
    const url = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    dev = (await seedWorkspace(t.app, 'wf-art')).tokens.developer.token;
    otherDev = (await seedWorkspace(t.app, 'wf-art-other')).tokens.developer.token;
    home = mkdtempSync(join(tmpdir(), 'orcaops-wf-art-'));
    env = { ORCAOPS_URL: url, ORCAOPS_TOKEN: dev, ORCAOPS_HOME: home };
  });

  afterAll(async () => {
    await removeWorkflowLeftovers(t.databaseUrl);
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
    rmSync(home, { recursive: true, force: true });
  });

  async function runToEnd(yaml: string, extra: Record<string, unknown> = {}, token = dev): Promise<any> {
    const submitted = await submitWorkflow(t.app, token, yaml, extra);
    const run = await waitForRun(t.app, token, submitted.id);
    expect(await workflowLeftovers(run.id)).toEqual({ containers: [], networks: [], volumes: [] });
    return run;
  }

  async function logsOf(runId: string, instance: string): Promise<string> {
    const res = await api(t.app, 'GET', `/v1/workflows/${runId}/logs?instance=${encodeURIComponent(instance)}`, { token: dev });
    return res.body.items.map((c: any) => c.data).join('');
  }

  async function uploadSource(tar: Buffer, token = dev): Promise<{ status: number; body: any }> {
    const res = await t.app.inject({ method: 'POST', url: '/v1/workflows/sources', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-tar' }, payload: tar });
    return { status: res.statusCode, body: JSON.parse(res.body) };
  }

  it('upload-artifact → download-artifact: named, rooted as on GitHub, owned by the job user; download-all puts each under its name', async () => {
    const yaml = `
jobs:
  build:
    image: orcaops/busybox
    steps:
      - run: mkdir -p out/sub && echo alpha > out/a.txt && echo beta > out/sub/b.txt && echo other > notes.txt
      - uses: actions/upload-artifact@v4
        with:
          name: bundle
          path: out/
      - uses: actions/upload-artifact@v4
        with:
          path: notes.txt
  use:
    needs: build
    image: orcaops/busybox
    outputs:
      got: \${{ steps.read.outputs.got }}
      all: \${{ steps.read.outputs.all }}
    steps:
      - uses: actions/download-artifact@v4
        with:
          name: bundle
          path: got
      - uses: actions/download-artifact@v4
        with:
          path: all
      - id: read
        run: |
          test "$(stat -c %u got/a.txt)" = "$(id -u)"
          echo more >> got/a.txt
          echo "got=$(cat got/a.txt got/sub/b.txt | tr '\\n' ,)" >> "$GITHUB_OUTPUT"
          echo "all=$(cat all/bundle/a.txt all/artifact/notes.txt | tr '\\n' ,)" >> "$GITHUB_OUTPUT"
`;
    const run = await runToEnd(yaml);
    const byName = instancesOf(run);
    expect(run.conclusion).toBe('success');
    expect(byName.use.outputs).toEqual({ got: 'alpha,more,beta,', all: 'alpha,other,' });
    const listed = await api(t.app, 'GET', `/v1/workflows/${run.id}/artifacts`, { token: dev });
    const build = listed.body.items.find((i: any) => i.display_name === 'build');
    expect(build.named).toEqual({ bundle: ['out/a.txt', 'out/sub/b.txt'], artifact: ['notes.txt'] });
    expect(build.artifacts.map((a: any) => a.name).sort()).toEqual(['notes.txt', 'out/a.txt', 'out/sub/b.txt']);
  });

  it('native artifacts/download: matrix producers merge in matrix order before the first step; when: failure is honoured', async () => {
    const yaml = `
jobs:
  build:
    image: orcaops/busybox
    strategy:
      matrix:
        n: [1, 2, 3]
    steps:
      - run: mkdir -p dist && echo "\${{ matrix.n }}" > dist/common.txt && echo x > "dist/only-\${{ matrix.n }}.txt"
    artifacts:
      - name: dist
        path: dist/*.txt
      - name: crash
        path: dist/common.txt
        when: failure
  consume:
    needs: build
    image: orcaops/busybox
    download: [build/dist]
    outputs:
      seen: \${{ steps.look.outputs.seen }}
    steps:
      - id: look
        run: echo "seen=$(cat dist/common.txt):$(ls dist | tr '\\n' ' ')" >> "$GITHUB_OUTPUT"
`;
    const run = await runToEnd(yaml);
    expect(run.conclusion).toBe('success');
    expect(instancesOf(run).consume.outputs.seen).toBe('3:common.txt only-1.txt only-2.txt only-3.txt ');
    const listed = await api(t.app, 'GET', `/v1/workflows/${run.id}/artifacts`, { token: dev });
    for (const item of listed.body.items.filter((i: any) => i.display_name.startsWith('build'))) expect(Object.keys(item.named)).toEqual(['dist']);
  });

  it('a missing artifact fails the consuming step with a clear message; if-no-files: error fails the producer', async () => {
    const yaml = `
jobs:
  build:
    image: orcaops/busybox
    steps:
      - run: echo nothing to see
    artifacts:
      - name: report
        path: report.xml
        if-no-files: error
  pick:
    needs: build
    if: always()
    image: orcaops/busybox
    steps:
      - uses: actions/download-artifact@v4
        with:
          name: nope
      - run: echo should not run
`;
    const run = await runToEnd(yaml);
    const byName = instancesOf(run);
    expect(run.conclusion).toBe('failure');
    expect(byName.build.status).toBe('failed');
    expect(byName.build.notes.join('\n')).toContain("No files were found with the provided path: report.xml");
    expect(byName.pick.status).toBe('failed');
    expect(byName.pick.notes.join('\n')).toContain("Artifact 'nope' not found: the jobs this job needs did not upload it (none uploaded any)");
    expect(await logsOf(run.id, 'pick')).toContain("Artifact 'nope' not found");
  });

  it('refuses a symlink in an upload: the regular files arrive, the link never does', async () => {
    const yaml = `
jobs:
  build:
    image: orcaops/busybox
    steps:
      - run: mkdir -p out && echo safe > out/ok.txt && ln -s /etc/passwd out/link
      - uses: actions/upload-artifact@v4
        with:
          name: mixed
          path: out
  use:
    needs: build
    image: orcaops/busybox
    steps:
      - uses: actions/download-artifact@v4
        with:
          name: mixed
      - run: test "$(cat ok.txt)" = safe && test ! -e link && test ! -L link && echo link-absent
`;
    const run = await runToEnd(yaml);
    expect(run.conclusion).toBe('success');
    expect(await logsOf(run.id, 'build')).toMatch(/artifact refused: out\/link \(not a regular file \(symlink\)\)/);
    expect(await logsOf(run.id, 'use')).toContain('link-absent');
  });

  it('rejects download: from a job that is not a direct need, with file:line:column', async () => {
    const yaml = `jobs:
  a:
    image: orcaops/busybox
    steps: [{run: 'true'}]
  b:
    needs: a
    image: orcaops/busybox
    steps: [{run: 'true'}]
  c:
    needs: b
    image: orcaops/busybox
    download: [a/dist]
    steps: [{run: 'true'}]
`;
    const res = await api(t.app, 'POST', '/v1/workflows', { token: dev, body: { yaml, file: 'dl.yml' } });
    expect(res.status).toBe(400);
    expect(res.body.error.details.diagnostics).toEqual([expect.objectContaining({ line: 12, text: expect.stringMatching(/^dl\.yml:12:\d+: Job 'c' downloads from 'a', which is not one of its needs$/) })]);
  });

  it('checks out an uploaded source (REST); another workspace cannot use it; hostile tars are refused', async () => {
    const tar = await packEntries([
      { name: 'src', type: 'directory', mode: 0o755, mtime: new Date() },
      { name: 'src/hello.txt', type: 'file', mode: 0o644, mtime: new Date(), data: Buffer.from('hello from the source\n') },
    ]);
    const uploaded = await uploadSource(tar);
    expect(uploaded.status).toBe(201);
    expect(uploaded.body).toMatchObject({ source_id: expect.any(String), size_bytes: tar.length, files: 1, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });

    const yaml = `
jobs:
  read:
    image: orcaops/busybox
    steps:
      - uses: actions/checkout@v4
      - uses: actions/checkout@v4
        with:
          path: second
      - run: cat src/hello.txt && cat second/src/hello.txt && echo more >> src/hello.txt
`;
    const run = await runToEnd(yaml, { source_id: uploaded.body.source_id });
    expect(run.conclusion).toBe('success');
    expect((await logsOf(run.id, 'read')).match(/hello from the source/g)).toHaveLength(2);

    const foreign = await api(t.app, 'POST', '/v1/workflows', { token: otherDev, body: { yaml, source_id: uploaded.body.source_id } });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('not_found');

    const { pack } = await import('tar-stream');
    const hostile = await new Promise<Buffer>((resolve) => {
      const p = pack();
      const parts: Buffer[] = [];
      p.on('data', (c: unknown) => parts.push(c as Buffer));
      p.on('end', () => resolve(Buffer.concat(parts)));
      p.entry({ name: 'ok.txt' }, 'fine');
      p.entry({ name: 'evil', type: 'symlink', linkname: '/etc/passwd' });
      p.entry({ name: '../escape.txt' }, 'x');
      p.finalize();
    });
    const refused = await uploadSource(hostile);
    expect(refused.status).toBe(400);
    expect(refused.body.error.details.rejected.map((r: any) => r.name).sort()).toEqual(['../escape.txt', 'evil']);

    // Retention: once past it (and no running run uses it) the source is gone; a new submit naming it is a 404.
    expect(await t.app.get(WorkflowSourcesService).removeExpired(Date.now() + 8 * 24 * 3_600_000)).toBeGreaterThanOrEqual(1);
    const expired = await api(t.app, 'POST', '/v1/workflows', { token: dev, body: { yaml, source_id: uploaded.body.source_id } });
    expect(expired.status).toBe(404);

    const none = await runToEnd('jobs:\n  a:\n    image: orcaops/busybox\n    steps:\n      - uses: actions/checkout@v4\n      - run: "true"\n');
    expect(none.conclusion).toBe('success');
    expect(instancesOf(none).a.notes.join('\n')).toContain('no source directory was given');
  });

  it('orcaops workflow run --source (and the .github/workflows default) sends the directory for actions/checkout', async () => {
    const repo = join(home, 'repo');
    mkdirSync(join(repo, '.github', 'workflows'), { recursive: true });
    mkdirSync(join(repo, 'node_modules', 'dep'), { recursive: true });
    writeFileSync(join(repo, 'data.txt'), 'repo data\n');
    writeFileSync(join(repo, 'node_modules', 'dep', 'index.js'), 'skipped');
    symlinkSync('/etc/passwd', join(repo, 'passwd-link'));
    const file = join(repo, '.github', 'workflows', 'ci.yml');
    writeFileSync(
      file,
      'jobs:\n  read:\n    image: orcaops/busybox\n    steps:\n      - uses: actions/checkout@v4\n      - run: cat data.txt && test ! -e node_modules && test ! -e passwd-link && test -f .github/workflows/ci.yml && echo checked-out\n',
    );
    const result = await runCli(['workflow', 'run', file, '--follow'], env);
    expect(result.stderr).toMatch(/source .*repo: 2 files/);
    expect(result.stderr).toContain('left out 1 symlink(s) or special file(s): passwd-link');
    expect(result.exitCode).toBe(0);
    const runId = /workflow run ([0-9a-f-]{36}) started/.exec(result.stderr)![1]!;
    expect(await logsOf(runId, 'read')).toContain('checked-out');
    expect(await workflowLeftovers(runId)).toEqual({ containers: [], networks: [], volumes: [] });

    const elsewhere = join(home, 'plain.yml');
    writeFileSync(elsewhere, 'jobs:\n  read:\n    image: orcaops/busybox\n    steps:\n      - uses: actions/checkout@v4\n      - run: cat data.txt\n');
    const explicit = await runCli(['--json', 'workflow', 'run', elsewhere, '--source', repo, '--follow'], env);
    expect(explicit.stderr).toBe('');
    expect(JSON.parse(explicit.stdout)).toMatchObject({ conclusion: 'success' });
    const without = await runCli(['--json', 'workflow', 'run', file, '--no-source', '--follow'], env);
    expect(JSON.parse(without.stdout)).toMatchObject({ conclusion: 'failure' });
  });
});
