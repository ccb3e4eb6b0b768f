import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { runCli } from '../support/cli';
import { removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import { seedWorkspace } from '../support/tenants';

/** `orcaops sandbox exec|shell|ps|files` as REST clients of a real server and engine. */
describe('orcaops sandbox exec / shell / ps / files (CLI → REST → Docker)', () => {
  let t: TestApp;
  let env: Record<string, string>;
  let dir: string;
  let sbx: string;

  beforeAll(async () => {
    t = await createTestApp();
    await t.app.listen(0, '127.0.0.1');
    const url = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    const ws = await seedWorkspace(t.app, 'cli-sbx');
    dir = mkdtempSync(join(tmpdir(), 'orcaops-cli-sbx-'));
    env = { ORCAOPS_URL: url, ORCAOPS_TOKEN: ws.tokens.developer.token, ORCAOPS_HOME: dir };
    const created = await api(t.app, 'POST', '/v1/sandboxes', { token: ws.tokens.developer.token, body: { image: 'orcaops/busybox' } });
    sbx = created.body.id;
  });
  afterAll(async () => {
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('exec streams output and exits with the exit code', async () => {
    const run = await runCli(['sandbox', 'exec', sbx, '--', 'sh', '-c', 'echo out; echo err >&2; exit 4'], env);
    expect(run.stdout).toBe('out\n');
    expect(run.stderr).toContain('err');
    expect(run.exitCode).toBe(4);
    const json = await runCli(['--json', 'sandbox', 'exec', sbx, '--', 'echo $HOME'], env);
    expect(JSON.parse(json.stdout)).toMatchObject({ exit_code: 0 });
  });

  it('shell runs lines from a non-TTY stdin with persistent state', async () => {
    const saved = Object.getOwnPropertyDescriptor(process, 'stdin')!;
    Object.defineProperty(process, 'stdin', { value: Readable.from(['cd /tmp\n', 'X=5\n', 'echo "$X in $(pwd)"\n', 'false\n']), configurable: true });
    try {
      const run = await runCli(['sandbox', 'shell', sbx], env);
      expect(run.stdout).toBe('5 in /tmp\n');
      expect(run.exitCode).toBe(1);
    } finally {
      Object.defineProperty(process, 'stdin', saved);
    }
  });

  it('files put / cat / ls / get / rm and ps', async () => {
    const local = join(dir, 'blob.bin');
    const data = randomBytes(64 * 1024);
    writeFileSync(local, data);
    expect((await runCli(['sandbox', 'files', 'put', sbx, local, 'blob.bin'], env)).exitCode).toBe(0);
    const back = join(dir, 'back.bin');
    expect((await runCli(['sandbox', 'files', 'get', sbx, '/workspace/blob.bin', back], env)).exitCode).toBe(0);
    expect(readFileSync(back).equals(data)).toBe(true);
    await runCli(['sandbox', 'exec', sbx, '--', 'echo hi > hi.txt'], env);
    expect((await runCli(['sandbox', 'files', 'cat', sbx, 'hi.txt'], env)).stdout).toBe('hi\n');
    const ls = await runCli(['--json', 'sandbox', 'files', 'ls', sbx], env);
    expect(JSON.parse(ls.stdout).items.map((i: any) => i.name).sort()).toEqual(['blob.bin', 'hi.txt']);
    expect((await runCli(['sandbox', 'files', 'rm', sbx, 'hi.txt'], env)).exitCode).toBe(0);
    const missing = await runCli(['sandbox', 'files', 'cat', sbx, 'hi.txt'], env);
    expect(missing.exitCode).toBe(5);
    const ps = await runCli(['--json', 'sandbox', 'ps', sbx], env);
    expect(JSON.parse(ps.stdout)).toEqual({ items: [] });
  });
});
