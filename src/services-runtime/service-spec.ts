/**
 * A companion service as the service machinery runs it (workflow `services:`, environment services):
 * the shape both definitions are turned into before anything starts.
 */

export interface HealthcheckSpec {
  cmd: string | string[];
  intervalMs?: number;
  timeoutMs?: number;
  retries?: number;
  startPeriodMs?: number;
}

export interface ServiceDefinition {
  id: string;
  /** May contain `${{ }}` in a workflow; empty after evaluation means the service is not started. */
  image: string;
  env: Record<string, string>;
  ports: string[];
  volumes: string[];
  /** docker-run flags, including `--health-*`. */
  options?: string;
  /** Native structured health check; `none` disables readiness, `tcp` forces port probing. */
  healthcheck?: HealthcheckSpec | 'none' | 'tcp';
  command?: string | string[];
  entrypoint?: string | string[];
  readinessTimeoutMs?: number;
  /** `credentials:` was given (the values are never stored). */
  hasCredentials?: boolean;
  /** Services started and ready before this one (environments' `depends_on`; workflows start all at once). */
  dependsOn?: string[];
}
