/**
 * Workflow service and container options on the real engine (design §2.3, §2.6, §3.9): entrypoint and
 * command overrides, per-instance volumes, the ports context in both networking modes, container.options
 * applied inside the job, limits bounded by the policy, and the service profile that lets official-style
 * images start as root, chown their data and drop to their own user.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestApp } from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { docker, removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import { seedWorkspace } from '../support/tenants';
import { instancesOf, removeWorkflowLeftovers, submitWorkflow, waitForRun, workflowLeftovers } from '../support/workflows';

jest.setTimeout(240_000);

const NO_LEFTOVERS = { containers: [], networks: [], volumes: [] };
/** Built in beforeAll from orcaops/busybox, removed in afterAll. */
const ROOT_START_IMAGE = `orcaops-test/root-start:${process.pid}`;

/**
 * Like the official postgres/redis images: the entrypoint runs as root, chowns the data directory (an
 * image VOLUME), then drops to uid 1000 and serves a port.
 */
async function buildRootStartImage(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'orcaops-root-start-'));
  try {
    writeFileSync(join(dir, 'Dockerfile'), ['FROM orcaops/busybox:latest', 'COPY passwd group /etc/', 'COPY entry.sh /entry.sh', 'VOLUME /data', 'ENTRYPOINT ["/bin/sh", "/entry.sh"]', ''].join('\n'));
    writeFileSync(join(dir, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\napp:x:1000:1000:app:/data:/bin/sh\n');
    writeFileSync(join(dir, 'group'), 'root:x:0:\nnogroup:x:65534:\napp:x:1000:\n');
    writeFileSync(
      join(dir, 'entry.sh'),
      [
        'set -e',
        'echo "starting as $(id -u)"',
        'chown -R 1000:1000 /data',
        // su (busybox) drops privileges as gosu does: setgroups, setgid, setuid, then exec.
        `exec su -s /bin/sh app -c 'echo "uid=$(id -u) owner=$(stat -c %u /data)" > /data/who; while true; do nc -l -p 5432 -e cat /data/who; done'`,
        '',
      ].join('\n'),
    );
    const stream = await docker.buildImage({ context: dir, src: ['Dockerfile', 'entry.sh', 'passwd', 'group'] }, { t: ROOT_START_IMAGE, rm: true, forcerm: true });
    const output = await new Promise<Array<{ error?: string }>>((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null, res: Array<{ error?: string }>) => (err ? reject(err) : resolve(res))));
    const failed = output.find((o) => o.error);
    if (failed) throw new Error(`building ${ROOT_START_IMAGE}: ${failed.error}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('workflow services and container options on the real engine', () => {
  let t: TestApp;
  let dev: string;

  beforeAll(async () => {
    t = await createTestApp();
    dev = (await seedWorkspace(t.app, 'wf-services')).tokens.developer.token;
    await buildRootStartImage();
  });

  afterAll(async () => {
    await removeWorkflowLeftovers(t.databaseUrl);
    await removeInstallationContainers(t.databaseUrl);
    await docker.getImage(ROOT_START_IMAGE).remove({ force: true }).catch(() => undefined);
    await t.close();
  });

  async function run(yaml: string, token = dev): Promise<any> {
    return waitForRun(t.app, token, (await submitWorkflow(t.app, token, yaml)).id);
  }

  it('overrides entrypoint and command (native keys and --entrypoint), gives a named volume for the instance only, and reports ports', async () => {
    const yaml = `
jobs:
  container-job:
    image: orcaops/busybox
    services:
      web:
        image: orcaops/busybox
        entrypoint: /bin/sh
        command: ["-c", "echo hello from the volume > /data/greeting; while true; do nc -l -p 8080 -e cat /data/greeting; done"]
        volumes: ["data:/data"]
        ports: ["18080:8080"]
        credentials: {username: someone, password: secret}
      alt:
        image: orcaops/busybox
        options: --entrypoint /bin/sh
        command: ["-c", "while true; do nc -l -p 9090 -e echo alt; done"]
        ports: ["9090/tcp"]
    steps:
      - run: test "$(nc -w 2 web 8080 </dev/null)" = "hello from the volume"
      - run: test "$(nc -w 2 alt 9090 </dev/null)" = alt
      - run: test "\${{ job.services.web.ports['8080'] }}" = 8080 && test "\${{ job.services.alt.ports['9090'] }}" = 9090
  runner-job:
    runs-on: ubuntu-latest
    services:
      web:
        image: orcaops/busybox
        entrypoint: [/bin/sh, -c]
        command: ["while true; do nc -l -p 8080 -e echo pod; done"]
        ports: ["8080"]
    steps:
      - run: test "\${{ job.services.web.ports['8080'] }}" = 8080
      - shell: python
        run: |
          import socket, time
          for _ in range(100):
              try:
                  answer = socket.create_connection(('localhost', 8080), timeout=2).recv(10).decode().strip()
                  if answer:
                      break
              except OSError:
                  pass
              time.sleep(0.1)
          assert answer == 'pod', answer
`;
    const result = await run(yaml);
    const byName = instancesOf(result);
    expect([byName['container-job'].status, byName['container-job'].message]).toEqual(['succeeded', null]);
    expect([byName['runner-job'].status, byName['runner-job'].message]).toEqual(['succeeded', null]);
    expect(byName['container-job'].notes).toEqual(
      expect.arrayContaining([
        "service web: credentials in the workflow file are not used: pulls use the workspace's registry credentials (orcaops registry login)",
        expect.stringMatching(/^service web: host ports are not published/),
      ]),
    );
    expect(await workflowLeftovers(result.id)).toEqual(NO_LEFTOVERS);
  });

  it('applies container.options --user, --tmpfs and --shm-size inside the job; an expression that evaluates to empty is no options', async () => {
    const yaml = `
jobs:
  opts:
    container:
      image: orcaops/busybox
      options: --user 1000:1000 --tmpfs /cache:size=8m --shm-size 96m
    steps:
      - run: test "$(id -u):$(id -g)" = 1000:1000
      - run: grep -q '^tmpfs /cache tmpfs .*size=8192k' /proc/mounts && echo ok > /cache/file && test "$(stat -c %u /cache/file)" = 1000
      - run: grep -q '^shm /dev/shm tmpfs .*size=98304k' /proc/mounts
      - run: echo in-workspace > w && test "$(stat -c %u w)" = 1000
  empty:
    container:
      image: orcaops/busybox
      options: \${{ github.repository_visibility == 'private' && '--pids-limit 16384' || '' }}
    steps:
      - run: test "$(id -u)" = 65534
`;
    const result = await run(yaml);
    const byName = instancesOf(result);
    expect([byName.opts.status, byName.opts.message]).toEqual(['succeeded', null]);
    expect([byName.empty.status, byName.empty.message]).toEqual(['succeeded', null]);
    expect(await workflowLeftovers(result.id)).toEqual(NO_LEFTOVERS);
  });

  it('fails clearly on options that cannot apply: an unknown flag from an expression, limits above the policy for the job and for a service', async () => {
    const ws = await seedWorkspace(t.app, 'wf-services-policy');
    const put = await api(t.app, 'PUT', `/v1/workspaces/${ws.id}/policy`, { token: ws.tokens.admin.token, body: { resources: { max_memory_mb: 256 } } });
    expect(put.status).toBe(200);
    const yaml = `
jobs:
  unknown:
    container:
      image: orcaops/busybox
      options: \${{ format('--{0} 1', 'oom-score-adj') }}
    steps:
      - run: echo never
  big-job:
    container:
      image: orcaops/busybox
      options: --memory 512m
    steps:
      - run: echo never
  big-service:
    image: orcaops/busybox
    services:
      db:
        image: orcaops/busybox
        command: sleep 600
        options: --memory 1g
    steps:
      - run: echo never
`;
    const result = await run(yaml, ws.tokens.developer.token);
    const byName = instancesOf(result);
    expect(byName.unknown).toMatchObject({ status: 'failed', reason: null, job_id: null });
    expect(byName.unknown.message).toMatch(/^container options: Unknown option '--oom-score-adj' in container options \(allowed: --user/);
    expect(byName['big-job']).toMatchObject({ status: 'failed', reason: 'policy_denied' });
    expect(byName['big-job'].message).toContain('resources.memory_mb 512 is above the maximum 256');
    expect(byName['big-service']).toMatchObject({ status: 'failed', reason: 'policy_denied', job_id: null });
    expect(byName['big-service'].message).toContain('resources.memory_mb 1024 is above the maximum 256');
    expect(await workflowLeftovers(result.id)).toEqual(NO_LEFTOVERS);
  });

  it('starts a root-start image (chown, then drop to its user) under the service profile; the job reaches it by name', async () => {
    const yaml = `
jobs:
  uses-db:
    image: orcaops/busybox
    services:
      db:
        image: ${ROOT_START_IMAGE}
        ports: ["5432"]
      db2:
        image: ${ROOT_START_IMAGE}
        volumes: ["pgdata:/data"]
        ports: ["5432"]
        options: --tmpfs /run/db:size=1m
    steps:
      - run: test "$(nc -w 2 db 5432 </dev/null)" = "uid=1000 owner=1000"
      - run: test "$(nc -w 2 db2 5432 </dev/null)" = "uid=1000 owner=1000"
`;
    const result = await run(yaml);
    const inst = instancesOf(result)['uses-db'];
    expect([inst.status, inst.message]).toEqual(['succeeded', null]);
    expect(await workflowLeftovers(result.id)).toEqual(NO_LEFTOVERS);
  });

  it('fails a runner-style job whose services both listen on one port before anything starts; a container job runs the same services', async () => {
    const services = `
    services:
      db:
        image: orcaops/busybox
        command: ["/bin/sh", "-c", "while true; do nc -l -p 8080 -e echo db; done"]
        ports: [8080]
      replica:
        image: orcaops/busybox
        command: ["/bin/sh", "-c", "while true; do nc -l -p 8080 -e echo replica; done"]
        ports: [8080]`;
    const result = await run(`
jobs:
  pod:
    runs-on: ubuntu-latest${services}
    steps:
      - run: echo never
  own-network:
    image: orcaops/busybox${services}
    steps:
      - run: test "$(nc -w 2 db 8080 </dev/null)" = db && test "$(nc -w 2 replica 8080 </dev/null)" = replica
`);
    const byName = instancesOf(result);
    // The workflow's mistake, not the infrastructure's: no reason, so no infra retry.
    expect(byName.pod).toMatchObject({ status: 'failed', reason: null, job_id: null });
    expect(byName.pod.message).toBe(
      "services 'db' and 'replica' both listen on 8080/tcp; in a runner-style job services share localhost — give one a different port or run the job in a container",
    );
    expect([byName['own-network'].status, byName['own-network'].message]).toEqual(['succeeded', null]);
    expect(await workflowLeftovers(result.id)).toEqual(NO_LEFTOVERS);
  });

  it('fails a service whose image is not on the engine with the image_not_found message, before anything starts', async () => {
    const result = await run(`
jobs:
  missing:
    image: orcaops/busybox
    services:
      db:
        image: orcaops-test/not-here:1
        credentials: {username: a, password: b}
    steps:
      - run: echo never
`);
    const inst = instancesOf(result).missing;
    expect(inst).toMatchObject({ status: 'failed', reason: 'infra_error', job_id: null });
    expect(inst.message).toMatch(/^Service 'db': image orcaops-test\/not-here:1 is not present on this engine \(image_not_found\)/);
    expect(await workflowLeftovers(result.id)).toEqual(NO_LEFTOVERS);
  });

  it('counts the CPU time of service containers against the workspace CPU-seconds quotas, like a job', async () => {
    const ws = await seedWorkspace(t.app, 'wf-services-cpu');
    const token = ws.tokens.developer.token;
    const session = (await api(t.app, 'POST', '/v1/sessions', { token, body: { agent_type: 'ci' } })).body.id as string;
    // The job only sleeps; its service spins one CPU for those seconds.
    const submitted = await submitWorkflow(
      t.app,
      token,
      `
jobs:
  burn:
    image: orcaops/busybox
    services:
      spinner:
        image: orcaops/busybox
        entrypoint: /bin/sh
        command: ["-c", "while :; do :; done"]
    steps:
      - run: sleep 3
`,
      { session_id: session },
    );
    const result = await waitForRun(t.app, token, submitted.id);
    const inst = instancesOf(result).burn;
    expect(inst.status).toBe('succeeded');
    const servicesCpu = inst.attempts[0].services_cpu_seconds as number;
    expect(servicesCpu).toBeGreaterThan(1);
    const jobCpu = ((await api(t.app, 'GET', `/v1/jobs/${inst.job_id}`, { token })).body.usage.cpu_seconds as number | null) ?? 0;
    expect(jobCpu).toBeLessThan(1);
    const usage = await api(t.app, 'GET', `/v1/workspaces/${ws.id}/usage`, { token });
    const items = Object.fromEntries(usage.body.items.map((i: any) => [i.quota, i]));
    expect(items.cpu_seconds_per_day.current).toBeGreaterThanOrEqual(Math.floor(servicesCpu));
    expect(items.cpu_seconds_per_day.current).toBeLessThanOrEqual(Math.ceil(servicesCpu + jobCpu));
    // The session that ran it shows the same spend.
    const spend = (await api(t.app, 'GET', `/v1/sessions/${session}`, { token })).body.spend;
    expect(spend.cpu_seconds).toBeCloseTo(servicesCpu + jobCpu, 2);

    await api(t.app, 'PUT', `/v1/workspaces/${ws.id}/quotas`, { token: TEST_ADMIN_TOKEN, body: { limits: { cpu_seconds_per_day: 1 } } });
    const refused = await api(t.app, 'POST', '/v1/jobs', { token, body: { image: 'orcaops/busybox', command: 'true' } });
    expect(refused.status).toBe(429);
    expect(refused.body.error.details).toMatchObject({ quota: 'cpu_seconds_per_day', limit: 1 });
    expect(await workflowLeftovers(result.id)).toEqual(NO_LEFTOVERS);
  });
});
