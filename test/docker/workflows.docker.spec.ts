import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import { seedWorkspace } from '../support/tenants';
import { instancesOf, removeWorkflowLeftovers, submitWorkflow, waitForRun, workflowLeftovers } from '../support/workflows';

jest.setTimeout(180_000);

describe('workflows on the real engine', () => {
  let t: TestApp;
  let dev: string;

  beforeAll(async () => {
    t = await createTestApp();
    dev = (await seedWorkspace(t.app, 'wf')).tokens.developer.token;
  });

  afterAll(async () => {
    await removeWorkflowLeftovers(t.databaseUrl);
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
  });

  it('runs a diamond DAG: a failing branch skips its dependents, an always() job still runs, outputs flow', async () => {
    const yaml = `
name: diamond
jobs:
  build:
    image: orcaops/busybox
    outputs:
      version: \${{ steps.v.outputs.version }}
      notes: \${{ steps.v.outputs.notes }}
    artifacts:
      - name: dist
        path: out.txt
    steps:
      - run: echo built > out.txt
      - id: v
        run: |
          echo "version=1.2.3" >> "$GITHUB_OUTPUT"
          printf 'notes<<EOF\\nline one\\nline two\\nEOF\\n' >> "$GITHUB_OUTPUT"
          echo "FROM_ENV=hello" >> "$GITHUB_ENV"
      - run: test "$FROM_ENV" = hello
  ok:
    needs: build
    image: orcaops/busybox
    steps:
      - run: test "\${{ needs.build.outputs.version }}" = 1.2.3 && echo "got \${{ needs.build.outputs.version }}"
  broken:
    needs: build
    image: orcaops/busybox
    steps:
      - run: echo about to fail; exit 3
      - if: always()
        run: echo cleanup ran
  deploy:
    needs: [ok, broken]
    image: orcaops/busybox
    steps:
      - run: echo should not run
  report:
    needs: [ok, broken]
    if: always()
    image: orcaops/busybox
    steps:
      - run: echo "ok=\${{ needs.ok.result }} broken=\${{ needs.broken.result }}"
`;
    const submitted = await submitWorkflow(t.app, dev, yaml);
    const run = await waitForRun(t.app, dev, submitted.id);
    const byName = instancesOf(run);
    expect(run.conclusion).toBe('failure');
    expect(byName.build).toMatchObject({ status: 'succeeded', outputs: { version: '1.2.3', notes: 'line one\nline two' } });
    expect(byName.ok.status).toBe('succeeded');
    expect(byName.broken).toMatchObject({ status: 'failed', conclusion: 'failure' });
    expect(byName.report.status).toBe('succeeded');
    expect(run.jobs.find((j: any) => j.id === 'deploy')).toMatchObject({ phase: 'skipped', result: 'skipped', instances: [] });
    const logs = await api(t.app, 'GET', `/v1/workflows/${run.id}/logs?instance=report`, { token: dev });
    expect(logs.body.items.map((c: any) => c.data).join('')).toContain('ok=success broken=failure');
    const broken = await api(t.app, 'GET', `/v1/workflows/${run.id}/logs?instance=broken`, { token: dev });
    expect(broken.body.items.map((c: any) => c.data).join('')).toContain('cleanup ran');
    const artifacts = await api(t.app, 'GET', `/v1/workflows/${run.id}/artifacts`, { token: dev });
    expect(artifacts.body.items).toEqual([expect.objectContaining({ instance: 'build', artifacts: [expect.objectContaining({ name: 'out.txt' })] })]);
    expect(await workflowLeftovers(run.id)).toEqual({ containers: [], networks: [], volumes: [] });
  });

  it('rejects an invalid workflow with every diagnostic at file:line:column', async () => {
    const res = await api(t.app, 'POST', '/v1/workflows', {
      token: dev,
      body: { file: 'bad.yml', yaml: 'jobs:\n  a:\n    needs: buld\n    steps:\n      - run: echo\n  build:\n    if: ${{ (( }}\n    steps:\n      - run: echo\n' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    const texts = res.body.error.details.diagnostics.map((d: any) => d.text);
    expect(texts.length).toBeGreaterThanOrEqual(2);
    expect(texts.join('\n')).toMatch(/bad\.yml:3:\d+: .*buld/);
  });

  it('fail-fast cancels the queued instances of a matrix once one fails', async () => {
    const yaml = `
jobs:
  test:
    image: orcaops/busybox
    strategy:
      max-parallel: 1
      matrix:
        n: [1, 2, 3]
    steps:
      - run: test \${{ matrix.n }} != 1
`;
    const run = await waitForRun(t.app, dev, (await submitWorkflow(t.app, dev, yaml)).id);
    const byName = instancesOf(run);
    expect(run.conclusion).toBe('failure');
    expect(byName['test (1)']).toMatchObject({ status: 'failed' });
    expect(byName['test (2)']).toMatchObject({ status: 'cancelled', reason: 'fail_fast', job_id: null });
    expect(byName['test (3)']).toMatchObject({ status: 'cancelled', reason: 'fail_fast', job_id: null });
    expect(run.jobs[0].result).toBe('failure');
  });

  it('starts services with health checks: by service name in container jobs, on localhost in runner-style jobs', async () => {
    const service = `
      pong:
        image: orcaops/busybox
        command: while true; do nc -l -p 8080 -e echo pong; done
        options: >-
          --health-cmd "nc -w 1 127.0.0.1 8080 </dev/null"
          --health-interval 1s --health-timeout 2s --health-retries 20`;
    const yaml = `
jobs:
  container-job:
    container: orcaops/busybox
    services:${service}
    steps:
      # One connection at a time (the health check shares the nc loop): retry a refused or empty answer.
      - run: for i in $(seq 1 50); do [ "$(nc -w 2 pong 8080 </dev/null)" = pong ] && echo reached pong && exit 0; sleep 0.1; done; exit 1
  runner-job:
    runs-on: ubuntu-latest
    services:${service}
    steps:
      - shell: python
        run: |
          import socket, time
          def ask(host):
              # The service answers one connection at a time (an nc loop, also used by its health check):
              # a connect can be refused or reset while the loop restarts, so retry until it answers.
              for _ in range(100):
                  try:
                      answer = socket.create_connection((host, 8080), timeout=2).recv(10).decode().strip()
                      if answer:
                          return answer
                  except OSError:
                      pass
                  time.sleep(0.1)
          print('localhost', ask('localhost'))
          print('by name', ask('pong'))
`;
    const run = await waitForRun(t.app, dev, (await submitWorkflow(t.app, dev, yaml)).id);
    const byName = instancesOf(run);
    // Status and message together, so a failure says why.
    expect([byName['container-job'].status, byName['container-job'].message]).toEqual(['succeeded', null]);
    expect([byName['runner-job'].status, byName['runner-job'].message]).toEqual(['succeeded', null]);
    const logs = await api(t.app, 'GET', `/v1/workflows/${run.id}/logs?instance=runner-job`, { token: dev });
    expect(logs.body.items.map((c: any) => c.data).join('')).toContain('localhost pong');
    expect(await workflowLeftovers(run.id)).toEqual({ containers: [], networks: [], volumes: [] });
  });

  it('fails an instance whose service never gets ready, within readiness-timeout, with the service logs', async () => {
    const yaml = `
jobs:
  db-job:
    image: orcaops/busybox
    services:
      db:
        image: orcaops/busybox
        command: echo db is booting; sleep 600
        readiness-timeout: 3s
        options: --health-cmd false --health-interval 1s --health-start-period 60s
    steps:
      - run: echo never runs
`;
    const started = Date.now();
    const run = await waitForRun(t.app, dev, (await submitWorkflow(t.app, dev, yaml)).id);
    expect(Date.now() - started).toBeLessThan(60_000);
    const inst = instancesOf(run)['db-job'];
    expect(inst).toMatchObject({ status: 'failed', reason: 'infra_error', job_id: null });
    expect(inst.message).toMatch(/Service 'db' \(orcaops\/busybox\) did not become ready within 3s/);
    expect(inst.message).toContain('db is booting');
    expect(await workflowLeftovers(run.id)).toEqual({ containers: [], networks: [], volumes: [] });
  });

  it('cancel mid-run stops the job and its services and leaves no container or network', async () => {
    const yaml = `
jobs:
  long:
    image: orcaops/busybox
    services:
      side:
        image: orcaops/busybox
        command: sleep 600
    steps:
      - run: echo started; sleep 300
  after:
    needs: long
    image: orcaops/busybox
    steps:
      - run: echo never
`;
    const submitted = await submitWorkflow(t.app, dev, yaml);
    await waitForRun(t.app, dev, submitted.id, (r) => !!instancesOf(r).long?.job_id);
    const during = await workflowLeftovers(submitted.id);
    expect(during.networks).toHaveLength(1);
    const cancel = await api(t.app, 'POST', `/v1/workflows/${submitted.id}/cancel`, { token: dev });
    expect(cancel.status).toBe(200);
    const run = await waitForRun(t.app, dev, submitted.id);
    expect(run).toMatchObject({ conclusion: 'cancelled', cancelled_by: 'user' });
    expect(instancesOf(run).long).toMatchObject({ status: 'cancelled', reason: 'run_cancelled' });
    expect(run.jobs.find((j: any) => j.id === 'after').result).toBe('skipped');
    expect(await workflowLeftovers(submitted.id)).toEqual({ containers: [], networks: [], volumes: [] });
  });

  it('dry_run returns the plan without starting anything', async () => {
    const res = await api(t.app, 'POST', '/v1/workflows', {
      token: dev,
      body: { dry_run: true, yaml: 'jobs:\n  a:\n    strategy:\n      matrix:\n        v: [x, y]\n    image: orcaops/busybox\n    steps:\n      - run: echo\n  b:\n    needs: a\n    image: orcaops/busybox\n    steps:\n      - run: echo\n' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ dry_run: true, order: ['a', 'b'], static_instance_count: 3 });
    expect(res.body.jobs[0].instances.map((i: any) => i.display_name)).toEqual(['a (x)', 'a (y)']);
    expect((await api(t.app, 'GET', '/v1/workflows', { token: dev })).body.items.every((r: any) => r.name !== 'plan')).toBe(true);
  });

  it('enforces job timeout-minutes (failure, timed_out) and the workflow timeout (run cancelled)', async () => {
    const jobTimeout = await submitWorkflow(t.app, dev, 'jobs:\n  slow:\n    image: orcaops/busybox\n    timeout-minutes: 0.05\n    steps:\n      - run: sleep 60\n');
    const workflowTimeout = await submitWorkflow(t.app, dev, 'timeout: 4s\njobs:\n  slow:\n    image: orcaops/busybox\n    steps:\n      - run: sleep 60\n');
    const started = Date.now();
    const a = await waitForRun(t.app, dev, jobTimeout.id);
    const b = await waitForRun(t.app, dev, workflowTimeout.id);
    expect(Date.now() - started).toBeLessThan(45_000);
    expect(a.conclusion).toBe('failure');
    expect(instancesOf(a).slow).toMatchObject({ status: 'failed', reason: 'timed_out' });
    expect(b).toMatchObject({ conclusion: 'cancelled', cancelled_by: 'timeout' });
    expect(instancesOf(b).slow).toMatchObject({ status: 'cancelled', reason: 'run_timed_out' });
  });
});
