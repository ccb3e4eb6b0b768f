import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { runCli } from '../support/cli';
import { removeInstallationContainers } from '../support/docker';
import { seedWorkspace } from '../support/tenants';

/** The CLI as a REST client of a real server, jobs on the real engine. */
describe('orcaops run / jobs (CLI → REST → Docker)', () => {
  let t: TestApp;
  let env: Record<string, string>;
  let viewerEnv: Record<string, string>;
  let dir: string;

  beforeAll(async () => {
    t = await createTestApp();
    await t.app.listen(0, '127.0.0.1');
    const url = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    const ws = await seedWorkspace(t.app, 'cli');
    dir = mkdtempSync(join(tmpdir(), 'orcaops-cli-'));
    env = { ORCAOPS_URL: url, ORCAOPS_TOKEN: ws.tokens.developer.token, ORCAOPS_HOME: dir };
    viewerEnv = { ...env, ORCAOPS_TOKEN: ws.tokens.viewer.token };
  });
  afterAll(async () => {
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('streams stdout and stderr live and exits with the job’s exit code', async () => {
    const run = await runCli(['run', 'orcaops/busybox', '--', 'sh', '-c', 'echo to-out; echo to-err >&2; exit 5'], env);
    expect(run.stdout).toBe('to-out\n');
    expect(run.stderr).toContain('to-err');
    expect(run.stderr).toMatch(/job [0-9a-f-]+ failed \(step_failed/);
    expect(run.exitCode).toBe(5);
  });

  it('passes env, limits and artifacts, and downloads an artifact', async () => {
    const run = await runCli(
      ['--json', 'run', 'orcaops/busybox', '-e', 'GREETING=hi', '--memory', '64m', '--timeout', '30', '-a', 'out.txt', '--', 'sh', '-c', 'echo "$GREETING" > out.txt'],
      env,
    );
    expect(run.exitCode).toBe(0);
    const job = JSON.parse(run.stdout);
    expect(job).toMatchObject({ status: 'succeeded', resources: { memory_mb: 64 }, timeout_seconds: 30, env_keys: ['GREETING'] });
    const target = join(dir, 'out.txt');
    const download = await runCli(['jobs', 'download', job.id, 'out.txt', '-o', target], env);
    expect(download.exitCode).toBe(0);
    expect(readFileSync(target, 'utf8')).toBe('hi\n');
  });

  it('maps a timeout to exit code 124 and --detach prints the id at once', async () => {
    const timedOut = await runCli(['run', '--timeout', '1', 'orcaops/busybox', '--', 'sleep', '30'], env);
    expect(timedOut.exitCode).toBe(124);
    const detached = await runCli(['run', '-d', 'orcaops/busybox', '--', 'echo', 'later'], env);
    expect(detached.stdout.trim()).toMatch(/^[0-9a-f-]{36}$/);
    const id = detached.stdout.trim();
    const waited = await runCli(['--json', 'jobs', 'wait', id], env);
    expect(JSON.parse(waited.stdout).status).toBe('succeeded');
    const logs = await runCli(['jobs', 'logs', id], env);
    expect(logs.stdout).toBe('later\n');
    const list = await runCli(['--json', 'jobs', 'list', '--status', 'succeeded'], env);
    expect(JSON.parse(list.stdout).items.map((j: any) => j.id)).toContain(id);
  });

  it('runs a job from a YAML spec file, flags overriding it', async () => {
    const spec = join(dir, 'job.yaml');
    writeFileSync(
      spec,
      ['image: orcaops/busybox', 'steps:', '  - name: hello', '    command: echo "spec says $WHO"', 'env:', '  WHO: yaml', 'tags: [from-spec]'].join('\n'),
    );
    const run = await runCli(['--json', 'run', '--spec', spec, '-e', 'WHO=flag'], env);
    expect(run.exitCode).toBe(0);
    const job = JSON.parse(run.stdout);
    expect(job).toMatchObject({ status: 'succeeded', tags: ['from-spec'] });
    const logs = await runCli(['jobs', 'logs', job.id], env);
    expect(logs.stdout).toBe('spec says flag\n');
  });

  it('reports API errors with the error shape and a meaningful exit code', async () => {
    const denied = await runCli(['--json', 'run', 'orcaops/busybox', '--', 'true'], viewerEnv);
    expect(JSON.parse(denied.stdout).error.code).toBe('forbidden');
    expect(denied.exitCode).toBe(4);
    const missing = await runCli(['jobs', 'get', '00000000-0000-4000-8000-000000000000'], env);
    expect(missing.stderr).toContain('was not found');
    expect(missing.exitCode).toBe(5);
  });
});
