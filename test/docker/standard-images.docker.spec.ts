/**
 * The standard images' everyday tools, run the way jobs run them (DockerRuntime's hardening profile: read-only
 * root, nobody, no capabilities) on the real engine. An HTTP server (orcaops/python) and its clients share an
 * internal test network, so nothing leaves the machine. Everything created carries orcaops.test=<run id> and
 * is removed in afterAll.
 *
 * ORCAOPS_TEST_BUSYBOX_IMAGE / ORCAOPS_TEST_PYTHON_IMAGE point the spec at a candidate build under another tag
 * (for trying a recipe change without replacing :latest on a shared machine); CI uses :latest.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { ContainerResources } from 'src/runtime/container-runtime.port';
import { DockerRuntime } from 'src/runtime/docker/docker.runtime';

const SOCKET = process.env.DOCKER_HOST?.startsWith('unix://') ? process.env.DOCKER_HOST.slice('unix://'.length) : '/var/run/docker.sock';
const enabled = existsSync(SOCKET) && process.env.ORCAOPS_SKIP_DOCKER_TESTS !== '1';
const describeDocker = enabled ? describe : describe.skip;

const BUSYBOX = process.env.ORCAOPS_TEST_BUSYBOX_IMAGE ?? 'orcaops/busybox:latest';
const PYTHON = process.env.ORCAOPS_TEST_PYTHON_IMAGE ?? 'orcaops/python:latest';
const MiB = 1024 * 1024;
const RESOURCES: ContainerResources = { cpus: 1, memoryBytes: 256 * MiB, pidsLimit: 64, tmpBytes: 16 * MiB, workspaceBytes: 16 * MiB, nofile: 1024 };
const PAGE = 'hello from the test server';

const runId = randomUUID().slice(0, 8);
const LABELS = { 'orcaops.managed': 'true', 'orcaops.kind': 'test', 'orcaops.test': runId };
const NETWORK = `orcaops-test-${runId}-net`;
const rt = new DockerRuntime(SOCKET);
const created: string[] = [];
let sequence = 0;

async function start(image: string, command: string[], alias: string): Promise<string> {
  const id = await rt.createContainer({
    name: `orcaops-test-${runId}-${++sequence}`,
    image,
    command,
    env: {},
    labels: LABELS,
    resources: RESOURCES,
    network: 'none',
    attach: { network: NETWORK, aliases: [alias] },
  });
  created.push(id);
  await rt.startContainer(id);
  return id;
}

async function sh(id: string, script: string): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const result = await rt.exec(id, {
    command: ['sh', '-c', script],
    onOutput: (stream, chunk) => void (stream === 'stdout' ? out : err).push(chunk),
  });
  return { exitCode: result.exitCode, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

/** Polls the server's log until it says it listens (python -u prints that line as soon as it binds). */
async function untilServing(id: string, deadlineMs = 60_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    if ((await rt.logs(id, 4096)).includes('Serving HTTP')) return;
    if (Date.now() > until) throw new Error(`test server not serving after ${deadlineMs} ms:\n${await rt.logs(id, 4096)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describeDocker('standard images: their tools work under the job hardening profile', () => {
  let client: string;
  let python: string;

  beforeAll(async () => {
    for (const image of [BUSYBOX, PYTHON]) {
      if (!(await rt.inspectImage(image))) throw new Error(`${image} is missing: run scripts/setup.sh (orcaops images build) first`);
    }
    await rt.createNetwork(NETWORK, LABELS);
    const server = await start(
      PYTHON,
      ['sh', '-c', `echo '${PAGE}' > /workspace/page.txt && exec python3 -u -m http.server 8080 --bind 0.0.0.0 --directory /workspace`],
      'web',
    );
    client = await start(BUSYBOX, ['sleep', '2147483647'], 'client');
    python = await start(PYTHON, ['sleep', '2147483647'], 'pyclient');
    await untilServing(server);
  }, 120_000);

  afterAll(async () => {
    for (const id of created) await rt.remove(id).catch(() => undefined);
    await rt.removeNetwork(NETWORK).catch(() => undefined);
  }, 60_000);

  describe('orcaops/busybox', () => {
    it('wget fetches a page by service name, with and without -T (Debian build crashed on -T: exit 139)', async () => {
      for (const flags of ['-q', '-T 5 -q', '-qT5', '-T5 -t 2 -q']) {
        const result = await sh(client, `wget ${flags} -O- http://web:8080/page.txt`);
        expect({ flags, ...result }).toEqual({ flags, exitCode: 0, stdout: `${PAGE}\n`, stderr: '' });
      }
    });

    it('wget saves to a file, checks with --spider, and fails (not crashes) on a 404 and a closed port', async () => {
      const saved = await sh(client, 'cd /tmp && wget -q -T 5 http://web:8080/page.txt && cat page.txt');
      expect(saved).toMatchObject({ exitCode: 0, stdout: `${PAGE}\n` });
      expect((await sh(client, 'wget -q -T 5 --spider http://web:8080/page.txt')).exitCode).toBe(0);
      const missing = await sh(client, 'wget -q -T 5 -O- http://web:8080/absent.txt');
      expect(missing.exitCode).toBe(1);
      expect(missing.stderr).toMatch(/404/);
      const closed = await sh(client, 'wget -T 5 -O- http://web:1/');
      expect(closed.exitCode).toBe(1);
      expect(closed.stderr).toMatch(/can't connect/);
    });

    it('sh, tar, gzip, sha256sum, sed, awk, grep and sort work on /tmp', async () => {
      const script = [
        'set -e',
        'cd /tmp && mkdir -p src && echo "b 2" > src/x && echo "a 1" >> src/x',
        'tar -czf x.tgz src && rm -rf src && tar -xzf x.tgz',
        'gzip -c src/x | gzip -dc | sort | sed s/a/A/ | awk "{print \\$2\\":\\"\\$1}" | grep -c :',
        'echo hi | sha256sum | cut -c1-8',
      ].join('\n');
      expect(await sh(client, script)).toEqual({ exitCode: 0, stdout: '2\n98ea6e4f\n', stderr: '' });
    });

    it('runs as nobody on a read-only root, as jobs do', async () => {
      expect(await sh(client, 'id -u; touch /bin/x 2>/dev/null || echo read-only')).toMatchObject({ exitCode: 0, stdout: '65534\nread-only\n' });
    });
  });

  describe('orcaops/python', () => {
    it('python3 fetches the page with urllib and has the standard library (json, sqlite3, ssl, zlib)', async () => {
      const code = [
        'import json, sqlite3, ssl, zlib, urllib.request',
        "page = urllib.request.urlopen('http://web:8080/page.txt', timeout=10).read().decode()",
        "db = sqlite3.connect(':memory:'); db.execute('create table t(x)'); db.execute('insert into t values (1)')",
        "print(json.dumps({'page': page.strip(), 'rows': db.execute('select count(*) from t').fetchone()[0], 'crc': zlib.crc32(b'x')}))",
      ].join('\n');
      const result = await sh(python, `python3 -c "${code}"`);
      expect(result.exitCode).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({ page: PAGE, rows: 1, crc: 2363233923 });
    });

    it('python3 -m venv --without-pip makes a working virtual environment (the image ships no pip)', async () => {
      const result = await sh(python, 'python3 -m venv --without-pip /tmp/venv && /tmp/venv/bin/python -c "import sys; print(sys.prefix)"');
      expect(result).toMatchObject({ exitCode: 0, stdout: '/tmp/venv\n' });
    });
  });
});
