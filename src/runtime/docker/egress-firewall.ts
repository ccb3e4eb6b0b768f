import { execFile } from 'node:child_process';
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

async function iptables(args: string[]): Promise<boolean> {
  try {
    await run('iptables', ['-w', '5', ...args], { timeout: 10_000 });
    return true;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT') throw new RuntimeError('engine_error', 'iptables is not installed: network egress cannot be filtered, so it is refused');
    return false;
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
