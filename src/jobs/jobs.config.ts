import { registerAs } from '@nestjs/config';
import { readEnv } from 'src/config/orcaops.config';

/** Job execution settings (server-wide). */
export const jobsConfig = registerAs('jobs', () => {
  const env = readEnv();
  return {
    /** Jobs running at once on this server. */
    maxConcurrent: env.ORCAOPS_MAX_CONCURRENT_JOBS,
    /** Default per-workspace cap on running jobs (a workspace setting may lower or raise it). */
    maxConcurrentPerWorkspace: 4,
    outputCapBytes: 10 * 1024 * 1024,
    /** How long containers kept by the cleanup policy stay before the reaper removes them. */
    keptContainerTtlSeconds: 3600,
    defaultRetentionDays: 30,
    reaperIntervalMs: 15_000,
    /** A running job whose runner has not reported for this long is considered interrupted. */
    heartbeatStaleMs: 60_000,
  };
});

export type JobsConfig = ReturnType<typeof jobsConfig>;
