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
    /** Decisions kept per workspace in the egress log (older rows are pruned). */
    logPerWorkspace: 100_000,
    /** Decisions of one workspace waiting for the log's next batch; past it they are dropped (and counted in the server log). */
    logPendingPerWorkspace: 5_000,
    /** How often the log and the byte counters are written. */
    logFlushMs: 1_000,
    /** Days the log is kept when the workspace sets no job_retention_days (the jobs' default). */
    retentionDays: 30,
  };
});

export type EgressConfig = ReturnType<typeof egressConfig>;
