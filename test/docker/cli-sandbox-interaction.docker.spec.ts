import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
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

  it('files put / get stream a binary file larger than the 16 MiB JSON limit through the raw routes', async () => {
    const local = join(dir, 'big.bin');
    const data = randomBytes(20 * 1024 * 1024 + 13);
    const sha = createHash('sha256').update(data).digest('hex');
    writeFileSync(local, data);
    const put = await runCli(['sandbox', 'files', 'put', sbx, local, 'big/blob.bin'], env);
    expect(put.exitCode).toBe(0);
    expect(put.stderr).toMatch(/uploading .*20\.0 MiB of 20\.0 MiB \(100%\)/);
    const inside = await runCli(['--json', 'sandbox', 'exec', sbx, '--', 'sha256sum big/blob.bin'], env);
    expect(JSON.parse(inside.stdout).stdout).toContain(sha);
    const back = join(dir, 'big-back.bin');
    const get = await runCli(['sandbox', 'files', 'get', sbx, '/workspace/big/blob.bin', back], env);
    expect(get.exitCode).toBe(0);
    expect(get.stderr).toMatch(/downloading .*20\.0 MiB of 20\.0 MiB \(100%\)/);
    expect(createHash('sha256').update(readFileSync(back)).digest('hex')).toBe(sha);
    // --json: only the result on stdout, no progress.
    const quiet = await runCli(['--json', 'sandbox', 'files', 'get', sbx, 'big/blob.bin', back], env);
    expect(JSON.parse(quiet.stdout)).toEqual({ path: 'big/blob.bin', local: back, size: data.length });
    expect(quiet.stderr).toBe('');
    const putJson = await runCli(['--json', 'sandbox', 'files', 'put', sbx, local, 'again.bin'], env);
    expect(JSON.parse(putJson.stdout)).toMatchObject({ path: '/workspace/again.bin', size: data.length });
    expect(putJson.stderr).toBe('');
    await runCli(['sandbox', 'files', 'rm', sbx, 'again.bin'], env);
  });
});
