/**
 * The quota vocabulary: every limit a workspace has, how it is measured and when it resets. Pure data
 * and functions (no Nest, no I/O), shared by the service, DTOs, the CLI and docs.
 */

export const QUOTAS = [
  'concurrent_jobs',
  'running_jobs',
  'jobs_per_day',
  'cpu_seconds_per_day',
  'cpu_seconds_per_month',
  'concurrent_sandboxes',
  'sandbox_seconds_per_day',
  'sandbox_seconds_per_month',
  'artifact_storage_bytes',
  'workflow_service_containers',
  'workflow_service_memory_mb',
  'workflow_sources',
  'workflow_source_bytes',
] as const;
export type Quota = (typeof QUOTAS)[number];

export type QuotaPeriod = 'day' | 'month';

export interface QuotaDefinition {
  /** What `current` counts, for people (docs, CLI). */
  description: string;
  unit: 'jobs' | 'sandboxes' | 'seconds' | 'bytes' | 'containers' | 'megabytes' | 'sources';
  /** Consumption quotas count per UTC day or month; concurrency and storage quotas have no period. */
  period?: QuotaPeriod;
  /** The built-in limit when neither the workspace nor the organisation sets one; null = unlimited. */
  builtIn: number | null;
  /** Accepted range of a limit. */
  min: number;
  max: number;
}

export const QUOTA_DEFINITIONS: Readonly<Record<Quota, QuotaDefinition>> = {
  concurrent_jobs: { description: 'jobs admitted and not finished (queued, running, awaiting approval); over it a submit is refused', unit: 'jobs', builtIn: null, min: 1, max: 100_000 },
  running_jobs: { description: 'jobs running at once; admitted jobs over it wait in the queue (a scheduling cap, never refuses)', unit: 'jobs', builtIn: 4, min: 1, max: 64 },
  jobs_per_day: { description: 'jobs submitted today (UTC)', unit: 'jobs', period: 'day', builtIn: null, min: 1, max: 10_000_000 },
  cpu_seconds_per_day: { description: 'CPU-seconds measured for jobs (and workflow services) that finished today (UTC)', unit: 'seconds', period: 'day', builtIn: null, min: 1, max: 1_000_000_000 },
  cpu_seconds_per_month: { description: 'CPU-seconds measured for jobs (and workflow services) that finished this month (UTC)', unit: 'seconds', period: 'month', builtIn: null, min: 1, max: 1_000_000_000 },
  concurrent_sandboxes: { description: 'sandboxes alive at once (starting, ready, stopping)', unit: 'sandboxes', builtIn: 10, min: 1, max: 1000 },
  sandbox_seconds_per_day: { description: 'sandbox wall-clock seconds today (UTC), running ones up to now', unit: 'seconds', period: 'day', builtIn: null, min: 60, max: 10_000_000 },
  sandbox_seconds_per_month: { description: 'sandbox wall-clock seconds this month (UTC), running ones up to now', unit: 'seconds', period: 'month', builtIn: null, min: 60, max: 1_000_000_000 },
  artifact_storage_bytes: { description: 'bytes of stored job artifacts', unit: 'bytes', builtIn: null, min: 1, max: 1e15 },
  workflow_service_containers: { description: 'workflow service containers (services: of running workflow instances and live environments) at once; an instance over it waits, one that alone asks for more fails', unit: 'containers', builtIn: 8, min: 1, max: 1000 },
  workflow_service_memory_mb: { description: 'memory limit (MiB) of the workflow service containers running at once; over it like workflow_service_containers', unit: 'megabytes', builtIn: null, min: 16, max: 10_000_000 },
  workflow_sources: { description: 'uploaded workflow sources stored (POST /v1/workflows/sources); kept 7 days unless a running run uses them', unit: 'sources', builtIn: 100, min: 1, max: 100_000 },
  workflow_source_bytes: { description: 'bytes of uploaded workflow sources stored', unit: 'bytes', builtIn: 1024 * 1024 * 1024, min: 1, max: 1e15 },
};

/**
 * Workspace settings keys that predate quotas. They are still accepted by PATCH /v1/workspaces/:id and
 * written to the quota table (the one place limits live); the Quotas migration moved stored values.
 */
export const LEGACY_SETTING_QUOTAS = {
  max_concurrent_jobs: 'running_jobs',
  max_sandboxes: 'concurrent_sandboxes',
  max_sandbox_seconds_per_day: 'sandbox_seconds_per_day',
} as const satisfies Record<string, Quota>;
export type LegacyQuotaSetting = keyof typeof LEGACY_SETTING_QUOTAS;

/** What each kind of work is checked against when it is admitted. */
export const JOB_ADMISSION_QUOTAS: readonly Quota[] = ['concurrent_jobs', 'jobs_per_day', 'cpu_seconds_per_day', 'cpu_seconds_per_month'];
export const SANDBOX_ADMISSION_QUOTAS: readonly Quota[] = ['concurrent_sandboxes', 'sandbox_seconds_per_day', 'sandbox_seconds_per_month'];
/** A workflow instance's service containers count like jobs for CPU, plus their own concurrency caps. */
export const WORKFLOW_SERVICE_ADMISSION_QUOTAS: readonly Quota[] = ['cpu_seconds_per_day', 'cpu_seconds_per_month', 'workflow_service_containers', 'workflow_service_memory_mb'];
export const WORKFLOW_SOURCE_ADMISSION_QUOTAS: readonly Quota[] = ['workflow_sources', 'workflow_source_bytes'];

export function isQuota(value: string): value is Quota {
  return (QUOTAS as readonly string[]).includes(value);
}

export interface PeriodBounds {
  start: Date;
  /** Exclusive; also when the count resets. */
  end: Date;
}

/** The UTC day or month containing `now`. */
export function periodBounds(period: QuotaPeriod, now: Date): PeriodBounds {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  if (period === 'month') return { start: new Date(Date.UTC(y, m, 1)), end: new Date(Date.UTC(y, m + 1, 1)) };
  const d = now.getUTCDate();
  return { start: new Date(Date.UTC(y, m, d)), end: new Date(Date.UTC(y, m, d + 1)) };
}

/** The UTC calendar day of `at` as YYYY-MM-DD (the key of the daily usage ledger). */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}
