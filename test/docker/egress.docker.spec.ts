import type { TestApp } from '../support/app';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { EgressGateway } from 'src/egress/egress-gateway.service';
import { CONTAINER_RUNTIME, type ContainerRuntime } from 'src/runtime/container-runtime.port';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { runCli } from '../support/cli';
import { httpClient } from '../support/mcp';
import { docker, removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';
import { startTinyInternet, type TinyInternet } from '../support/tiny-internet';

/**
 * Egress allow-lists enforced outside the container (issue 14), on the real engine, against a tiny
 * internet in a network namespace this spec creates (nothing leaves the machine). Jobs run Python
 * (urllib honours HTTP(S)_PROXY) and raw sockets that ignore the proxy.
 */
describe('egress through the OrcaOps gateway', () => {
  let net: TinyInternet;
  let t: TestApp;
  let a: SeededWorkspace;
  let b: SeededWorkspace;
  /** No workspace policy (the organisation's rules only); the one whose byte quota runs out. */
  let c: SeededWorkspace;
  let baseUrl: string;
  const QUOTA = 600_000;
  let gatewayPort = 0;

  beforeAll(async () => {
    net = await startTinyInternet();
    t = await createTestApp({ ORCAOPS_EGRESS_DNS_SERVERS: net.dns, ORCAOPS_EGRESS_BYTES_PER_DAY: String(QUOTA) });
    await t.app.listen(0, '127.0.0.1');
    baseUrl = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    a = await seedWorkspace(t.app, 'egress-a');
    b = await seedWorkspace(t.app, 'egress-b');
    c = await seedWorkspace(t.app, 'egress-c');
    for (const ws of [a, b, c]) {
      const granted = await api(t.app, 'PATCH', `/v1/workspaces/${ws.id}`, { token: TEST_ADMIN_TOKEN, body: { settings: { allow_network_egress: true } } });
      expect(granted.status).toBe(200);
    }
    const org = await api(t.app, 'PUT', '/v1/policies/organisation', {
      token: TEST_ADMIN_TOKEN,
      body: { network: { allow_domains: ['*.test'], allow_cidrs: ['203.0.113.0/24', '169.254.169.254/32'], allow_ports: [80, 443, 7] } },
    });
    expect(org.status).toBe(200);
    await setPolicy(a, {
      allow_domains: ['allowed.test', '*.wild.test', 'rebind.test', 'metadata.test', 'denied.test', 'echo.test'],
      allow_cidrs: ['203.0.113.0/24', '169.254.169.254/32'],
      deny_domains: ['denied.test'],
      deny_cidrs: [`${net.web2}/32`],
    });
    await setPolicy(b, { allow_domains: ['other.test'] });
  }, 120_000);

  afterAll(async () => {
    if (t) {
      await removeInstallationContainers(t.databaseUrl);
      await t.close();
      // The gateway closed its firewall opening on shutdown.
      expect(gatewayPort).toBeGreaterThan(0);
      expect(execFileSync('iptables', ['-w', '5', '-S', 'ORCAOPS-EGRESS'], { encoding: 'utf8' })).not.toContain(`--dport ${gatewayPort} `);
    }
    await net?.close();
  });

  async function setPolicy(ws: SeededWorkspace, network: Record<string, unknown>): Promise<void> {
    const res = await api(t.app, 'PUT', `/v1/workspaces/${ws.id}/policy`, { token: ws.tokens.admin.token, body: { network } });
    expect(res.status).toBe(200);
  }

  /** Runs a Python script in a job with network egress; answers the job and its output lines. */
  async function runPython(ws: SeededWorkspace, script: string, egress?: Record<string, unknown>): Promise<{ job: any; lines: Record<string, string>; text: string }> {
    const token = ws.tokens.developer.token;
    const created = await api(t.app, 'POST', '/v1/jobs', {
      token,
      body: { image: 'orcaops/python', network: 'egress', ...(egress ? { egress } : {}), env: { CA_PEM: net.caPem }, steps: [{ args: ['python3', '-c', PRELUDE + script] }], timeout_seconds: 120 },
    });
    expect({ status: created.status, body: created.body }).toMatchObject({ status: 201 });
    const done = await api(t.app, 'GET', `/v1/jobs/${created.body.id}/wait?timeout_seconds=150`, { token });
    expect(done.status).toBe(200);
    const text = (await api(t.app, 'GET', `/v1/jobs/${created.body.id}/logs?format=text&limit=5000`, { token })).body as string;
    const lines: Record<string, string> = {};
    for (const line of text.split('\n')) {
      const m = /^(\w+)=(.*)$/.exec(line);
      if (m) lines[m[1]!] = m[2]!;
    }
    return { job: done.body, lines, text };
  }

  it('filters by name and by resolved address; denied connections name their rule in the job output', async () => {
    const { job, lines, text } = await runPython(
      a,
      `
show('http', get('http://allowed.test/'))
show('https', get('https://www.wild.test/', context=ctx))
show('denied', get('http://denied.test/'))
show('literal', get('http://${net.web2}/'))
show('rebind', get('http://rebind.test/'))
show('metadata', get('http://169.254.169.254/latest/meta-data/'))
show('metaname', get('http://metadata.test/'))
show('port', get('http://allowed.test:8080/'))
`,
    );
    expect(job.status).toBe('succeeded');
    expect(lines.http).toBe(`hello from allowed.test at ${net.web}`);
    expect(lines.https).toBe(`hello from www.wild.test at ${net.web}`);
    for (const key of ['denied', 'literal', 'rebind', 'metadata', 'metaname', 'port']) expect(lines[key]).toMatch(/^ERR .*403/);
    expect(text).toContain('orcaops egress: blocked denied.test:80 refused by network.deny_domains "denied.test" (workspace policy)');
    expect(text).toContain(`orcaops egress: blocked ${net.web2}:80 (${net.web2}) refused by network.deny_cidrs "${net.web2}/32" (workspace policy)`);
    expect(text).toMatch(/orcaops egress: blocked rebind\.test:80 \(127\.0\.0\.1\) refused: loopback addresses \(127\.0\.0\.0\/8\) are always denied/);
    expect(text).toMatch(/orcaops egress: blocked 169\.254\.169\.254:80 .* link-local/);
    expect(text).toMatch(/orcaops egress: blocked allowed\.test:8080 refused: port 8080 is not in network\.allow_ports/);
  }, 180_000);

  it('gives a workload that ignores the proxy no way out: raw TCP, UDP, DNS and the host itself all fail', async () => {
    const { job, lines } = await runPython(
      a,
      `
gw = os.environ['HTTP_PROXY'].rsplit('@', 1)[1].split(':')[0]
show('gwport', os.environ['HTTP_PROXY'].rsplit(':', 1)[1])
show('tcp', tcp('${net.web}', 80))
show('echo', tcp('${net.echo}', 7))
show('udp', udp('${net.echo}', 9))
show('dns', dns('allowed.test'))
show('hostssh', tcp(gw, 22))
show('hostapi', tcp(gw, ${Number(new URL(await t.app.getUrl()).port)}))
show('pg', tcp(gw, 5432))
`,
    );
    expect(job.status).toBe('succeeded');
    for (const key of ['tcp', 'echo', 'udp', 'dns', 'hostssh', 'hostapi', 'pg']) expect(lines[key]).toMatch(/^ERR /);
    gatewayPort = Number(lines.gwport);
  }, 180_000);

  it('shows two workspaces different worlds at the same time, and a policy change reaches new work within seconds', async () => {
    const script = `
show('allowed', get('http://allowed.test/'))
show('other', get('http://other.test/'))
`;
    const [inA, inB] = await Promise.all([runPython(a, script), runPython(b, script)]);
    expect(inA.lines.allowed).toMatch(/^hello from allowed.test/);
    expect(inA.lines.other).toMatch(/^ERR .*403/);
    expect(inB.lines.allowed).toMatch(/^ERR .*403/);
    expect(inB.lines.other).toBe(`hello from other.test at ${net.web2}`);

    // The gateway reads a workspace's policy at most 2 s old: new work sees the change within seconds.
    await setPolicy(b, { allow_domains: ['allowed.test'] });
    const changed = Date.now();
    let after = await runPython(b, script);
    while (!after.lines.allowed?.startsWith('hello') && Date.now() - changed < 10_000) after = await runPython(b, script);
    expect(after.lines.allowed).toMatch(/^hello from allowed.test/);
    expect(after.lines.other).toMatch(/^ERR .*403/);
    expect(Date.now() - changed).toBeLessThan(15_000);
    await setPolicy(b, { allow_domains: ['other.test'] });
    // Restored for the later cases: wait until new work sees it (the gateway's policy may be 2 s old).
    const restored = Date.now();
    while (!(await runPython(b, script)).lines.other?.startsWith('hello') && Date.now() - restored < 10_000);
  }, 240_000);

  it('records every decision, readable per job through REST, CLI and MCP', async () => {
    const { job } = await runPython(a, `
show('ok', get('http://allowed.test/'))
show('no', get('https://denied.test/', context=ctx))
`);
    const token = a.tokens.viewer.token;
    const rest = await api(t.app, 'GET', `/v1/egress/events?job_id=${job.id}`, { token });
    expect(rest.status).toBe(200);
    expect(rest.body.items).toEqual([
      expect.objectContaining({ subject_kind: 'job', subject_id: job.id, method: 'CONNECT', host: 'denied.test', address: null, port: 443, decision: 'denied', rule: 'network.deny_domains "denied.test" (workspace)' }),
      expect.objectContaining({ method: 'HTTP', host: 'allowed.test', address: net.web, port: 80, decision: 'allowed', rule: 'network.allow_domains "allowed.test" (workspace)', bytes_down: expect.any(Number) }),
    ]);
    expect(rest.body.items[1].bytes_down).toBeGreaterThan(0);
    expect(rest.body.items[1].bytes_up).toBeGreaterThan(0);
    // Another workspace sees none of them.
    expect((await api(t.app, 'GET', `/v1/egress/events?job_id=${job.id}`, { token: b.tokens.viewer.token })).body.items).toEqual([]);

    const home = mkdtempSync(join(tmpdir(), 'orcaops-egress-cli-'));
    try {
      const cli = await runCli(['--json', 'egress', 'events', '--job', job.id, '--denied'], { ORCAOPS_URL: baseUrl, ORCAOPS_TOKEN: token, ORCAOPS_HOME: home });
      expect(cli.exitCode).toBe(0);
      expect(JSON.parse(cli.stdout).items).toEqual([expect.objectContaining({ host: 'denied.test', decision: 'denied' })]);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }

    const { client } = await httpClient(baseUrl, token);
    try {
      const result = (await client.callTool({ name: 'list_egress_events', arguments: { job_id: job.id } })) as { structuredContent?: any };
      expect(result.structuredContent.items.map((e: any) => `${e.decision} ${e.host}`)).toEqual(['denied denied.test', 'allowed allowed.test']);
    } finally {
      await client.close();
    }
  }, 180_000);

  it('cuts a workspace off at its daily egress byte quota with a clear line in the job output', async () => {
    const { lines, text } = await runPython(c, `
show('big', get('http://allowed.test/big')[:40])
show('after', get('http://allowed.test/'))
`);
    expect(lines.big).toMatch(/^ERR /);
    expect(lines.after).toMatch(/^ERR .*403/);
    expect(text).toContain(`orcaops egress: cut off allowed.test:80: the workspace's daily egress byte quota (${QUOTA} bytes) is used up`);
    expect(text).toContain(`orcaops egress: blocked allowed.test:80: the workspace's daily egress byte quota (${QUOTA} bytes) is used up`);
    // Other workspaces keep their own quota.
    expect((await runPython(b, `show('other', get('http://other.test/'))`)).lines.other).toMatch(/^hello from other.test/);
  }, 180_000);

  it('filters a sandbox the same way (narrowed by its own egress), and records its connections under the sandbox', async () => {
    const token = a.tokens.developer.token;
    const created = await api(t.app, 'POST', '/v1/sandboxes', { token, body: { image: 'orcaops/python', network: 'egress', egress: { allow_domains: ['allowed.test'] } } });
    expect(created.status).toBe(201);
    const id = created.body.id;
    try {
      const script = "import urllib.request\nfor u in ['http://allowed.test/', 'http://denied.test/', 'http://www.wild.test/']:\n    try: print(urllib.request.urlopen(u, timeout=15).read().decode().strip())\n    except Exception as e: print('ERR', e)";
      const res = await api(t.app, 'POST', `/v1/sandboxes/${id}/exec`, { token, body: { args: ['python3', '-c', script], timeout_seconds: 60 } });
      expect(res.status).toBe(200);
      expect(res.body.stdout).toContain(`hello from allowed.test at ${net.web}`);
      expect(res.body.stdout).toMatch(/ERR HTTP Error 403/);
      const events = await api(t.app, 'GET', `/v1/egress/events?sandbox_id=${id}`, { token });
      expect(events.body.items.map((e: any) => `${e.subject_kind} ${e.decision} ${e.host} ${e.rule}`)).toEqual([
        'sandbox denied www.wild.test network.allow_domains/allow_cidrs (request)',
        'sandbox denied denied.test network.deny_domains "denied.test" (workspace)',
        'sandbox allowed allowed.test network.allow_domains "allowed.test" (request)',
      ]);
    } finally {
      await api(t.app, 'DELETE', `/v1/sandboxes/${id}`, { token });
    }
  }, 180_000);

  it('answers the dry run with the deciding rule (REST and CLI)', async () => {
    const ask = (ws: SeededWorkspace, host: string, port: number) =>
      api(t.app, 'POST', '/v1/policies/evaluate', { token: ws.tokens.viewer.token, body: { egress: { host, port } } });
    const ok = await ask(a, 'allowed.test', 443);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ decision: 'allowed', egress: { allowed: true, rule: 'network.allow_domains "allowed.test" (workspace)', addresses: [net.web] } });
    const rebind = await ask(a, 'rebind.test', 80);
    expect(rebind.body).toMatchObject({ decision: 'denied', egress: { allowed: false, rule: 'protected 127.0.0.0/8' } });
    const outside = await ask(b, 'allowed.test', 80);
    expect(outside.body).toMatchObject({ decision: 'denied', egress: { rule: 'network.allow_domains/allow_cidrs (workspace)' } });
    const ranged = await ask(a, 'other.test', 80);
    expect(ranged.body).toMatchObject({ decision: 'denied', egress: { rule: `network.deny_cidrs "${net.web2}/32" (workspace)` } });
    const home = mkdtempSync(join(tmpdir(), 'orcaops-egress-cli-'));
    try {
      const env = { ORCAOPS_URL: baseUrl, ORCAOPS_TOKEN: a.tokens.viewer.token, ORCAOPS_HOME: home };
      const denied = await runCli(['policies', 'evaluate', '--egress', 'rebind.test:80'], env);
      expect(denied.exitCode).toBe(4);
      expect(denied.stdout).toMatch(/^denied\nrebind\.test:80 \(127\.0\.0\.1\) refused: loopback addresses/);
      const allowed = await runCli(['policies', 'evaluate', '--egress', 'allowed.test'], env);
      expect(allowed.exitCode).toBe(0);
      expect(allowed.stdout).toBe('allowed\nallowed.test:443 allowed by network.allow_domains "allowed.test" (workspace)\n');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('lets a job narrow its own destinations (REST, MCP, CLI and the dry run), and refuses a wider request naming the entry', async () => {
    const { job, lines, text } = await runPython(a, `
show('wild', get('https://www.wild.test/', context=ctx))
show('allowed', get('http://allowed.test/'))
show('port80', get('http://www.wild.test/'))
`, { allow_domains: ['www.wild.test'], ports: [443] });
    expect(job.status).toBe('succeeded');
    expect({ wild: lines.wild, text }).toMatchObject({ wild: `hello from www.wild.test at ${net.web}` });
    expect(lines.allowed).toMatch(/^ERR .*403/);
    expect(lines.port80).toMatch(/^ERR .*403/);
    expect(text).toContain(`orcaops egress: blocked allowed.test:80 refused: port 80 is not in network.allow_ports (443)`);
    const events = await api(t.app, 'GET', `/v1/egress/events?job_id=${job.id}`, { token: a.tokens.viewer.token });
    expect(events.body.items.map((e: any) => `${e.decision} ${e.host} ${e.rule}`)).toContain('allowed www.wild.test network.allow_domains "www.wild.test" (request)');

    const wider = await api(t.app, 'POST', '/v1/jobs', { token: a.tokens.developer.token, body: { image: 'orcaops/python', network: 'egress', egress: { allow_domains: ['www.wild.test', 'pypi.org'] }, command: 'true' } });
    expect(wider.status).toBe(403);
    expect(wider.body.error.code).toBe('policy_denied');
    expect(JSON.stringify(wider.body.error)).toContain(`egress.allow_domains.1: \\"pypi.org\\" is outside the organisation policy's network.allow_domains`);

    const { client } = await httpClient(baseUrl, a.tokens.developer.token);
    try {
      const refused = (await client.callTool({ name: 'submit_job', arguments: { image: 'orcaops/python', network: 'egress', egress: { ports: [22] }, command: 'true' } })) as { isError?: boolean; content: Array<{ text: string }> };
      expect(refused.isError).toBe(true);
      expect(refused.content.map((c) => c.text).join('\n')).toContain("egress.ports.0: port 22 is not in the policy's network.allow_ports");
    } finally {
      await client.close();
    }

    const home = mkdtempSync(join(tmpdir(), 'orcaops-egress-cli-'));
    try {
      const env = { ORCAOPS_URL: baseUrl, ORCAOPS_TOKEN: a.tokens.developer.token, ORCAOPS_HOME: home };
      const run = await runCli(['run', '--egress-allow', 'www.wild.test', '--egress-port', '443', '-e', `CA_PEM=${net.caPem}`, 'orcaops/python', '--', 'python3', '-c', PRELUDE + "show('wild', get('https://www.wild.test/', context=ctx))\nshow('allowed', get('https://allowed.test/', context=ctx))"], env);
      expect(run.exitCode).toBe(0);
      expect(run.stdout).toContain(`wild=hello from www.wild.test at ${net.web}`);
      expect(run.stdout).toMatch(/allowed=ERR .*403/);
      const denied = await runCli(['policies', 'evaluate', '--egress', 'allowed.test:443', '--egress-allow', 'www.wild.test'], env);
      expect(denied.exitCode).toBe(4);
      expect(denied.stdout).toContain("allowed.test:443 (");
      expect(denied.stdout).toContain("refused: not in the request policy's network.allow_domains or allow_cidrs");
      const widerProbe = await runCli(['policies', 'evaluate', '--egress', 'pypi.org:443', '--egress-allow', 'pypi.org'], env);
      expect(widerProbe.exitCode).toBe(4);
      expect(widerProbe.stdout).toContain('egress.allow_domains.0: "pypi.org" is outside the organisation policy');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 240_000);

  it('removes at start the gateway-port openings no live gateway listens on, and keeps the live one', async () => {
    expect(gatewayPort).toBeGreaterThan(0);
    const rules = (): string => execFileSync('iptables', ['-w', '5', '-S', 'ORCAOPS-EGRESS'], { encoding: 'utf8' });
    // What a server killed with -9 leaves behind: its port's ACCEPT rule, with nothing listening.
    const dead = gatewayPort === 65_000 ? 65_001 : 65_000;
    execFileSync('iptables', ['-w', '5', '-I', 'ORCAOPS-EGRESS', '1', '-p', 'tcp', '--dport', String(dead), '-j', 'ACCEPT']);
    spawnQuiet(['-N', 'ORCAOPS-INTERNAL']); // made by the first internal network; may not exist yet
    execFileSync('iptables', ['-w', '5', '-I', 'ORCAOPS-INTERNAL', '1', '-i', 'br-0rca0ps0dead', '-j', 'REJECT']);
    try {
      await t.app.get(EgressGateway).onApplicationBootstrap();
      expect(rules()).not.toContain(`--dport ${dead} `);
      expect(rules()).toContain(`--dport ${gatewayPort} `);
      expect(execFileSync('iptables', ['-w', '5', '-S', 'ORCAOPS-INTERNAL'], { encoding: 'utf8' })).not.toContain('br-0rca0ps0dead');
    } finally {
      spawnQuiet(['-D', 'ORCAOPS-EGRESS', '-p', 'tcp', '--dport', String(dead), '-j', 'ACCEPT']);
      spawnQuiet(['-D', 'ORCAOPS-INTERNAL', '-i', 'br-0rca0ps0dead', '-j', 'REJECT']);
    }
  });

  it('rejects traffic from a workflow run’s internal network to the host, and drops the rules with the network', async () => {
    const runtime = t.app.get<ContainerRuntime>(CONTAINER_RUNTIME);
    const name = `orcaops-egress-spec-${process.pid}`;
    // A host service on all interfaces: reachable from every bridge unless INPUT rejects it.
    const listener = createServer((socket) => socket.end('host service\n'));
    await new Promise<void>((resolve) => listener.listen(0, '0.0.0.0', resolve));
    const port = (listener.address() as { port: number }).port;
    await runtime.createNetwork(name, { 'orcaops.test': 'egress' });
    try {
      const info = (await docker.getNetwork(name).inspect()) as { Id: string; IPAM: { Config: Array<{ Gateway?: string }> } };
      const bridge = `br-${info.Id.slice(0, 12)}`;
      const hostAddress = info.IPAM.Config.find((c) => c.Gateway)!.Gateway!;
      expect(execFileSync('iptables', ['-w', '5', '-S', 'ORCAOPS-INTERNAL'], { encoding: 'utf8' })).toContain(`-i ${bridge} `);
      const container = await docker.createContainer({
        Image: 'orcaops/busybox',
        Cmd: ['sh', '-c', `nc -w 5 ${hostAddress} ${port} </dev/null 2>&1; echo exit=$?`],
        Labels: { 'orcaops.test': 'egress' },
        HostConfig: { NetworkMode: name },
      });
      try {
        await container.start();
        await container.wait();
        const out = (await container.logs({ stdout: true, stderr: true })).toString('utf8');
        expect(out).not.toContain('host service');
        expect(out).toMatch(/refused|exit=1/i);
      } finally {
        await container.remove({ force: true });
      }
      await runtime.removeNetwork(name);
      expect(execFileSync('iptables', ['-w', '5', '-S', 'ORCAOPS-INTERNAL'], { encoding: 'utf8' })).not.toContain(`-i ${bridge} `);
    } finally {
      await runtime.removeNetwork(name).catch(() => undefined);
      listener.close();
    }
  }, 60_000);
});

function spawnQuiet(args: string[]): void {
  try {
    execFileSync('iptables', ['-w', '5', ...args], { stdio: 'ignore' });
  } catch {
    // already gone: the point of the case
  }
}

const PRELUDE = `
import os, socket, ssl, urllib.request
ctx = ssl.create_default_context(cadata=os.environ['CA_PEM'])
def show(key, value):
    print(key + '=' + value, flush=True)
def get(url, **kw):
    try:
        return urllib.request.urlopen(url, timeout=15, **kw).read().decode().strip()
    except Exception as e:
        return 'ERR ' + str(e)
def tcp(host, port):
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect((host, port))
        return 'CONNECTED'
    except Exception as e:
        return 'ERR ' + type(e).__name__ + ' ' + str(e)
def udp(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        s.sendto(b'ping', (host, port))
        return 'GOT ' + s.recv(100).decode()
    except Exception as e:
        return 'ERR ' + type(e).__name__ + ' ' + str(e)
def dns(name):
    try:
        return 'RESOLVED ' + socket.gethostbyname(name)
    except Exception as e:
        return 'ERR ' + type(e).__name__ + ' ' + str(e)
`;
