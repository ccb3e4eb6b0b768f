import { registerAs } from '@nestjs/config';
import { readEnv } from 'src/config/orcaops.config';

/** Egress gateway bounds (issue 14; no shared fate: every connection and byte is capped per workspace). */
export const egressConfig = registerAs('egress', () => {
  const env = readEnv();
  return {
    dnsServers: env.ORCAOPS_EGRESS_DNS_SERVERS.split(',').map((s) => s.trim()).filter(Boolean),
    connectionsPerWorkspace: env.ORCAOPS_EGRESS_CONNECTIONS_PER_WORKSPACE,
    connectionsTotal: env.ORCAOPS_EGRESS_CONNECTIONS_TOTAL,
    bytesPerDay: env.ORCAOPS_EGRESS_BYTES_PER_DAY,
    idleMs: env.ORCAOPS_EGRESS_IDLE_MS,
    /** Resolving a name and opening the upstream connection together. */
    connectTimeoutMs: 10_000,
    /** Recent decisions kept per workspace for the egress log. */
    logPerWorkspace: 1000,
  };
});

export type EgressConfig = ReturnType<typeof egressConfig>;
