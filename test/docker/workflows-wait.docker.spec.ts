import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { runCli } from '../support/cli';
import { removeInstallationContainers } from '../support/docker';
import { comparableError, expectError } from '../support/errors';
import type { ApiResponse } from '../support/http';
import { api } from '../support/http';
import { sql } from '../support/sql';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';
import { instancesOf, removeWorkflowLeftovers, submitWorkflow, workflowLeftovers } from '../support/workflows';

jest.setTimeout(180_000);

const LONG_YAML = `name: long
jobs:
  long:
    image: orcaops/busybox
    steps:
      - run: echo started; sleep 300
`;

const TWO_JOBS_YAML = `name: two-jobs
jobs:
  build:
    image: orcaops/busybox
    outputs:
      version: \${{ steps.v.outputs.version }}
    steps:
      - id: v
        run: echo "version=1.2.3" >> "$GITHUB_OUTPUT"
  use:
    needs: build
    image: orcaops/busybox
    steps:
      - run: test "\${{ needs.build.outputs.version }}" = 1.2.3
`;

/** GET /v1/workflows/:id/wait (long-poll by version) and the CLI's --follow built on it. */
describe('waiting for workflow runs (real engine)', () => {
  let t: TestApp;
  let a: SeededWorkspace;
  let b: SeededWorkspace;
  let dev: string;
  let dir: string;
  let cliEnv: Record<string, string>;

  beforeAll(async () => {
    t = await createTestApp();
    await t.app.listen(0, '127.0.0.1');
    const url = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    a = await seedWorkspace(t.app, 'wf-wait-a');
    b = await seedWorkspace(t.app, 'wf-wait-b');
    dev = a.tokens.developer.token;
    dir = mkdtempSync(join(tmpdir(), 'orcaops-wf-wait-'));
    cliEnv = { ORCAOPS_URL: url, ORCAOPS_TOKEN: dev, ORCAOPS_HOME: dir };
  });
  afterAll(async () => {
    await removeWorkflowLeftovers(t.databaseUrl);
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const wait = (id: string, query: string, token = dev): Promise<ApiResponse> => api(t.app, 'GET', `/v1/workflows/${id}/wait?${query}`, { token });

  /** Waits for version after version until the run sleeps in its step and a short wait times out unchanged. */
  async function settleRunning(id: string): Promise<any> {
    let run = (await api(t.app, 'GET', `/v1/workflows/${id}`, { token: dev })).body;
    const until = Date.now() + 60_000;
    for (;;) {
      const res = await wait(id, `timeout_seconds=2&after=${run.version}`);
      expect(res.status).toBe(200);
      if (res.body.timed_out && typeof instancesOf(res.body).long?.job_id === 'string') return res.body;
      if (Date.now() > until) throw new Error(`run ${id} never settled: ${JSON.stringify(res.body)}`);
      run = res.body;
    }
  }

  it('returns at the next change after a version, the current state on timeout, and the run at its end', async () => {
    const submitted = await submitWorkflow(t.app, dev, LONG_YAML);
    expect(submitted.version).toMatch(/^[0-9a-f]{32}$/);

    // The first change after the submit's version (an instance queued, then running) ends the wait early.
    const changed = await wait(submitted.id, `timeout_seconds=30&after=${submitted.version}`);
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ id: submitted.id, status: 'running', terminal: false, timed_out: false });
    expect(changed.body.version).not.toBe(submitted.version);

    // Unchanged for the whole timeout: the current state comes back, flagged as timed out.
    const quiet = await settleRunning(submitted.id);
    const started = Date.now();
    const timedOut = await wait(submitted.id, `timeout_seconds=1&after=${quiet.version}`, a.tokens.viewer.token);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(timedOut.body).toMatchObject({ status: 'running', terminal: false, timed_out: true, version: quiet.version });
    expect(instancesOf(timedOut.body).long).toMatchObject({ status: 'running' });

    // A change no local signal announces (another server's write) is still noticed by the bounded re-read.
    const remote = wait(submitted.id, `timeout_seconds=30&after=${quiet.version}`);
    // Let the wait read the unchanged run first, so the change lands while it waits.
    await new Promise((r) => setTimeout(r, 300));
    await sql(t.databaseUrl, "UPDATE workflow_runs SET warnings = array_append(warnings, 'changed elsewhere') WHERE id = $1", [submitted.id]);
    const noticed = await remote;
    expect(noticed.body).toMatchObject({ timed_out: false, terminal: false, warnings: ['changed elsewhere'] });

    // Without `after` the wait lasts until the run completes.
    const ending = wait(submitted.id, 'timeout_seconds=60');
    expect((await api(t.app, 'POST', `/v1/workflows/${submitted.id}/cancel`, { token: dev })).status).toBe(200);
    const ended = await ending;
    expect(ended.body).toMatchObject({ status: 'completed', conclusion: 'cancelled', terminal: true, timed_out: false });
    expect(await workflowLeftovers(submitted.id)).toEqual({ containers: [], networks: [], volumes: [] });

    // A completed run answers at once, whatever the version.
    const t0 = Date.now();
    const done = await wait(submitted.id, `timeout_seconds=30&after=${ended.body.version}`);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(done.body).toMatchObject({ terminal: true, timed_out: false, version: ended.body.version });
    const got = await api(t.app, 'GET', `/v1/workflows/${submitted.id}`, { token: dev });
    const { terminal: _terminal, timed_out: _timedOut, ...sameAsGet } = done.body;
    expect(sameAsGet).toEqual(got.body);
  });

  it('validates the query and answers another workspace with the same 404 as a missing run', async () => {
    const run = await submitWorkflow(t.app, dev, TWO_JOBS_YAML);
    expectError(await wait(run.id, 'timeout_seconds=5&follow=true'), 400, 'validation_failed');
    expectError(await wait(run.id, 'timeout_seconds=61'), 400, 'validation_failed');
    expectError(await wait(run.id, 'timeout_seconds=0'), 400, 'validation_failed');
    expectError(await wait(run.id, 'after=not-a-version'), 400, 'validation_failed');

    const missing = '00000000-0000-4000-8000-000000000000';
    const foreign = await wait(run.id, 'timeout_seconds=1', b.tokens.developer.token);
    const absent = await wait(missing, 'timeout_seconds=1', b.tokens.developer.token);
    expectError(foreign, 404, 'not_found');
    expect(comparableError(foreign, { ':id': run.id })).toEqual(comparableError(absent, { ':id': missing }));
    const ended = await wait(run.id, 'timeout_seconds=60');
    expect(ended.body).toMatchObject({ terminal: true, conclusion: 'success' });
  });

  it('orcaops workflow run --follow long-polls the wait endpoint and draws the live tree; get --follow too', async () => {
    const file = join(dir, 'two-jobs.yml');
    writeFileSync(file, TWO_JOBS_YAML);
    const fetched: string[] = [];
    const realFetch = globalThis.fetch;
    const spy = jest.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
      fetched.push(`${init?.method ?? 'GET'} ${new URL(input instanceof Request ? input.url : String(input)).pathname}${new URL(input instanceof Request ? input.url : String(input)).search}`);
      return realFetch(input, init);
    });
    const tty = Object.getOwnPropertyDescriptor(process.stdout, 'isTTY');
    Object.defineProperty(process.stdout, 'isTTY', { value: true, configurable: true });
    let cli;
    try {
      cli = await runCli(['workflow', 'run', file, '--follow'], cliEnv);
    } finally {
      if (tty) Object.defineProperty(process.stdout, 'isTTY', tty);
      else delete (process.stdout as { isTTY?: boolean }).isTTY;
      spy.mockRestore();
    }
    expect(cli.exitCode).toBe(0);
    const id = /workflow run ([0-9a-f-]{36}) started/.exec(cli.stderr)?.[1];
    expect(id).toBeDefined();
    // The last tree drawn (after the final cursor-up/erase) shows the finished run.
    const lastTree = cli.stdout.split('\x1b[J').pop()!;
    expect(lastTree).toContain(`two-jobs  ✓ success  (${id})`);
    expect(lastTree).toContain('  ✓ build\n');
    expect(lastTree).toContain('  ✓ use\n');
    // One plain read, then only long-polls for the next version: no re-reading on an interval.
    const reads = fetched.filter((f) => f.startsWith(`GET /v1/workflows/${id}`));
    expect(reads[0]).toBe(`GET /v1/workflows/${id}`);
    expect(reads.slice(1).length).toBeGreaterThan(0);
    for (const r of reads.slice(1)) expect(r).toMatch(new RegExp(`^GET /v1/workflows/${id}/wait\\?timeout_seconds=30&after=[0-9a-f]{32}$`));

    const json = await runCli(['--json', 'workflow', 'get', id!, '--follow'], cliEnv);
    expect(json.exitCode).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ id, status: 'completed', conclusion: 'success' });
    const lines = await runCli(['workflow', 'get', id!, '--follow'], cliEnv);
    expect(lines.stdout).toContain('build: succeeded');
    expect(lines.stdout).toContain('workflow two-jobs: success');
  });
});
