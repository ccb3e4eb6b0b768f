import { MetricsService } from 'src/metrics/metrics.service';
import { PlatformGauges } from 'src/metrics/platform-gauges';
import { WarmPoolService } from 'src/sandboxes/warm-pool.service';
import type { TestApp } from '../support/app';
import { createTestApp } from '../support/app';
import { removeInstallationContainers } from '../support/docker';
import { api } from '../support/http';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

const METRICS_TOKEN = 'metrics-docker-token-0123456789abcdefghijklm';

/** One sample's value from the exposition, or undefined when the series is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Prometheus figures and the per-workspace aggregates after real jobs and a pooled sandbox on the engine. */
describe('metrics after real work on the engine', () => {
  let t: TestApp;
  let ws: SeededWorkspace;
  let other: SeededWorkspace;

  beforeAll(async () => {
    t = await createTestApp({ ORCAOPS_METRICS_TOKEN: METRICS_TOKEN, ORCAOPS_SANDBOX_POOL: 'orcaops/busybox=1' });
    ws = await seedWorkspace(t.app, 'metrics-docker');
    other = await seedWorkspace(t.app, 'metrics-docker-other');
  });
  afterAll(async () => {
    await removeInstallationContainers(t.databaseUrl);
    await t.close();
  });

  const scrape = async (): Promise<string> => {
    const res = await api(t.app, 'GET', '/metrics', { token: METRICS_TOKEN });
    expect(res.status).toBe(200);
    return res.body as string;
  };

  async function run(token: string, command: string): Promise<any> {
    const res = await api(t.app, 'POST', '/v1/jobs', { token, body: { image: 'orcaops/busybox', command, tags: ['metrics'] } });
    expect(res.status).toBe(201);
    const done = await api(t.app, 'GET', `/v1/jobs/${res.body.id}/wait?timeout_seconds=120`, { token });
    expect(done.status).toBe(200);
    return done.body;
  }

  it('counts jobs by outcome, their durations and queue waits, and the engine calls they made', async () => {
    const before = await scrape();
    expect(await run(ws.tokens.developer.token, 'echo fine')).toMatchObject({ status: 'succeeded' });
    expect(await run(ws.tokens.developer.token, 'exit 4')).toMatchObject({ status: 'failed', exit_code: 4 });
    expect(await run(other.tokens.developer.token, 'echo other')).toMatchObject({ status: 'succeeded' });
    const text = await scrape();
    const grew = (series: string): number => (sample(text, series) ?? 0) - (sample(before, series) ?? 0);
    expect(grew('orcaops_jobs_finished_total{status="succeeded"}')).toBe(2);
    expect(grew('orcaops_jobs_finished_total{status="failed"}')).toBe(1);
    expect(grew('orcaops_job_duration_seconds_count{status="succeeded"}')).toBe(2);
    expect(grew('orcaops_job_queue_wait_seconds_count')).toBe(3);
    expect(grew('orcaops_engine_call_duration_seconds_count{operation="create_container",outcome="ok"}')).toBeGreaterThanOrEqual(3);
    expect(grew('orcaops_engine_call_duration_seconds_count{operation="start_container",outcome="ok"}')).toBeGreaterThanOrEqual(3);
    // The failed job's container is kept (default cleanup policy): two removals.
    expect(grew('orcaops_engine_call_duration_seconds_count{operation="remove_container",outcome="ok"}')).toBeGreaterThanOrEqual(2);
    // The slot is given back just after the waiter is woken, so `running` may still count the last job.
    expect(sample(text, 'orcaops_job_slots{state="capacity"}')).toBe(4);
    expect(sample(text, 'orcaops_job_slots{state="running"}')).toBeLessThanOrEqual(1);
    expect(text).toMatch(/orcaops_http_request_duration_seconds_count\{method="POST",route="\/v1\/jobs",status="201"\} [3-9]/);
  });

  it('aggregates the real runs per workspace, with durations, CPU and memory', async () => {
    const res = await api(t.app, 'GET', '/v1/metrics/jobs?tag=metrics', { token: ws.tokens.viewer.token });
    expect(res.status).toBe(200);
    const [total] = res.body.totals;
    expect(total).toMatchObject({ total: 2, succeeded: 1, failed: 1, success_rate: 0.5, unfinished: 0 });
    expect(total.duration_ms.p50).toBeGreaterThan(0);
    expect(total.queue_wait_ms.p50).toBeGreaterThanOrEqual(0);
    expect(res.body.buckets).toHaveLength(1);
    // The hourly roll-up (threshold 0: every range through it) counts the runner's real writes the same way.
    // Two whole hours (the last and the current one), so the whole range is read from job_metric_hours.
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    const range = `/v1/metrics/jobs?bucket=hour&from=${new Date(hour - 3_600_000).toISOString()}&to=${new Date(hour + 3_600_000).toISOString()}`;
    const service = t.app.get(MetricsService);
    const exact = await api(t.app, 'GET', range, { token: ws.tokens.viewer.token });
    service.exactPercentilesUpTo = 0;
    try {
      const rolled = await api(t.app, 'GET', range, { token: ws.tokens.viewer.token });
      expect([exact.status, rolled.status]).toEqual([200, 200]);
      const counts = (r: any) => [r.total, r.succeeded, r.failed, r.timed_out, r.cancelled, r.unfinished, r.cpu_seconds.total, r.memory_peak_bytes.max];
      expect(rolled.body.totals.map(counts)).toEqual(exact.body.totals.map(counts));
      expect(rolled.body.totals[0].total).toBeGreaterThanOrEqual(2);
    } finally {
      service.exactPercentilesUpTo = 10_000;
    }
  });

  it('reports warm-pool hits and live sandboxes', async () => {
    const pool = t.app.get(WarmPoolService);
    expect(await pool.whenFull(30_000)).toBe(true);
    const filled = await scrape();
    expect(sample(filled, 'orcaops_sandbox_pool_containers{image="orcaops/busybox:latest",state="idle"}')).toBe(1);
    const created = await api(t.app, 'POST', '/v1/sandboxes', { token: ws.tokens.developer.token, body: { image: 'orcaops/busybox' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'ready', pooled: true });
    const ineligible = await api(t.app, 'POST', '/v1/sandboxes', { token: ws.tokens.developer.token, body: { image: 'orcaops/busybox', resources: { memory_mb: 128 } } });
    expect(ineligible.status).toBe(201);
    await t.app.get(PlatformGauges).refreshNow();
    const text = await scrape();
    expect(sample(text, 'orcaops_sandbox_pool_takes_total{result="hit"}')).toBe(1);
    expect(sample(text, 'orcaops_sandbox_pool_takes_total{result="ineligible"}')).toBe(1);
    expect(sample(text, 'orcaops_sandboxes{state="ready"}')).toBe(2);
    for (const id of [created.body.id, ineligible.body.id]) {
      expect((await api(t.app, 'DELETE', `/v1/sandboxes/${id}`, { token: ws.tokens.developer.token })).status).toBeLessThan(300);
    }
  });
});
