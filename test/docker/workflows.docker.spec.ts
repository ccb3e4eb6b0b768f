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
    steps:
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
    expect(await workflowLeftovers(run.id)).toEqual({ containers: [], networks: [] });
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
});
