/**
 * Workflow volumes on the real engine (docs/workflows.md, Services and container volumes): a named volume
 * exists once per instance and is shared by name between the job container (`container.volumes`) and
 * its services; anonymous ones are private; all are sized tmpfs volumes the job's non-root user can
 * write, `:ro` is enforced, host bind mounts are refused, and nothing is left after success, failure,
 * timeout or cancel.
 */
import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { docker, removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import { seedWorkspace } from '../support/tenants';
import { instancesOf, removeWorkflowLeftovers, submitWorkflow, waitForRun, workflowLeftovers } from '../support/workflows';

jest.setTimeout(240_000);

const NO_LEFTOVERS = { containers: [], networks: [], volumes: [] };

describe('workflow volumes on the real engine', () => {
  let t: TestApp;
  let dev: string;

  beforeAll(async () => {
    t = await createTestApp();
    dev = (await seedWorkspace(t.app, 'wf-volumes')).tokens.developer.token;
  });

  afterAll(async () => {
    await removeWorkflowLeftovers(t.databaseUrl);
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
  });

  async function run(yaml: string): Promise<any> {
    return waitForRun(t.app, dev, (await submitWorkflow(t.app, dev, yaml)).id);
  }

  it('shares a named volume between the job and its service both ways; the job user can write; :ro is enforced; anonymous volumes are private', async () => {
    const yaml = `
jobs:
  share:
    container:
      image: orcaops/busybox
      volumes: [shared:/data, seed:/seed:ro, /scratch]
    services:
      writer:
        image: orcaops/busybox
        # Writes at start (before it listens, so before it is ready), then serves what the job writes.
        command: "echo from-service > /out/hello; echo seeded > /seed/value; echo svc > /scratch/hello; while true; do nc -l -p 7070 -e cat /out/from-job; done"
        volumes: [shared:/out, seed:/seed, /scratch]
        ports: ["7070"]
    steps:
      - run: test "$(cat /data/hello)" = from-service
      - run: test "$(cat /seed/value)" = seeded
      - run: test "$(id -u)" = 65534 && test "$(stat -c %u:%g /data)" = 65534:65534 && echo written-by-job > /data/from-job
      - run: test "$(nc -w 2 writer 7070 </dev/null)" = written-by-job
      - run: if touch /seed/x 2>/tmp/err; then exit 1; fi; grep -i 'read-only' /tmp/err
      - run: test ! -e /scratch/hello && echo private > /scratch/mine && test "$(stat -c %u /scratch)" = 65534
  as-user:
    container:
      image: orcaops/busybox
      options: --user 1000:1000
      volumes: ["\${{ 'mine' }}:/mine"]
    steps:
      - run: test "$(id -u):$(id -g)" = 1000:1000 && test "$(stat -c %u:%g /mine)" = 1000:1000 && echo ok > /mine/f && test "$(cat /mine/f)" = ok
`;
    const result = await run(yaml);
    const byName = instancesOf(result);
    expect([byName.share.status, byName.share.message]).toEqual(['succeeded', null]);
    expect([byName['as-user'].status, byName['as-user'].message]).toEqual(['succeeded', null]);
    expect(JSON.stringify(result)).not.toContain('not mounted');
    expect(await workflowLeftovers(result.id)).toEqual(NO_LEFTOVERS);
  });

  it('labels the instance volumes while the job runs and removes them on cancel', async () => {
    const yaml = `
jobs:
  long:
    container:
      image: orcaops/busybox
      volumes: [shared:/data, /own]
    services:
      side:
        image: orcaops/busybox
        command: sleep 600
        volumes: [shared:/data]
    steps:
      - run: echo started > /data/marker; sleep 300
`;
    const submitted = await submitWorkflow(t.app, dev, yaml);
    await waitForRun(t.app, dev, submitted.id, (r) => !!instancesOf(r).long?.job_id);
    const volumes = (await docker.listVolumes({ filters: { label: [`orcaops.workflow_run=${submitted.id}`] } })).Volumes ?? [];
    // One instance: its volumes and containers (job and service) carry the same instance label.
    const instance = volumes[0]?.Labels?.['orcaops.workflow_instance'];
    expect(instance).toEqual(expect.any(String));
    const containers = await docker.listContainers({ all: true, filters: { label: [`orcaops.workflow_run=${submitted.id}`] } });
    expect(containers.map((c) => c.Labels['orcaops.workflow_instance'])).toEqual(containers.map(() => instance));
    expect(volumes.map((v) => v.Name).sort()).toEqual([expect.stringMatching(/-anon-job-2-own$/), expect.stringMatching(/-vol-shared$/)]);
    for (const volume of volumes) {
      expect(volume.Labels).toMatchObject({ 'orcaops.workflow_run': submitted.id, 'orcaops.workflow_instance': instance, 'orcaops.role': 'volume' });
      expect(volume.Options).toMatchObject({ type: 'tmpfs', o: expect.stringMatching(/^size=\d+,uid=65534,gid=65534,mode=1777,nosuid,nodev,noexec$/) });
    }
    expect(volumes.find((v) => v.Name.endsWith('-vol-shared'))?.Labels?.['orcaops.volume']).toBe('shared');
    expect((await api(t.app, 'POST', `/v1/workflows/${submitted.id}/cancel`, { token: dev })).status).toBe(200);
    const result = await waitForRun(t.app, dev, submitted.id);
    expect(result).toMatchObject({ conclusion: 'cancelled', cancelled_by: 'user' });
    expect(instancesOf(result).long).toMatchObject({ status: 'cancelled' });
    expect(await workflowLeftovers(submitted.id)).toEqual(NO_LEFTOVERS);
  });

  it('removes volumes after a failed and a timed-out job, and fails an instance whose volume from an expression is a host bind', async () => {
    const yaml = `
jobs:
  failing:
    container:
      image: orcaops/busybox
      volumes: [shared:/data]
    services:
      side:
        image: orcaops/busybox
        command: sleep 600
        volumes: [shared:/data, /cache]
    steps:
      - run: echo x > /data/x; exit 3
  slow:
    timeout-minutes: 0.05
    container:
      image: orcaops/busybox
      volumes: [/scratch]
    steps:
      - run: sleep 60
  bind:
    container:
      image: orcaops/busybox
      volumes: ["\${{ '/etc' }}:/host-etc"]
    steps:
      - run: echo never
`;
    const result = await run(yaml);
    const byName = instancesOf(result);
    expect(byName.failing).toMatchObject({ status: 'failed' });
    expect(byName.slow).toMatchObject({ status: 'failed', reason: 'timed_out' });
    expect(byName.bind).toMatchObject({ status: 'failed', job_id: null });
    expect(byName.bind.message).toMatch(/^container volumes: Volume '\/etc:\/host-etc' is a host bind mount, which OrcaOps refuses/);
    expect(await workflowLeftovers(result.id)).toEqual(NO_LEFTOVERS);
  });

  it('refuses host bind mounts and a volume over the workspace at validation, at file:line:column', async () => {
    const yaml = [
      'jobs:', //                                  1
      '  build:', //                               2
      '    container:', //                         3
      '      image: orcaops/busybox', //           4
      '      volumes:', //                         5
      '        - /var/run/docker.sock:/sock', //   6
      '        - cache:/workspace', //             7
      '    services:', //                          8
      '      db:', //                              9
      '        image: orcaops/busybox', //         10
      '        volumes: ["./data:/data"]', //      11
      '    steps:', //                             12
      '      - run: echo', //                      13
    ].join('\n');
    const res = await api(t.app, 'POST', '/v1/workflows', { token: dev, body: { file: 'vol.yml', yaml } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details.diagnostics.map((d: any) => d.text)).toEqual([
      expect.stringMatching(/^vol\.yml:6:11: .*Volume '\/var\/run\/docker\.sock:\/sock' is a host bind mount, which OrcaOps refuses/),
      expect.stringMatching(/^vol\.yml:7:11: .*Volume 'cache:\/workspace': the job's workspace \(\/workspace\) is already mounted/),
      expect.stringMatching(/^vol\.yml:11:19: .*Volume '\.\/data:\/data' is a host bind mount/),
    ]);
  });
});
