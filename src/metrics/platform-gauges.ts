import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { PeriodicPass } from 'src/common/periodic-pass';
import { StreamSlots } from 'src/streams/stream-slots';
import { PlatformMetrics } from 'src/telemetry/platform-metrics';

/** How often the database-backed gauges are re-read; a scrape only reads the cached figures. */
export const GAUGE_REFRESH_MS = 10_000;

/** Live (unfinished) states only: terminal ones grow without bound and are counted by orcaops_jobs_finished_total. */
const LIVE_JOB_STATES = ['awaiting_approval', 'queued', 'running'];
const LIVE_SANDBOX_STATES = ['starting', 'ready', 'stopping'];

interface Snapshot {
  jobs: Map<string, number>;
  sandboxes: Map<string, number>;
  oldestQueuedSeconds: number;
  refreshedAt: number;
}

interface PgPoolLike {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

/**
 * Installation-wide gauges that need the database (jobs and sandboxes by live state, the queue's depth
 * and oldest wait), refreshed every GAUGE_REFRESH_MS by one small grouped query over the status
 * indexes, plus this process's database pool and open streams. A scrape never queries the database.
 */
@Injectable()
export class PlatformGauges implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('PlatformGauges');
  private snapshot: Snapshot = { jobs: new Map(), sandboxes: new Map(), oldestQueuedSeconds: 0, refreshedAt: 0 };
  private readonly pass = new PeriodicPass<void>({
    name: 'metrics gauge refresh',
    intervalMs: GAUGE_REFRESH_MS,
    pass: () => this.refresh(),
    fallback: undefined,
    logger: this.logger,
  });

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly metrics: PlatformMetrics,
    private readonly streams: StreamSlots,
  ) {
    this.register();
  }

  async onApplicationBootstrap(): Promise<void> {
    this.metrics.collectDefaults();
    await this.pass.run();
    this.pass.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pass.stop();
  }

  /** Re-reads the database figures now (the timer does it every GAUGE_REFRESH_MS; tests call it). */
  refreshNow(): Promise<void> {
    return this.pass.run();
  }

  private async refresh(): Promise<void> {
    // Counts only, across workspaces, no row leaves: these gauges carry no workspace label.
    const rows: Array<{ kind: string; status: string; n: string; oldest: string | null }> = await this.dataSource.query(
      `SELECT 'job' AS kind, status, count(*) AS n, EXTRACT(EPOCH FROM now() - min(created_at)) AS oldest
         FROM jobs WHERE status = ANY($1) GROUP BY status
       UNION ALL
       SELECT 'sandbox', status, count(*), NULL FROM sandboxes WHERE status = ANY($2) GROUP BY status`,
      [LIVE_JOB_STATES, LIVE_SANDBOX_STATES],
    );
    const jobs = new Map<string, number>(LIVE_JOB_STATES.map((s) => [s, 0]));
    const sandboxes = new Map<string, number>(LIVE_SANDBOX_STATES.map((s) => [s, 0]));
    let oldestQueuedSeconds = 0;
    for (const row of rows) {
      (row.kind === 'job' ? jobs : sandboxes).set(row.status, Number(row.n));
      if (row.kind === 'job' && row.status === 'queued') oldestQueuedSeconds = Math.max(0, Number(row.oldest ?? 0));
    }
    this.snapshot = { jobs, sandboxes, oldestQueuedSeconds, refreshedAt: Date.now() };
  }

  private register(): void {
    const m = this.metrics;
    const byState = (counts: Map<string, number>): Array<{ labels: Record<string, string>; value: number }> =>
      [...counts].map(([state, value]) => ({ labels: { state }, value }));
    m.gauge('orcaops_jobs', 'Unfinished jobs of the installation by state (refreshed every 10 s)', ['state'], () => byState(this.snapshot.jobs));
    m.gauge('orcaops_job_queue_depth', 'Jobs queued in the installation, waiting to start (refreshed every 10 s)', [], () => this.snapshot.jobs.get('queued') ?? 0);
    m.gauge('orcaops_job_queue_oldest_wait_seconds', 'How long the oldest queued job has waited (refreshed every 10 s)', [], () => this.snapshot.oldestQueuedSeconds);
    m.gauge('orcaops_sandboxes', 'Live sandboxes of the installation by state (refreshed every 10 s)', ['state'], () => byState(this.snapshot.sandboxes));
    m.gauge('orcaops_metrics_refresh_age_seconds', 'Age of the database-backed gauges above', [], () =>
      this.snapshot.refreshedAt ? (Date.now() - this.snapshot.refreshedAt) / 1000 : -1,
    );
    m.gauge('orcaops_db_pool_connections', 'This process’s PostgreSQL pool: total, idle, and waiting (callers queued for a connection)', ['state'], () => {
      const pool = (this.dataSource.driver as unknown as { master?: PgPoolLike }).master;
      if (!pool) return [];
      return [
        { labels: { state: 'total' }, value: pool.totalCount },
        { labels: { state: 'idle' }, value: pool.idleCount },
        { labels: { state: 'waiting' }, value: pool.waitingCount },
      ];
    });
    m.gauge('orcaops_streams_open', 'Open response streams on this server (SSE, long-polls, MCP requests)', [], () => this.streams.open);
  }
}
