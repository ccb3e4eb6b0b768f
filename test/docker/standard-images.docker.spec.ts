/**
 * The standard images' everyday tools, run the way jobs run them (DockerRuntime's hardening profile: read-only
 * root, nobody, no capabilities) on the real engine, and the servers the environment templates use
 * (orcaops/postgres, orcaops/redis) also under the service profile workflow services and environments use.
 * Servers and clients share an internal test network, so nothing leaves the machine. Everything created
 * carries orcaops.test=<run id> and is removed in afterAll.
 *
 * ORCAOPS_TEST_STANDARD_TAG (all five) or ORCAOPS_TEST_<NAME>_IMAGE (one) point the spec at a candidate
 * build under another tag (`orcaops images build --tag T`, for trying a recipe change without replacing
 * :latest on a shared machine); CI uses :latest.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { ContainerResources } from 'src/runtime/container-runtime.port';
import { DockerRuntime } from 'src/runtime/docker/docker.runtime';
import { SERVICE_RESOURCES } from 'src/services-runtime/service-options';

const SOCKET = process.env.DOCKER_HOST?.startsWith('unix://') ? process.env.DOCKER_HOST.slice('unix://'.length) : '/var/run/docker.sock';
const enabled = existsSync(SOCKET) && process.env.ORCAOPS_SKIP_DOCKER_TESTS !== '1';
const describeDocker = enabled ? describe : describe.skip;

const standard = (name: string): string =>
  process.env[`ORCAOPS_TEST_${name.toUpperCase()}_IMAGE`] ?? `orcaops/${name}:${process.env.ORCAOPS_TEST_STANDARD_TAG ?? 'latest'}`;
const BUSYBOX = standard('busybox');
const PYTHON = standard('python');
const POSTGRES = standard('postgres');
const REDIS = standard('redis');
const NODE = standard('node');
const IDLE = ['sleep', '2147483647'];
const MiB = 1024 * 1024;
const RESOURCES: ContainerResources = { cpus: 1, memoryBytes: 256 * MiB, pidsLimit: 64, tmpBytes: 16 * MiB, workspaceBytes: 16 * MiB, nofile: 1024 };
const PAGE = 'hello from the test server';

const runId = randomUUID().slice(0, 8);
const LABELS = { 'orcaops.managed': 'true', 'orcaops.kind': 'test', 'orcaops.test': runId };
const NETWORK = `orcaops-test-${runId}-net`;
const rt = new DockerRuntime(SOCKET);
const created: string[] = [];
let sequence = 0;

interface StartOptions {
  env?: Record<string, string>;
  resources?: ContainerResources;
  /** 'service': the image's own user and the workflow-service capabilities (environments' services). */
  profile?: 'strict' | 'service';
}

async function start(image: string, command: string[], alias: string, options: StartOptions = {}): Promise<string> {
  const id = await rt.createContainer({
    name: `orcaops-test-${runId}-${++sequence}`,
    image,
    command,
    env: options.env ?? {},
    labels: LABELS,
    resources: options.resources ?? RESOURCES,
    network: 'none',
    attach: { network: NETWORK, aliases: [alias] },
    ...(options.profile ? { profile: options.profile } : {}),
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

/** Runs `script` in the container until it exits 0 (a server's readiness probe), within a generous deadline. */
async function untilReady(id: string, script: string, deadlineMs = 60_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const result = await sh(id, script).catch(async (error: Error) => {
      throw new Error(`${error.message}\n${await rt.logs(id, 4096)}`);
    });
    if (result.exitCode === 0) return;
    if (Date.now() > until) throw new Error(`\`${script}\` still failing after ${deadlineMs} ms: ${JSON.stringify(result)}\n${await rt.logs(id, 4096)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describeDocker('standard images: their tools work under the job hardening profile', () => {
  let client: string;
  let python: string;
  let pgClient: string;
  let redisClient: string;
  let node: string;
  const servers: Record<'db' | 'dbStrict' | 'cache' | 'cacheService', string> = { db: '', dbStrict: '', cache: '', cacheService: '' };

  beforeAll(async () => {
    for (const image of [BUSYBOX, PYTHON, POSTGRES, REDIS, NODE]) {
      if (!(await rt.inspectImage(image))) throw new Error(`${image} is missing: run scripts/setup.sh (orcaops images build) first`);
    }
    await rt.createNetwork(NETWORK, LABELS);
    const server = await start(
      PYTHON,
      ['sh', '-c', `echo '${PAGE}' > /workspace/page.txt && exec python3 -u -m http.server 8080 --bind 0.0.0.0 --directory /workspace`],
      'web',
    );
    // The image's own command (empty argv): as an environment's service runs it, and as a job would.
    // A fresh data directory is about 35 MB: the workflow services' default resources (64 MiB /tmp).
    servers.db = await start(POSTGRES, [], 'db', { profile: 'service', resources: SERVICE_RESOURCES, env: { POSTGRES_PASSWORD: 's3cret', POSTGRES_DB: 'app' } });
    servers.dbStrict = await start(POSTGRES, [], 'db2', { resources: SERVICE_RESOURCES, env: { POSTGRES_USER: 'dev', POSTGRES_PASSWORD: 'pw2' } });
    servers.cache = await start(REDIS, [], 'cache');
    servers.cacheService = await start(REDIS, ['--maxmemory', '16mb'], 'cache2', { profile: 'service', resources: SERVICE_RESOURCES });
    client = await start(BUSYBOX, IDLE, 'client');
    // 64 MiB of workspace: pip's user base and a venv with pip.
    python = await start(PYTHON, IDLE, 'pyclient', { resources: SERVICE_RESOURCES });
    pgClient = await start(POSTGRES, IDLE, 'pgclient');
    redisClient = await start(REDIS, IDLE, 'redisclient');
    node = await start(NODE, IDLE, 'nodeclient');
    await untilServing(server);
    // The health checks an environment template uses.
    await Promise.all([
      untilReady(servers.db, 'pg_isready -q'),
      untilReady(servers.dbStrict, 'pg_isready -q'),
      untilReady(servers.cache, 'redis-cli ping | grep -qx PONG'),
      untilReady(servers.cacheService, 'redis-cli ping | grep -qx PONG'),
    ]);
  }, 180_000);

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

    it('python3 -m venv --without-pip makes a working virtual environment', async () => {
      const result = await sh(python, 'python3 -m venv --without-pip /tmp/venv && /tmp/venv/bin/python -c "import sys; print(sys.prefix)"');
      expect(result).toMatchObject({ exitCode: 0, stdout: '/tmp/venv\n' });
    });
  });

  describe('orcaops/python pip', () => {
    it('pip installs a local package into the user base on /workspace (read-only root), and venv has pip', async () => {
      const script = [
        'set -e',
        'mkdir -p /workspace/src/hello && cd /workspace/src',
        'echo "def hi(): return 42" > hello/__init__.py',
        'printf "from setuptools import setup\\nsetup(name=\\"hello\\", version=\\"1.0\\", packages=[\\"hello\\"])\\n" > setup.py',
        'pip install -q --no-index --no-build-isolation . >/dev/null 2>&1 || pip install --no-index --no-build-isolation .',
        'cd / && python3 -c "import hello; print(hello.hi(), hello.__file__.startswith(\\"/workspace/.local/\\"))"',
        'python3 -m venv /workspace/venv && /workspace/venv/bin/pip --version | cut -d" " -f1',
      ].join('\n');
      expect(await sh(python, script)).toMatchObject({ exitCode: 0, stdout: '42 True\npip\n' });
    });
  });

  describe('orcaops/postgres', () => {
    it('accepts a password connection and queries from another container, by service name (service profile)', async () => {
      const queries = ['create table t(x int)', 'insert into t values (6), (7)', 'select sum(x) from t', 'select current_user, current_database()'];
      const result = await sh(pgClient, `PGPASSWORD=s3cret psql -h db -U postgres -d app -v ON_ERROR_STOP=1 -qAt ${queries.map((q) => `-c '${q}'`).join(' ')}`);
      expect(result).toMatchObject({ exitCode: 0, stdout: '13\npostgres|app\n' });
    });

    it('refuses a wrong password over the network', async () => {
      const result = await sh(pgClient, 'PGPASSWORD=wrong psql -h db -U postgres -d app -Atc "select 1"');
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toMatch(/password authentication failed/);
    });

    it('under the strict profile (nobody, no capabilities) keeps its data on /workspace, with POSTGRES_USER as the database', async () => {
      const remote = await sh(pgClient, 'PGPASSWORD=pw2 psql -h db2 -U dev -qAt -c "select current_database()" -c "show data_directory"');
      expect(remote).toMatchObject({ exitCode: 0, stdout: 'dev\n/workspace/pgdata\n' });
      const local = await sh(servers.db, 'id -u; psql -U postgres -d app -Atc "show data_directory"; touch /usr/x 2>/dev/null || echo read-only');
      expect(local).toMatchObject({ exitCode: 0, stdout: '65534\n/tmp/pgdata\nread-only\n' });
    });
  });

  describe('orcaops/redis', () => {
    it('answers PING, SET and GET from another container by service name, under both profiles', async () => {
      for (const host of ['cache', 'cache2']) {
        const result = await sh(redisClient, `redis-cli -h ${host} ping && redis-cli -h ${host} set greeting hello && redis-cli -h ${host} get greeting`);
        expect({ host, ...result }).toEqual({ host, exitCode: 0, stdout: 'PONG\nOK\nhello\n', stderr: '' });
      }
      const config = await sh(redisClient, 'redis-cli -h cache2 config get maxmemory | tail -1; redis-cli -h cache config get dir | tail -1');
      expect(config).toMatchObject({ exitCode: 0, stdout: '16777216\n/workspace\n' });
    });
  });

  describe('orcaops/node', () => {
    it('runs a script that fetches the page, and npm runs a package script', async () => {
      const script = [
        'set -e',
        'mkdir -p /workspace/app && cd /workspace/app',
        "echo \"fetch('http://web:8080/page.txt').then((r) => r.text()).then((t) => console.log(t.trim()))\" > get.js",
        'node get.js 2>/dev/null',
        'npm --version | grep -Eq "^[0-9]+\\.[0-9]+\\.[0-9]+$" && echo npm-ok',
        'npm init -y >/dev/null && npm pkg set \'scripts.answer=node -e "console.log(6*7)"\' && npm run -s answer',
      ].join('\n');
      expect(await sh(node, script)).toMatchObject({ exitCode: 0, stdout: `${PAGE}\nnpm-ok\n42\n` });
    });
  });
});
