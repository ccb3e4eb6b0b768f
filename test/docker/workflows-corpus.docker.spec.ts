import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { runCli } from '../support/cli';
import { removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import { describeWithCorpus, WORKFLOW_CORPUS as CORPUS } from '../support/shared-corpus';
import { seedWorkspace } from '../support/tenants';
import { instancesOf, removeWorkflowLeftovers, submitWorkflow, waitForRun, workflowLeftovers } from '../support/workflows';

jest.setTimeout(180_000);

/** Files from the shared corpus are used in place (never copied into the repository). */
describeWithCorpus('corpus workflows and the workflow CLI on the real engine', () => {
  let t: TestApp;
  let env: Record<string, string>;
  let dev: string;
  let dir: string;

  beforeAll(async () => {
    t = await createTestApp();
    await t.app.listen(0, '127.0.0.1');
    const url = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    dev = (await seedWorkspace(t.app, 'corpus')).tokens.developer.token;
    dir = mkdtempSync(join(tmpdir(), 'orcaops-wf-cli-'));
    env = { ORCAOPS_URL: url, ORCAOPS_TOKEN: dev, ORCAOPS_HOME: dir };
  });

  afterAll(async () => {
    await removeWorkflowLeftovers(t.databaseUrl);
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs timescaledb prerelease-sanity.yml unmodified with its custom runner label mapped (-P), following it from the CLI', async () => {
    const file = join(CORPUS, 'timescale__timescaledb__prerelease-sanity.yml');
    const cli = await runCli(['workflow', 'run', file, '-P', 'timescaledb-runner-arm64=orcaops/python', '--follow'], env);
    // No checkout of timescaledb here: the release checks fail at the first read of version.config.
    expect(cli.exitCode).toBe(1);
    expect(cli.stdout).toContain('Check the configuration: succeeded');
    expect(cli.stdout).toContain('Check Release Commit: failed');
    expect(cli.stdout).toContain('workflow Prerelease Sanity: failure');
    const id = /workflow run ([0-9a-f-]{36}) started/.exec(cli.stderr)?.[1];
    expect(id).toBeDefined();
    const run = JSON.parse((await runCli(['workflow', 'get', id!, '--json'], env)).stdout);
    const byName = instancesOf(run);
    expect(byName['Check the configuration']).toMatchObject({ image: 'orcaops/python', outputs: { should_run: 'true' } });
    const check = byName['Check Release Commit'];
    // checkout (no-op), the .unreleased check, then the version.config read that fails; the rest is skipped.
    expect(check.steps.map((s: any) => s.outcome)).toEqual(['success', 'success', 'failure', 'skipped', 'skipped', 'skipped', 'skipped', 'skipped']);
    const logs = await runCli(['workflow', 'logs', id!, 'Check Release Commit'], env);
    expect(logs.stderr + logs.stdout).toMatch(/version\.config: No such file/);
  });

  it('runs actions/example-services redis-service.yml with images mapped: a service that exits fails both jobs clearly', async () => {
    const yaml = readFileSync(join(CORPUS, 'actions__example-services__redis-service.yml'), 'utf8');
    const submitted = await submitWorkflow(t.app, dev, yaml, { file: 'redis-service.yml', images: { 'node:10.16-jessie': 'orcaops/python', redis: 'orcaops/busybox' } });
    const run = await waitForRun(t.app, dev, submitted.id);
    expect(run.conclusion).toBe('failure');
    for (const name of ['container-job', 'vm-job']) {
      const inst = instancesOf(run)[name];
      expect(inst).toMatchObject({ status: 'failed', reason: 'infra_error' });
      expect(inst.message).toMatch(/^Service 'redis' \(orcaops\/busybox\) exited/);
    }
    expect(run.warnings.join('\n')).toMatch(/redis-service\.yml:\d+:\d+: warning/);
    expect(await workflowLeftovers(run.id)).toEqual({ containers: [], networks: [], volumes: [] });
  });

  it('plans node-postgres ci.yml (anchors, include-only matrix) to 11 instances with --dry-run --json', async () => {
    const cli = await runCli(['workflow', 'run', join(CORPUS, 'brianc__node-postgres__ci.yml'), '--dry-run', '--skip-unsupported', '--json'], env);
    expect(cli.exitCode).toBe(0);
    const plan = JSON.parse(cli.stdout);
    // The README's 11 matrix instances, plus the single lint job.
    expect(plan.jobs.map((j: any) => j.instances.length).sort((a: number, b: number) => a - b)).toEqual([1, 11]);
    expect(plan.static_instance_count).toBe(12);
    expect((await api(t.app, 'GET', '/v1/workflows', { token: dev })).status).toBe(200);
  });

  it('lists runs and prints validation errors with file:line:column', async () => {
    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, 'jobs:\n  deploy:\n    needs: buld\n    steps:\n      - run: echo\n  build:\n    steps:\n      - run: echo\n');
    const cli = await runCli(['workflow', 'run', bad], env);
    expect(cli.exitCode).not.toBe(0);
    expect(cli.stderr).toMatch(/bad\.yml:3:\d+/);
    const list = await runCli(['workflow', 'list'], env);
    expect(list.stdout).toContain('Prerelease Sanity');
  });
});
