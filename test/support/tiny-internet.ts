import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A small "internet" for the egress specs, on this machine only: a network namespace joined to the host
 * by a veth pair, with HTTP and HTTPS servers (certificate from a throwaway CA), a TCP echo, a UDP echo
 * and a DNS server for test names. Nothing routes beyond it: its addresses are TEST-NET-3
 * (203.0.113.0/24, documentation only), reachable through the veth and nowhere else.
 */
export interface TinyInternet {
  /** HTTP :80 and HTTPS :443 (certificate for *.test). */
  web: string;
  /** A second web host (HTTP :80 only). */
  web2: string;
  /** TCP echo :7, UDP echo :9. */
  echo: string;
  dns: string;
  /** The host's own address on the veth. */
  hostSide: string;
  caPem: string;
  close(): Promise<void>;
}

export const TEST_NAMES = (net: Pick<TinyInternet, 'web' | 'web2' | 'echo'>): Record<string, string> => ({
  'allowed.test': net.web,
  'denied.test': net.web,
  'www.wild.test': net.web,
  'other.test': net.web2,
  'echo.test': net.echo,
  'rebind.test': '127.0.0.1',
  'metadata.test': '169.254.169.254',
});

const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

export async function startTinyInternet(): Promise<TinyInternet> {
  const tag = Math.random().toString(36).slice(2, 8);
  const ns = `orcanet-${tag}`;
  const [hostIf, nsIf] = [`oih${tag}`, `oin${tag}`];
  const p = '203.0.113';
  const addrs = { hostSide: `${p}.1`, web: `${p}.10`, web2: `${p}.11`, echo: `${p}.12`, dns: `${p}.53` };
  const dir = mkdtempSync(join(tmpdir(), 'orcanet-'));
  let child: ChildProcess | undefined;
  const cleanup = (): void => {
    child?.kill('SIGKILL');
    try {
      sh('ip', ['link', 'del', hostIf]);
    } catch {
      // gone with the namespace
    }
    try {
      sh('ip', ['netns', 'del', ns]);
    } catch {
      // not created
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // The throwaway CA and a certificate for the test names.
    const file = (name: string): string => join(dir, name);
    sh('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2', '-subj', '/CN=orcaops test CA']);
    sh('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('web.key'), '-out', file('web.csr'), '-subj', '/CN=allowed.test']);
    writeFileSync(file('ext.cnf'), 'subjectAltName=DNS:allowed.test,DNS:*.test,DNS:*.wild.test\n');
    sh('openssl', ['x509', '-req', '-in', file('web.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('web.pem'), '-days', '2', '-extfile', file('ext.cnf')]);

    sh('ip', ['netns', 'add', ns]);
    sh('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
    sh('ip', ['link', 'set', nsIf, 'netns', ns]);
    sh('ip', ['addr', 'add', `${addrs.hostSide}/24`, 'dev', hostIf]);
    sh('ip', ['link', 'set', hostIf, 'up']);
    const inNs = (...args: string[]): string => sh('ip', ['netns', 'exec', ns, ...args]);
    inNs('ip', 'link', 'set', 'lo', 'up');
    for (const a of [addrs.web, addrs.web2, addrs.echo, addrs.dns]) inNs('ip', 'addr', 'add', `${a}/24`, 'dev', nsIf);
    inNs('ip', 'link', 'set', nsIf, 'up');

    const config = {
      http: [addrs.web, addrs.web2],
      https: { addr: addrs.web, key: readFileSync(file('web.key'), 'utf8'), cert: readFileSync(file('web.pem'), 'utf8') },
      echo: addrs.echo,
      udp: addrs.echo,
      dns: { addr: addrs.dns, names: TEST_NAMES(addrs) },
    };
    child = spawn('ip', ['netns', 'exec', ns, process.execPath, join(__dirname, 'tiny-internet-server.js'), JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready')) resolve();
      });
      child!.once('exit', (code) => reject(new Error(`tiny internet exited with ${code}`)));
    });
    const caPem = readFileSync(file('ca.pem'), 'utf8');
    return { ...addrs, caPem, close: () => Promise.resolve(cleanup()) };
  } catch (error) {
    cleanup();
    throw error;
  }
}
