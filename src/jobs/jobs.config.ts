import { registerAs } from '@nestjs/config';
import { readEnv } from 'src/config/orcaops.config';

/** Job execution settings (server-wide). */
export const jobsConfig = registerAs('jobs', () => {
  const env = readEnv();
  return {
    /** Jobs running at once on this server. */
    maxConcurrent: env.ORCAOPS_MAX_CONCURRENT_JOBS,
    outputCapBytes: env.ORCAOPS_JOB_OUTPUT_CAP_BYTES,
    /** Bytes read back from each of a workflow step's GITHUB_* files (and the job's summary and env in all). */
    stepFileMaxBytes: env.ORCAOPS_STEP_FILE_MAX_BYTES,
    /** How long containers kept by the cleanup policy stay before the reaper removes them. */
    keptContainerTtlSeconds: 3600,
    defaultRetentionDays: 30,
    reaperIntervalMs: 15_000,
    /** Queued jobs older than this are dispatched again (covers an enqueue lost after its commit). */
    requeueAfterMs: 30_000,
    /** Statement timeout of searches that read job output. */
    searchTimeoutMs: env.ORCAOPS_SEARCH_TIMEOUT_MS,
    /** Rows one export streams at most, and jobs one delete-by-query removes at most (bounded work per request). */
    exportMaxRows: 100_000,
    bulkDeleteMax: 1_000,
  };
});

export type JobsConfig = ReturnType<typeof jobsConfig>;
