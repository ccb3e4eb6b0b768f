import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** One sample of a gauge read at scrape time: its labels (bounded sets only) and value. */
export interface GaugeSample {
  labels?: Record<string, string>;
  value: number;
}

/** The event-loop delay histogram's resolution: fine enough to see 10 ms stalls (issue 19). */
export const EVENT_LOOP_PRECISION_MS = 10;

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const RUN_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/**
 * The server's Prometheus registry and its instruments (docs/monitoring.md lists every metric). One
 * registry per application, not prom-client's global one, so two apps in one process (tests) do not
 * share or double-register series. Labels are bounded sets only: route templates (never raw URLs),
 * engine operations (a fixed list), job outcomes, pool images (from configuration). No workspace
 * label: per-workspace figures are the REST aggregates (/v1/metrics/jobs), scoped to the caller.
 */
@Injectable()
export class PlatformMetrics {
  readonly registry = new Registry();

  readonly httpRequestDuration = new Histogram({
    name: 'orcaops_http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status code',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });

  readonly engineCallDuration = new Histogram({
    name: 'orcaops_engine_call_duration_seconds',
    help: 'Docker engine call duration by operation and outcome (ok or error)',
    labelNames: ['operation', 'outcome'] as const,
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });

  readonly engineCallErrors = new Counter({
    name: 'orcaops_engine_call_errors_total',
    help: 'Docker engine calls that failed, by operation and kind (timeout or error)',
    labelNames: ['operation', 'kind'] as const,
    registers: [this.registry],
  });

  readonly jobQueueWait = new Histogram({
    name: 'orcaops_job_queue_wait_seconds',
    help: 'Time from a job’s submission to its start on this server',
    buckets: RUN_BUCKETS,
    registers: [this.registry],
  });

  readonly jobDuration = new Histogram({
    name: 'orcaops_job_duration_seconds',
    help: 'Run time of jobs that ended on this server, by terminal status',
    labelNames: ['status'] as const,
    buckets: RUN_BUCKETS,
    registers: [this.registry],
  });

  readonly jobsFinished = new Counter({
    name: 'orcaops_jobs_finished_total',
    help: 'Jobs that ended on this server, by terminal status',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  readonly poolTakes = new Counter({
    name: 'orcaops_sandbox_pool_takes_total',
    help: 'Sandbox creates that asked the warm pool: hit (a warm container), miss (pool empty or no pool for the image), ineligible (network or resources not the pool’s)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  private defaultsOn = false;

  /** prom-client's process and Node metrics, event-loop lag included; once per registry. */
  collectDefaults(): void {
    if (this.defaultsOn) return;
    this.defaultsOn = true;
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_PRECISION_MS });
  }

  /**
   * A gauge read when scraped. `read` must be cheap and synchronous (in-memory state or a cached
   * figure): a scrape never waits on the database or the engine.
   */
  gauge(name: string, help: string, labelNames: readonly string[], read: () => GaugeSample[] | number): void {
    if (this.registry.getSingleMetric(name)) this.registry.removeSingleMetric(name);
    new Gauge({
      name,
      help,
      labelNames: [...labelNames],
      registers: [this.registry],
      collect() {
        const samples = read();
        this.reset();
        if (typeof samples === 'number') this.set(samples);
        else for (const s of samples) this.set(s.labels ?? {}, s.value);
      },
    });
  }

  /** The exposition in the Prometheus text format (0.0.4), which every scraper reads. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
