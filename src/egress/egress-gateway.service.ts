import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { randomBytes } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { createServer, request as httpRequest, IncomingMessage, Server, ServerResponse } from 'node:http';
import { connect, isIP, Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Duplex } from 'node:stream';
import { egressConfig } from 'src/egress/egress.config';
import { EgressEventLog, type EgressEvent } from 'src/egress/egress-event-log';
import { EgressUsage } from 'src/egress/egress-usage';
import { decideEgress, narrowEgress, narrowingProblems, type EffectiveEgress, type EgressNarrowing, type EgressVerdict, type ProtectedAddress } from 'src/policies/egress-rules';
import { PoliciesService } from 'src/policies/policies.service';
import { CONTAINER_RUNTIME, ContainerRuntime } from 'src/runtime/container-runtime.port';

/** Who a proxy credential belongs to: one running job or sandbox. */
export interface EgressSubject {
  workspaceId: string;
  kind: 'job' | 'sandbox';
  id: string;
  /** The work's own destinations (request `egress`): narrow the policy for this credential only. */
  narrowing?: EgressNarrowing;
  /** Writes one line into the job's own output (a denied connection names its rule there). */
  notify?: (line: string) => void;
}

export interface EgressLease {
  /** HTTP(S)_PROXY and NO_PROXY for the container: its only way out. */
  env: Record<string, string>;
  release(): void;
}

interface Target {
  host: string;
  port: number;
}

const POLICY_TTL_MS = 2_000;
const DNS_CACHE_MAX = 10_000;
const USER = 'orcaops';

/**
 * The OrcaOps egress gateway (issue 14): an explicit HTTP proxy on the egress bridge's host address,
 * the only destination containers on that bridge can reach (docker/egress-firewall.ts). Built on Node's
 * own HTTP server (llhttp parser, CONNECT support) rather than a new dependency: the gateway must share
 * the server's policy, job output and tenancy, which an external proxy (squid) could only reach through
 * helpers and reloads. Each connection is decided twice: by the name the workload asked for (CONNECT
 * host / absolute URL host) and by the address the gateway itself resolved and is about to connect to,
 * so an allowed name that resolves to a denied address is refused (DNS-rebinding safe). Names are
 * resolved only here, with the servers OrcaOps is configured with; containers have no DNS at all.
 */
@Injectable()
export class EgressGateway implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(EgressGateway.name);
  private readonly subjects = new Map<string, EgressSubject>();
  private readonly policies = new Map<string, { at: number; policy: EffectiveEgress }>();
  private readonly open = new Map<string, number>();
  private readonly sockets = new Set<Duplex>();
  private readonly resolver = new Resolver({ timeout: 3_000, tries: 2 });
  private readonly dnsCache = new Map<string, { addresses: string[]; until: number }>();
  private total = 0;
  private server?: Server;
  private starting?: Promise<{ address: string; port: number }>;
  private protectedExtra: ProtectedAddress[] = [];

  constructor(
    @Inject(egressConfig.KEY) private readonly config: ConfigType<typeof egressConfig>,
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
    private readonly policyService: PoliciesService,
    readonly log: EgressEventLog,
    private readonly usage: EgressUsage,
  ) {
    if (config.dnsServers.length) this.resolver.setServers(config.dnsServers);
  }

  /** A credential for one container; the gateway starts (and the bridge's firewall is installed) on first use. */
  async lease(subject: EgressSubject): Promise<EgressLease> {
    const { address, port } = await this.start();
    const token = randomBytes(24).toString('hex');
    this.subjects.set(token, subject);
    const proxy = `http://${USER}:${token}@${address}:${port}`;
    return {
      env: { HTTP_PROXY: proxy, HTTPS_PROXY: proxy, http_proxy: proxy, https_proxy: proxy, NO_PROXY: 'localhost,127.0.0.1', no_proxy: 'localhost,127.0.0.1' },
      release: () => void this.subjects.delete(token),
    };
  }

  /** The dry run: would a job of this workspace reach host:port now (resolving the name as the gateway would)? */
  async evaluate(workspaceId: string, host: string, port: number, narrowing?: EgressNarrowing): Promise<EgressVerdict> {
    this.protectedExtra = this.protectedExtra.length ? this.protectedExtra : hostAddresses();
    if (narrowing) {
      // A narrowing that reaches beyond the policy is refused as a whole, as the job would be.
      const [problem] = narrowingProblems(await this.policyService.egressFor(workspaceId), narrowing);
      if (problem) return { allowed: false, rule: problem.field, message: `egress widens the policy: ${problem.field}: ${problem.message}`, addresses: [] };
    }
    return this.decide(workspaceId, { host, port }, narrowing, true);
  }

  /**
   * A server that died left its gateway port open on the egress bridge (and the rules of internal
   * bridges it never removed): cleared at start, whether or not this server will use egress. Never
   * fails the start (a server that cannot run iptables refuses egress work anyway).
   */
  async onApplicationBootstrap(): Promise<void> {
    try {
      const removed = await this.runtime.reconcileHostFirewall();
      if (removed.gatewayPorts.length || removed.internalBridges.length) this.logger.log({ msg: 'removed stale host firewall rules', ...removed });
    } catch (error) {
      this.logger.warn({ msg: 'host firewall reconcile failed', err: String(error) });
    }
  }

  async onModuleDestroy(): Promise<void> {
    const server = this.server;
    if (!server) return;
    // The firewall opening goes first: nothing may reach this port once the gateway is going away.
    const port = (server.address() as { port?: number } | null)?.port;
    if (port) await this.runtime.closeEgressPort(port).catch(() => undefined);
    for (const socket of this.sockets) socket.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private start(): Promise<{ address: string; port: number }> {
    this.starting ??= (async () => {
      const { address } = await this.runtime.prepareEgressGateway();
      this.protectedExtra = [...hostAddresses(), { cidr: `${address}/32`, what: 'the OrcaOps egress gateway' }];
      const server = createServer({ headersTimeout: 10_000, requestTimeout: 0, keepAliveTimeout: 5_000 });
      server.maxConnections = this.config.connectionsTotal + 64;
      server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.onConnect(req, socket, head));
      server.on('request', (req: IncomingMessage, res: ServerResponse) => void this.onRequest(req, res));
      server.on('clientError', (_error, socket: Duplex) => socket.destroy());
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, address, () => resolve());
      });
      this.server = server;
      const port = (server.address() as { port: number }).port;
      await this.runtime.openEgressPort(port);
      this.logger.log(`egress gateway listening on ${address}:${port}`);
      return { address, port };
    })();
    this.starting.catch(() => (this.starting = undefined));
    return this.starting;
  }

  private subjectOf(req: IncomingMessage): EgressSubject | undefined {
    const header = req.headers['proxy-authorization'];
    if (typeof header !== 'string' || !header.startsWith('Basic ')) return undefined;
    const [user, token = ''] = Buffer.from(header.slice(6), 'base64').toString().split(':');
    if (user !== USER) return undefined;
    return this.subjects.get(token);
  }

  private async policyOf(workspaceId: string): Promise<EffectiveEgress> {
    const cached = this.policies.get(workspaceId);
    if (cached && Date.now() - cached.at < POLICY_TTL_MS) return cached.policy;
    const policy = await this.policyService.egressFor(workspaceId);
    this.policies.set(workspaceId, { at: Date.now(), policy });
    return policy;
  }

  private async decide(workspaceId: string, target: Target, narrowing: EgressNarrowing | undefined, fresh = false): Promise<EgressVerdict> {
    const policy = narrowEgress(fresh ? await this.policyService.egressFor(workspaceId) : await this.policyOf(workspaceId), narrowing);
    let addresses: string[] = [];
    const literal = target.host.replace(/^\[(.*)\]$/, '$1');
    if (isIP(literal)) addresses = [literal];
    else if (policy.egress === 'allow') addresses = await this.resolve(literal);
    return decideEgress(policy, { host: literal, port: target.port, addresses }, this.protectedExtra);
  }

  /**
   * A name's IPv4 addresses, cached for the record's TTL (at most 30 s; bounded map). The decision is
   * still made on the address actually connected to, so the cache cannot widen anything.
   */
  private async resolve(name: string): Promise<string[]> {
    const key = name.toLowerCase();
    const hit = this.dnsCache.get(key);
    if (hit && hit.until > Date.now()) return hit.addresses;
    const records = await this.resolver.resolve4(key, { ttl: true }).catch(() => []);
    const addresses = records.map((r) => r.address);
    const ttl = Math.min(30, ...records.map((r) => r.ttl));
    if (this.dnsCache.size >= DNS_CACHE_MAX) this.dnsCache.delete(this.dnsCache.keys().next().value!);
    if (addresses.length && ttl > 0) this.dnsCache.set(key, { addresses, until: Date.now() + ttl * 1000 });
    return addresses;
  }

  /** Connection caps and the daily byte quota: a refusal message, or undefined when the connection may proceed. */
  private admit(subject: EgressSubject): string | undefined {
    if (this.usage.bytesToday(subject.workspaceId) >= this.config.bytesPerDay) {
      return `the workspace's daily egress byte quota (${this.config.bytesPerDay} bytes) is used up`;
    }
    if ((this.open.get(subject.workspaceId) ?? 0) >= this.config.connectionsPerWorkspace) {
      return `the workspace already has ${this.config.connectionsPerWorkspace} egress connections open (the limit)`;
    }
    if (this.total >= this.config.connectionsTotal) return 'the egress gateway is at its connection limit';
    return undefined;
  }

  private async onConnect(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    this.track(socket);
    const subject = this.subjectOf(req);
    if (!subject) return void socket.end(rawResponse(407, 'egress gateway: unknown credential', { 'Proxy-Authenticate': 'Basic realm="orcaops"' }));
    const target = parseAuthority(req.url ?? '');
    if (!target) return void socket.end(rawResponse(400, 'egress gateway: CONNECT needs host:port'));
    await this.relay(subject, 'CONNECT', target, socket, (upstream) => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      return Promise.resolve({ up: head.length, clientToUpstream: socket });
    });
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.track(req.socket);
    const subject = this.subjectOf(req);
    if (!subject) {
      res.writeHead(407, { 'Proxy-Authenticate': 'Basic realm="orcaops"', 'Content-Type': 'text/plain' });
      return void res.end('egress gateway: unknown credential\n');
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      res.writeHead(400, { 'Content-Type': 'text/plain' });
      return void res.end('egress gateway: a proxy request needs an absolute http:// URL\n');
    }
    if (url.protocol !== 'http:') {
      res.writeHead(400, { 'Content-Type': 'text/plain' });
      return void res.end('egress gateway: only http:// URLs are forwarded; use CONNECT for https\n');
    }
    const target = { host: url.hostname, port: url.port ? Number(url.port) : 80 };
    await this.relay(subject, 'HTTP', target, res, (upstream, address, countUp) =>
      new Promise((resolve) => {
        const headers = { ...req.headers };
        delete headers['proxy-authorization'];
        delete headers['proxy-connection'];
        const forward = httpRequest({ createConnection: () => upstream, host: address, port: target.port, method: req.method, path: `${url.pathname}${url.search}`, headers, setHost: false });
        forward.on('response', (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        forward.on('error', () => res.destroy());
        req.on('data', (chunk: Buffer) => countUp(chunk.length));
        req.pipe(forward);
        resolve({ up: 0 });
      }),
    );
  }

  /**
   * Decides, connects to an allowed address, and relays both ways with byte accounting. `begin` hands
   * the connected upstream socket to the protocol (CONNECT tunnel or one forwarded HTTP request).
   */
  private async relay(
    subject: EgressSubject,
    method: 'CONNECT' | 'HTTP',
    target: Target,
    client: Duplex | ServerResponse,
    begin: (upstream: Socket, address: string, countUp: (bytes: number) => void) => Promise<{ up: number; clientToUpstream?: Duplex }>,
  ): Promise<void> {
    const started = Date.now();
    const event: EgressEvent = {
      at: new Date(started).toISOString(),
      workspace_id: subject.workspaceId,
      subject_kind: subject.kind,
      subject_id: subject.id,
      method,
      host: target.host,
      address: null,
      port: target.port,
      decision: 'denied',
      rule: '',
      bytes_up: 0,
      bytes_down: 0,
      duration_ms: 0,
    };
    const refuse = (status: number, rule: string, message: string): void => {
      Object.assign(event, { rule, duration_ms: Date.now() - started });
      this.log.record(event);
      subject.notify?.(`orcaops egress: blocked ${message}`);
      if (client instanceof ServerResponse) {
        client.writeHead(status, { 'Content-Type': 'text/plain', 'X-OrcaOps-Egress-Rule': rule.replace(/[^\x20-\x7e]/g, '?') });
        client.end(`orcaops egress: blocked ${message}\n`);
      } else client.end(rawResponse(status, `orcaops egress: blocked ${message}`, { 'X-OrcaOps-Egress-Rule': rule }));
    };
    let over: string | undefined;
    try {
      await this.usage.load(subject.workspaceId);
      over = this.admit(subject);
    } catch (error) {
      return refuse(502, 'gateway', `${target.host}:${target.port}: the egress byte counter could not be read (${String(error)})`);
    }
    if (over) return refuse(over.includes('quota') ? 403 : 429, over.includes('quota') ? 'quota.egress_bytes_per_day' : 'limits.egress_connections', `${target.host}:${target.port}: ${over}`);
    const workspace = subject.workspaceId;
    this.open.set(workspace, (this.open.get(workspace) ?? 0) + 1);
    this.total++;
    let closed = false;
    const done = (): void => {
      if (closed) return;
      closed = true;
      this.open.set(workspace, (this.open.get(workspace) ?? 1) - 1);
      this.total--;
    };
    let verdict: EgressVerdict;
    try {
      verdict = await this.decide(workspace, target, subject.narrowing);
    } catch (error) {
      done();
      return refuse(502, 'gateway', `${target.host}:${target.port}: the policy could not be read (${String(error)})`);
    }
    if (!verdict.allowed) {
      done();
      return refuse(403, verdict.rule, verdict.message);
    }
    const address = verdict.addresses[0]!;
    event.address = address;
    const upstream = connect({ host: address, port: target.port, timeout: this.config.connectTimeoutMs });
    this.track(upstream);
    const clientSocket = client instanceof ServerResponse ? client.socket : client;
    const finish = (): void => {
      if (closed) return;
      done();
      // The socket's own counters include forwarded request and response headers, which the quota's per-chunk count of bodies misses.
      event.bytes_up = Math.max(event.bytes_up, upstream.bytesWritten);
      event.bytes_down = Math.max(event.bytes_down, upstream.bytesRead);
      Object.assign(event, { decision: 'allowed', rule: verdict.rule, duration_ms: Date.now() - started });
      this.log.record(event);
    };
    const cutOff = (): void => {
      subject.notify?.(`orcaops egress: cut off ${target.host}:${target.port}: the workspace's daily egress byte quota (${this.config.bytesPerDay} bytes) is used up`);
      upstream.destroy();
      clientSocket?.destroy();
    };
    upstream.once('timeout', () => upstream.destroy());
    upstream.once('error', () => {
      if (!upstream.connecting) return;
      done();
      refuse(502, verdict.rule, `${target.host}:${target.port} (${address}): connection failed`);
    });
    upstream.once('connect', () => {
      upstream.setTimeout(this.config.idleMs);
      if (clientSocket instanceof Socket) clientSocket.setTimeout(this.config.idleMs, () => clientSocket.destroy());
      upstream.on('data', (chunk: Buffer) => {
        event.bytes_down += chunk.length;
        if (!this.usage.charge(workspace, chunk.length)) cutOff();
      });
      upstream.once('close', () => {
        finish();
        if (!(client instanceof ServerResponse)) client.destroy();
      });
      const countUp = (bytes: number): void => {
        event.bytes_up += bytes;
        if (!this.usage.charge(workspace, bytes)) cutOff();
      };
      void begin(upstream, address, countUp).then(({ up, clientToUpstream }) => {
        event.bytes_up += up;
        if (!clientToUpstream) return;
        clientToUpstream.on('data', (chunk: Buffer) => countUp(chunk.length));
        clientToUpstream.pipe(upstream);
        upstream.pipe(clientToUpstream);
        clientToUpstream.once('close', () => upstream.destroy());
        clientToUpstream.once('error', () => upstream.destroy());
      });
    });
  }

  private track(socket: Duplex): void {
    if (this.sockets.has(socket)) return;
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
  }
}

/** `host:port` or `[v6]:port` of a CONNECT request. */
function parseAuthority(authority: string): Target | undefined {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:/\s]+):(\d{1,5})$/.exec(authority);
  if (!match) return undefined;
  const port = Number(match[2]);
  return port >= 1 && port <= 65535 ? { host: match[1]!, port } : undefined;
}

function rawResponse(status: number, message: string, headers: Record<string, string> = {}): string {
  const reason = { 400: 'Bad Request', 403: 'Forbidden', 407: 'Proxy Authentication Required', 429: 'Too Many Requests', 502: 'Bad Gateway' }[status] ?? 'Error';
  const body = `${message}\n`;
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v.replace(/[^\x20-\x7e]/g, '?')}\r\n`)
    .join('');
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n${extra}\r\n${body}`;
}

/** This host's own addresses: always protected (a workload must not reach the host's services by any route). */
function hostAddresses(): ProtectedAddress[] {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .map((i) => ({ cidr: `${i.address}/${i.family === 'IPv4' ? 32 : 128}`, what: "this host's own" }));
}
