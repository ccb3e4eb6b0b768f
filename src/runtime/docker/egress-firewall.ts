import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { RuntimeError } from 'src/runtime/runtime.errors';

const run = promisify(execFile);

/**
 * Host firewall rules for the egress bridge (issue 14). The engine's internal network already drops
 * forwarding to other interfaces, but traffic addressed to the host itself (any host port bound to
 * 0.0.0.0 or the bridge address) is not forwarding: it needs INPUT rules. Everything from the bridge is
 * rejected except TCP to the gateway ports; forwarding is rejected too (not just dropped), so a direct
 * connection fails at once instead of hanging until its timeout.
 */
const CHAIN = 'ORCAOPS-EGRESS';
/** Per-run internal networks (workflow services): everything from their bridges to the host is rejected. */
const INTERNAL_CHAIN = 'ORCAOPS-INTERNAL';

async function iptables(args: string[]): Promise<boolean> {
  return (await iptablesOutput(args)) !== undefined;
}

/** The command's stdout, or undefined when it failed (a rule or chain that is not there). */
async function iptablesOutput(args: string[]): Promise<string | undefined> {
  try {
    return (await run('iptables', ['-w', '5', ...args], { timeout: 10_000 })).stdout;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT') throw new RuntimeError('engine_error', 'iptables is not installed: network egress cannot be filtered, so it is refused');
    return undefined;
  }
}

/** Adds a rule unless it is there already (`-C` checks); `insert` puts it first. */
async function ensure(chain: string, rule: string[], insert: boolean): Promise<void> {
  if (await iptables(['-C', chain, ...rule])) return;
  if (!(await iptables([insert ? '-I' : '-A', chain, ...(insert ? ['1'] : []), ...rule]))) {
    throw new RuntimeError('engine_error', `could not install the egress firewall rule ${chain} ${rule.join(' ')} (is the server root?)`);
  }
}

/** The bridge's fixed rules; idempotent (several servers on one engine share them). */
export async function installEgressFirewall(bridge: string): Promise<void> {
  await iptables(['-N', CHAIN]); // exists already: fine
  await ensure(CHAIN, ['-p', 'tcp', '-j', 'REJECT', '--reject-with', 'tcp-reset'], false);
  await ensure(CHAIN, ['-j', 'REJECT', '--reject-with', 'icmp-port-unreachable'], false);
  await ensure('INPUT', ['-i', bridge, '-j', CHAIN], true);
  // DOCKER-USER runs first in FORWARD, before the engine's own isolation rules.
  await ensure('DOCKER-USER', ['-i', bridge, '-j', 'REJECT', '--reject-with', 'icmp-port-unreachable'], true);
  await ensure('DOCKER-USER', ['-i', bridge, '-p', 'tcp', '-j', 'REJECT', '--reject-with', 'tcp-reset'], true);
}

/** Opens one gateway port on the bridge (TCP only). */
export async function openGatewayPort(port: number): Promise<void> {
  await ensure(CHAIN, ['-p', 'tcp', '--dport', String(port), '-j', 'ACCEPT'], true);
}

export async function closeGatewayPort(port: number): Promise<void> {
  while (await iptables(['-D', CHAIN, '-p', 'tcp', '--dport', String(port), '-j', 'ACCEPT'])) {
    // remove every copy
  }
}

/**
 * Removes the ACCEPT rules of gateway ports no live gateway listens on: a server that died without
 * shutting down leaves its port open on the bridge, and a host service that later listened on that port
 * would be reachable from it. The rules are shared by the servers of one engine, so a rule is stale only
 * when nothing listens on `gatewayAddress:port` (every gateway listens on the bridge address itself,
 * before it opens its port, and closes the port before it stops listening). Answers the ports removed.
 */
export async function removeStaleGatewayPorts(gatewayAddress: string): Promise<number[]> {
  const rules = await iptablesOutput(['-S', CHAIN]);
  if (rules === undefined) return [];
  const listening = listeningPorts(await readFile('/proc/net/tcp', 'utf8'), gatewayAddress);
  const stale = acceptedPorts(rules).filter((port) => !listening.has(port));
  for (const port of stale) await closeGatewayPort(port);
  return stale;
}

/** The `--dport` of each ACCEPT rule in `iptables -S` output. */
export function acceptedPorts(rules: string): number[] {
  return [...rules.matchAll(/^-A \S+ .*--dport (\d+) -j ACCEPT$/gm)].map((m) => Number(m[1]));
}

/** TCP ports in LISTEN state on exactly this IPv4 address, from /proc/net/tcp (hex, little-endian address). */
export function listeningPorts(procNetTcp: string, address: string): Set<number> {
  const hex = address
    .split('.')
    .reverse()
    .map((octet) => Number(octet).toString(16).toUpperCase().padStart(2, '0'))
    .join('');
  const ports = new Set<number>();
  for (const line of procNetTcp.split('\n').slice(1)) {
    const [, local = '', , state] = line.trim().split(/\s+/);
    const [ip, port] = local.split(':');
    if (state === '0A' && ip === hex && port) ports.add(parseInt(port, 16));
  }
  return ports;
}

/**
 * Host firewall for one per-run internal network (workflow services): the engine gives the host an
 * address on every bridge, so host ports bound to 0.0.0.0 would be reachable from the run's containers.
 * Everything arriving from the bridge is rejected in INPUT (through ORCAOPS-INTERNAL); traffic between
 * the run's own containers is bridged, not INPUT, and is unaffected. Idempotent.
 */
export async function isolateInternalBridge(bridge: string): Promise<void> {
  await iptables(['-N', INTERNAL_CHAIN]); // exists already: fine
  await ensure('INPUT', ['-j', INTERNAL_CHAIN], true);
  await ensure(INTERNAL_CHAIN, ['-i', bridge, '-j', 'REJECT', '--reject-with', 'icmp-port-unreachable'], true);
  await ensure(INTERNAL_CHAIN, ['-i', bridge, '-p', 'tcp', '-j', 'REJECT', '--reject-with', 'tcp-reset'], true);
}

/** Drops one internal bridge's rules (its network is gone). */
export async function releaseInternalBridge(bridge: string): Promise<void> {
  for (const rule of [['-i', bridge, '-p', 'tcp', '-j', 'REJECT', '--reject-with', 'tcp-reset'], ['-i', bridge, '-j', 'REJECT', '--reject-with', 'icmp-port-unreachable']]) {
    while (await iptables(['-D', INTERNAL_CHAIN, ...rule])) {
      // remove every copy
    }
  }
}

/** Drops the rules of internal bridges that no longer exist (their network was removed while no server watched). */
export async function removeStaleInternalBridges(): Promise<string[]> {
  const rules = await iptablesOutput(['-S', INTERNAL_CHAIN]);
  if (rules === undefined) return [];
  const gone = [...new Set([...rules.matchAll(/^-A \S+ -i (\S+) /gm)].map((m) => m[1]!))].filter((bridge) => !existsSync(`/sys/class/net/${bridge}`));
  for (const bridge of gone) await releaseInternalBridge(bridge);
  return gone;
}
