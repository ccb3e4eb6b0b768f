/**
 * Egress gateway benchmark (issue 14): HTTPS download throughput through the gateway against direct,
 * added connect latency, and 1,000 concurrent tunnels held at once. Runs against the tiny internet of
 * the egress specs (a network namespace with an HTTPS server and a TCP echo; needs root, ip, openssl).
 * The gateway runs in this process with its real decision and relay code; the policy is a fixed
 * organisation rule and the runtime a stub that lets it listen on loopback (no containers: this
 * measures the gateway, not Docker networking). Usage: npm run bench:egress -- [downloads]
 */
import { connect as tcpConnect } from 'node:net';
import { request as httpRequest } from 'node:http';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { Socket } from 'node:net';
import type { EgressEventLog } from 'src/egress/egress-event-log';
import type { EgressUsage } from 'src/egress/egress-usage';
import { EgressGateway } from 'src/egress/egress-gateway.service';
import { effectiveEgress } from 'src/policies/egress-rules';
import type { PoliciesService } from 'src/policies/policies.service';
import type { ContainerRuntime } from 'src/runtime/container-runtime.port';
import { startTinyInternet } from '../test/support/tiny-internet';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const downloads = Number(process.argv[2] ?? 20);
  const net = await startTinyInternet();
  const policy = effectiveEgress('allow', [{ level: 'organisation', rules: { allow_domains: ['*.test'], allow_cidrs: ['203.0.113.0/24'], allow_ports: [80, 443, 7] } }]);
  const runtime = { prepareEgressGateway: () => Promise.resolve({ address: '127.0.0.1' }), openEgressPort: () => Promise.resolve(), closeEgressPort: () => Promise.resolve() };
  const config = { dnsServers: [net.dns], connectionsPerWorkspace: 5000, connectionsTotal: 10000, bytesPerDay: Number.MAX_SAFE_INTEGER, idleMs: 120_000, connectTimeoutMs: 10_000, logPerWorkspace: 1000, logPendingPerWorkspace: 5000, logFlushMs: 1000, retentionDays: 30 };
  // The log and the byte counter are written off the relay path (batched); here they only count in memory.
  const log = { record: () => undefined } as unknown as EgressEventLog;
  const usage = { load: () => Promise.resolve(), bytesToday: () => 0, charge: () => true } as unknown as EgressUsage;
  const gateway = new EgressGateway(config, runtime as unknown as ContainerRuntime, { egressFor: () => Promise.resolve(policy) } as unknown as PoliciesService, log, usage);
  try {
    const lease = await gateway.lease({ workspaceId: 'bench', kind: 'job', id: 'bench' });
    const proxy = new URL(lease.env.HTTPS_PROXY!);
    const auth = `Basic ${Buffer.from(`${proxy.username}:${proxy.password}`).toString('base64')}`;
    const tunnel = (host: string, port: number): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const req = httpRequest({ host: proxy.hostname, port: Number(proxy.port), method: 'CONNECT', path: `${host}:${port}`, headers: { 'proxy-authorization': auth }, agent: false });
        req.once('connect', (res, socket) => (res.statusCode === 200 ? resolve(socket) : reject(new Error(`CONNECT ${res.statusCode}`))));
        req.once('error', reject);
        req.end();
      });
    const tls: ConnectionOptions = { servername: 'allowed.test', ca: net.caPem };
    const download = (socket?: Socket): Promise<number> =>
      new Promise((resolve, reject) => {
        const started = process.hrtime.bigint();
        const s = socket ? tlsConnect({ ...tls, socket }) : tlsConnect({ ...tls, host: net.web, port: 443 });
        let bytes = 0;
        s.on('secureConnect', () => s.write('GET /big HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n'));
        s.on('data', (d: Buffer) => (bytes += d.length));
        s.on('end', () => resolve(bytes / (Number(process.hrtime.bigint() - started) / 1e9) / 1e6));
        s.on('error', reject);
      });

    const direct: number[] = [];
    const through: number[] = [];
    for (let i = 0; i < downloads; i++) {
      direct.push(await download());
      through.push(await download(await tunnel('allowed.test', 443)));
    }

    const connectDirect: number[] = [];
    const connectThrough: number[] = [];
    for (let i = 0; i < 200; i++) {
      let t0 = performance.now();
      const d = tcpConnect({ host: net.web, port: 80 });
      await new Promise((r) => d.once('connect', r));
      connectDirect.push(performance.now() - t0);
      d.destroy();
      t0 = performance.now();
      const g = await tunnel(process.env.BENCH_LITERAL ? net.web : 'allowed.test', 80);
      connectThrough.push(performance.now() - t0);
      g.destroy();
    }

    // 1,000 tunnels open at once to the TCP echo, each answering its own bytes.
    const N = 1000;
    const held = await Promise.allSettled(Array.from({ length: N }, () => tunnel('echo.test', 7)));
    const open = held.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const echoed = await Promise.all(
      open.map(
        (s, i) =>
          new Promise<boolean>((resolve) => {
            const msg = `ping-${i}`;
            let got = '';
            s.on('data', (d: Buffer) => {
              got += d.toString();
              if (got === msg) resolve(true);
            });
            s.once('error', () => resolve(false));
            setTimeout(() => resolve(false), 30_000).unref();
            s.write(msg);
          }),
      ),
    );
    for (const s of open) s.destroy();

    const result = {
      downloads,
      download_mb_s: { direct_median: median(direct), gateway_median: median(through), ratio: median(through) / median(direct), target: '>= 0.8' },
      connect_ms: { direct_p50: median(connectDirect), gateway_p50: median(connectThrough), added_p50: median(connectThrough) - median(connectDirect), target_added: '<= 2' },
      concurrent: { asked: N, tunnels_open: open.length, echoed: echoed.filter(Boolean).length },
    };
    console.log(JSON.stringify(result, null, 2));
    lease.release();
  } finally {
    await gateway.onModuleDestroy();
    await net.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
