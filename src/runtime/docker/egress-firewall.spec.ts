import { acceptedPorts, listeningPorts } from 'src/runtime/docker/egress-firewall';

describe('egress firewall reconcile (pure parts)', () => {
  it('should read the gateway ports opened in ORCAOPS-EGRESS from iptables -S', () => {
    const rules = [
      '-N ORCAOPS-EGRESS',
      '-A ORCAOPS-EGRESS -p tcp -m tcp --dport 41234 -j ACCEPT',
      '-A ORCAOPS-EGRESS -p tcp -m tcp --dport 39001 -j ACCEPT',
      '-A ORCAOPS-EGRESS -p tcp -j REJECT --reject-with tcp-reset',
      '-A ORCAOPS-EGRESS -j REJECT --reject-with icmp-port-unreachable',
    ].join('\n');
    expect(acceptedPorts(rules)).toEqual([41234, 39001]);
  });

  it('should find the ports listening on exactly the bridge address in /proc/net/tcp', () => {
    // 172.30.0.1:41234 LISTEN, 0.0.0.0:39001 LISTEN (all interfaces: not a gateway), 172.30.0.1:40000 ESTABLISHED.
    const proc = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 01001EAC:A112 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0',
      '   1: 00000000:9859 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 100 0 0 10 0',
      '   2: 01001EAC:9C40 02001EAC:D431 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 100 0 0 10 0',
    ].join('\n');
    expect([...listeningPorts(proc, '172.30.0.1')]).toEqual([41234]);
    expect([...listeningPorts(proc, '10.0.0.1')]).toEqual([]);
  });
});
