import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetricsService } from 'src/metrics/metrics.service';
import { PlatformGauges } from 'src/metrics/platform-gauges';
import type { TestApp } from '../support/app';
import { createTestApp, TEST_ADMIN_TOKEN } from '../support/app';
import { runCli } from '../support/cli';
import { httpClient, listen } from '../support/mcp';
import { api } from '../support/http';
import { sql } from '../support/sql';
import type { SeededWorkspace } from '../support/tenants';
import { seedWorkspace } from '../support/tenants';

const METRICS_TOKEN = 'metrics-scrape-token-0123456789abcdefghijkl';
const scrape = (t: TestApp, token?: string) => api(t.app, 'GET', '/metrics', { token });

interface SeedJob {
  image?: string;
  status: 'succeeded' | 'failed' | 'timed_out' | 'cancelled' | 'queued' | 'running';
  createdAt: string;
  waitMs?: number;
  durationMs?: number;
  cpu?: number;
  memory?: number;
  tags?: string[];
}

/** Job rows as the runner leaves them, written straight to the table (hundreds of real runs would take minutes). */
async function seedJobs(t: TestApp, workspaceId: string, jobs: SeedJob[]): Promise<void> {
  for (const j of jobs) {
    const created = new Date(j.createdAt);
    const started = j.waitMs === undefined ? null : new Date(created.getTime() + j.waitMs);
    const finished = started && j.durationMs !== undefined ? new Date(started.getTime() + j.durationMs) : null;
    await sql(
      t.databaseUrl,
      `INSERT INTO jobs (id, workspace_id, status, spec, image, tags, request_hash, created_by, cleanup_policy,
                         created_at, started_at, finished_at, cpu_seconds, memory_peak_bytes)
       VALUES ($1, $2, $3, '{}'::jsonb, $4, $5, 'seed', 'seed', 'remove', $6, $7, $8, $9, $10)`,
      [randomUUID(), workspaceId, j.status, j.image ?? 'orcaops/python', j.tags ?? [], created, started, finished, j.cpu ?? null, j.memory ?? null],
    );
  }
}

describe('metrics: Prometheus endpoint and per-workspace aggregates', () => {
  let t: TestApp;
  let a: SeededWorkspace;
  let b: SeededWorkspace;

  beforeAll(async () => {
    t = await createTestApp({ ORCAOPS_RUNTIME: 'fake', ORCAOPS_METRICS_TOKEN: METRICS_TOKEN });
    a = await seedWorkspace(t.app, 'metrics-a');
    b = await seedWorkspace(t.app, 'metrics-b');
    // Workspace A, 2026-01-01 10:00–11:00 UTC: four finished python jobs and one busybox job, one queued.
    await seedJobs(t, a.id, [
      { status: 'succeeded', createdAt: '2026-01-01T10:00:00Z', waitMs: 100, durationMs: 1000, cpu: 1, memory: 100, tags: ['nightly'] },
      { status: 'succeeded', createdAt: '2026-01-01T10:10:00Z', waitMs: 200, durationMs: 2000, cpu: 2, memory: 300, tags: ['nightly'] },
      { status: 'failed', createdAt: '2026-01-01T10:20:00Z', waitMs: 300, durationMs: 3000, cpu: 3, memory: 200 },
      { status: 'timed_out', createdAt: '2026-01-01T10:30:00Z', waitMs: 400, durationMs: 4000, cpu: 4, memory: 400 },
      { status: 'succeeded', image: 'orcaops/busybox', createdAt: '2026-01-01T11:05:00Z', waitMs: 0, durationMs: 500, cpu: 0.5, memory: 50 },
      { status: 'queued', createdAt: '2026-01-01T11:30:00Z' },
    ]);
    // Workspace B, same hours: must never show in A's figures.
    await seedJobs(t, b.id, [
      { status: 'failed', createdAt: '2026-01-01T10:05:00Z', waitMs: 9000, durationMs: 90_000, cpu: 99, memory: 9999 },
      { status: 'failed', image: 'orcaops/busybox', createdAt: '2026-01-01T11:05:00Z', waitMs: 9000, durationMs: 90_000, cpu: 99, memory: 9999 },
    ]);
  });
  afterAll(() => t.close());

  const range = 'from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z';
  let url: string | undefined;
  const baseUrl = async (): Promise<string> => (url ??= await listen(t));
  const metrics = (ws: SeededWorkspace, query: string, role: keyof SeededWorkspace['tokens'] = 'viewer') =>
    api(t.app, 'GET', `/v1/metrics/jobs?${query}`, { token: ws.tokens[role].token });

  describe('GET /metrics', () => {
    it('refuses a missing or wrong token, and API tokens (admin or workspace), with 401', async () => {
      for (const token of [undefined, 'not-the-metrics-token-0123456789abcdefghij', TEST_ADMIN_TOKEN, a.tokens.admin.token]) {
        const res = await scrape(t, token);
        expect(res.status).toBe(401);
        expect(res.body.error.code).toBe('unauthenticated');
      }
    });

    it('answers the metrics token with the Prometheus text format and the platform metrics', async () => {
      await api(t.app, 'GET', `/v1/jobs/${randomUUID()}`, { token: a.tokens.viewer.token });
      await t.app.get(PlatformGauges).refreshNow();
      const res = await scrape(t, METRICS_TOKEN);
      expect(res.status).toBe(200);
      expect(String(res.headers['content-type'])).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = res.body as string;
      for (const name of [
        'orcaops_http_request_duration_seconds_bucket',
        'orcaops_engine_call_duration_seconds',
        'orcaops_engine_call_errors_total',
        'orcaops_job_queue_wait_seconds',
        'orcaops_jobs_finished_total',
        'orcaops_job_slots{state="capacity"}',
        'orcaops_sandbox_pool_takes_total',
        'orcaops_sandbox_pool_containers',
        'orcaops_mcp_sessions 0',
        'orcaops_streams_open 0',
        'orcaops_db_pool_connections{state="total"}',
        'orcaops_metrics_refresh_age_seconds',
        'process_cpu_seconds_total',
        'nodejs_eventloop_lag_seconds',
        'nodejs_eventloop_lag_p99_seconds',
        'nodejs_heap_size_used_bytes',
      ]) {
        expect(text).toContain(name);
      }
      // Installation-wide live figures from the database (A's queued job; no workspace label anywhere).
      expect(text).toContain('orcaops_jobs{state="queued"} 1');
      expect(text).toContain('orcaops_job_queue_depth 1');
      expect(text).toContain('orcaops_sandboxes{state="ready"} 0');
      expect(text).not.toMatch(/[{,]workspace(_id)?=/);
      // Route templates, never raw ids.
      expect(text).toMatch(/orcaops_http_request_duration_seconds_count\{method="GET",route="\/v1\/jobs\/:jobId",status="404"\} 1/);
      expect(text).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/);
    });

    it('serves every metric the shipped Grafana dashboard queries', async () => {
      const dashboard = JSON.parse(readFileSync(join(__dirname, '..', '..', 'docs', 'grafana', 'orcaops.json'), 'utf8')) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
      const queried = dashboard.panels.flatMap((p) => p.targets ?? []).flatMap((target) => target.expr.match(/\b(?:orcaops|nodejs|process)_[a-z0-9_]+/g) ?? []);
      // A histogram is queried through its _bucket/_count series; the exposition declares the family.
      const names = new Set(queried.map((name) => name.replace(/_(bucket|count|sum)$/, '')));
      expect(names.size).toBeGreaterThan(15);
      const text = (await scrape(t, METRICS_TOKEN)).body as string;
      const served = new Set([...text.matchAll(/^# TYPE ([a-z0-9_]+) /gm)].map((m) => m[1]));
      expect([...names].filter((name) => !served.has(name))).toEqual([]);
    });

    it('does not exist (404 like an unknown route) while ORCAOPS_METRICS_TOKEN is unset', async () => {
      const bare = await createTestApp({ ORCAOPS_RUNTIME: 'fake' });
      try {
        const res = await scrape(bare, TEST_ADMIN_TOKEN);
        const unknown = await api(bare.app, 'GET', '/no-such-route', { token: TEST_ADMIN_TOKEN });
        expect(res.status).toBe(404);
        expect(unknown.status).toBe(404);
        expect({ ...res.body.error, request_id: undefined }).toEqual({ ...unknown.body.error, request_id: undefined });
      } finally {
        await bare.close();
      }
    });
  });

  describe('GET /v1/metrics/jobs', () => {
    it('aggregates one workspace: counts, success rate, percentiles of duration and queue wait, CPU and memory', async () => {
      const res = await metrics(a, `${range}&bucket=hour`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ workspace_id: a.id, from: '2026-01-01T00:00:00.000Z', to: '2026-01-02T00:00:00.000Z', bucket: 'hour', group_by: null });
      expect(res.body.totals).toEqual([
        {
          bucket_start: null,
          image: null,
          total: 6,
          succeeded: 3,
          failed: 1,
          timed_out: 1,
          cancelled: 0,
          unfinished: 1,
          success_rate: 0.6,
          // percentile_cont over 500, 1000, 2000, 3000, 4000 ms.
          duration_ms: { p50: 2000, p95: 3800, p99: 3960 },
          queue_wait_ms: { p50: 200, p95: 380, p99: 396 },
          cpu_seconds: { total: 10.5, avg: 2.1 },
          memory_peak_bytes: { avg: 210, max: 400 },
        },
      ]);
      expect(res.body.buckets.map((r: any) => [r.bucket_start, r.total, r.succeeded, r.unfinished])).toEqual([
        ['2026-01-01T10:00:00.000Z', 4, 2, 0],
        ['2026-01-01T11:00:00.000Z', 2, 1, 1],
      ]);
      expect(res.body.buckets[0].duration_ms).toEqual({ p50: 2500, p95: 3850, p99: 3970 });
    });

    it('splits by image and filters by image and tag', async () => {
      const byImage = await metrics(a, `${range}&group_by=image`);
      expect(byImage.status).toBe(200);
      expect(byImage.body.totals.map((r: any) => [r.image, r.total, r.success_rate])).toEqual([
        ['orcaops/busybox', 1, 1],
        ['orcaops/python', 5, 0.5],
      ]);
      const tagged = await metrics(a, `${range}&tag=nightly`);
      expect(tagged.body.totals[0]).toMatchObject({ total: 2, succeeded: 2, success_rate: 1 });
      const image = await metrics(a, `${range}&image=orcaops/busybox`);
      expect(image.body.totals[0]).toMatchObject({ total: 1, duration_ms: { p50: 500 } });
    });

    it('never counts another workspace’s jobs', async () => {
      const mine = await metrics(b, range);
      expect(mine.body.totals[0]).toMatchObject({ total: 2, failed: 2, cpu_seconds: { total: 198 } });
      const empty = await metrics(b, `${range}&tag=nightly`);
      expect(empty.body.totals[0]).toMatchObject({ total: 0, success_rate: null, duration_ms: { p50: null } });
      expect(empty.body.buckets).toEqual([]);
    });

    it('answers 400 naming the field for bad or unbounded input', async () => {
      const cases: Array<[string, string]> = [
        ['from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', 'from'],
        ['from=2025-01-01T00:00:00Z&to=2026-01-01T00:00:00Z', 'from'],
        ['from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z&bucket=5m', 'bucket'],
        [`${range}&bucket=minute`, 'bucket'],
        [`${range}&group_by=tag`, 'group_by'],
        ['from=yesterday', 'from'],
        [`${range}&workspace_id=${a.id}`, 'workspace_id'],
      ];
      for (const [query, field] of cases) {
        const res = await metrics(a, query);
        expect([query, res.status, res.body.error.code]).toEqual([query, 400, 'validation_failed']);
        expect(JSON.stringify(res.body.error.details)).toContain(field);
      }
    });

    it('needs a workspace token', async () => {
      const res = await api(t.app, 'GET', `/v1/metrics/jobs?${range}`, { token: TEST_ADMIN_TOKEN });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('workspace_token_required');
    });

    it('reaches agents through the MCP tool get_metrics (compact, own workspace only, errors as tool errors)', async () => {
      const url = await baseUrl();
      const mine = await httpClient(url, a.tokens.viewer.token);
      const theirs = await httpClient(url, b.tokens.viewer.token);
      try {
        const args = { from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z', include_buckets: false };
        const res = (await mine.client.callTool({ name: 'get_metrics', arguments: args })) as { isError?: boolean; structuredContent?: any; content: Array<{ text?: string }> };
        expect(res.isError).toBeFalsy();
        expect(res.structuredContent.buckets).toEqual([]);
        expect(res.structuredContent.totals[0]).toMatchObject({ total: 6, success_rate: 0.6, duration_ms: { p95: 3800 }, cpu_seconds_total: 10.5, memory_peak_bytes_max: 400 });
        expect(res.content[0]?.text).toContain('6 job(s), 60.0% succeeded');
        const other = (await theirs.client.callTool({ name: 'get_metrics', arguments: args })) as { structuredContent?: any };
        expect(other.structuredContent.totals[0]).toMatchObject({ total: 2, failed: 2 });
        const bad = (await mine.client.callTool({ name: 'get_metrics', arguments: { from: '2025-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' } })) as { isError?: boolean; content: Array<{ text?: string }> };
        expect(bad.isError).toBe(true);
        expect(bad.content.map((c) => c.text).join('\n')).toContain('90 days');
      } finally {
        await mine.client.close();
        await theirs.client.close();
      }
    });

    it('reaches people through `orcaops metrics` (table and --json)', async () => {
      const env = { ORCAOPS_URL: await baseUrl(), ORCAOPS_TOKEN: a.tokens.viewer.token, ORCAOPS_HOME: t.home };
      const json = await runCli(['--json', 'metrics', '--from', '2026-01-01T00:00:00Z', '--to', '2026-01-02T00:00:00Z', '--by-image'], env);
      expect(json.exitCode).toBe(0);
      expect(JSON.parse(json.stdout).totals.map((r: any) => r.image)).toEqual(['orcaops/busybox', 'orcaops/python']);
      const table = await runCli(['metrics', '--from', '2026-01-01T00:00:00Z', '--to', '2026-01-02T00:00:00Z', '--bucket', 'hour'], env);
      expect(table.exitCode).toBe(0);
      expect(table.stdout).toMatch(/total\s+6\s+3\s+1\s+1\s+0\s+60\.0%\s+2000ms \/ 3800ms \/ 3960ms/);
      expect(table.stdout).toContain('2026-01-01T10:00:00.000Z');
      const bad = await runCli(['metrics', '--bucket', 'minute'], env);
      expect(bad.exitCode).not.toBe(0);
      expect(bad.stderr).toContain('bucket');
    });
  });

  describe('GET /v1/metrics/jobs from the hourly roll-up (ranges with more than exactPercentilesUpTo jobs)', () => {
    const service = (): MetricsService => t.app.get(MetricsService);
    /** The same request answered from the jobs (exact) and from job_metric_hours (threshold 0). */
    const both = async (ws: SeededWorkspace, query: string): Promise<[any, any]> => {
      const exact = await metrics(ws, query);
      service().exactPercentilesUpTo = 0;
      try {
        const rolled = await metrics(ws, query);
        expect([exact.status, rolled.status]).toEqual([200, 200]);
        return [exact.body, rolled.body];
      } finally {
        service().exactPercentilesUpTo = Number.MAX_SAFE_INTEGER;
      }
    };
    beforeAll(() => {
      service().exactPercentilesUpTo = Number.MAX_SAFE_INTEGER;
    });
    afterAll(() => {
      service().exactPercentilesUpTo = 10_000;
    });

    /** Rows equal except percentiles, which are within the roll-up's ±2.5 % (±0.5 ms under 1 ms) of percentile_cont's. */
    function expectSameFigures(rolled: any[], exact: any[]): void {
      const strip = (r: any) => ({ ...r, duration_ms: undefined, queue_wait_ms: undefined });
      expect(rolled.map(strip)).toEqual(exact.map(strip));
      rolled.forEach((row, i) => {
        for (const figure of ['duration_ms', 'queue_wait_ms']) {
          for (const p of ['p50', 'p95', 'p99']) {
            const want = exact[i][figure][p];
            const got = row[figure][p];
            if (want === null) expect(got).toBeNull();
            else expect([figure, p, Math.abs(got - want) <= want * 0.025 + 0.5]).toEqual([figure, p, true]);
          }
        }
      });
    }

    it('gives the same counts, success rate, CPU and memory, and percentiles within ±2.5 %', async () => {
      for (const query of [`${range}&bucket=hour`, `${range}&bucket=day&group_by=image`, `${range}&bucket=week&image=orcaops/busybox`]) {
        const [exact, rolled] = await both(a, query);
        expect(rolled.totals[0].total).toBeGreaterThan(0);
        expectSameFigures(rolled.totals, exact.totals);
        expectSameFigures(rolled.buckets, exact.buckets);
      }
      const [exact] = await both(a, `${range}&bucket=hour`);
      expect(exact.totals[0].duration_ms).toEqual({ p50: 2000, p95: 3800, p99: 3960 });
    });

    it('reads partial hours at either end of the range from the jobs', async () => {
      // 10:15–12:10: the 10:20 and 10:30 jobs (partial hour), 11:00–12:00 from the roll-up, nothing after 12:00.
      const [exact, rolled] = await both(a, 'from=2026-01-01T10:15:00Z&to=2026-01-01T12:10:00Z&bucket=hour');
      expect(rolled.totals[0]).toMatchObject({ total: 4, succeeded: 1, failed: 1, timed_out: 1, unfinished: 1 });
      expectSameFigures(rolled.totals, exact.totals);
      expectSameFigures(rolled.buckets, exact.buckets);
    });

    it('follows every change of the jobs table (finish, delete) in the same transaction, per workspace', async () => {
      const hour = 'from=2026-01-02T00:00:00Z&to=2026-01-02T02:00:00Z&bucket=hour';
      const id = randomUUID();
      await sql(
        t.databaseUrl,
        `INSERT INTO jobs (id, workspace_id, status, spec, image, tags, request_hash, created_by, cleanup_policy, created_at)
         VALUES ($1, $2, 'queued', '{}'::jsonb, 'orcaops/python', '{}', 'seed', 'seed', 'remove', '2026-01-02T00:30:00Z')`,
        [id, a.id],
      );
      let [exact, rolled] = await both(a, hour);
      expect(rolled.totals[0]).toMatchObject({ total: 1, unfinished: 1, duration_ms: { p50: null } });
      expectSameFigures(rolled.totals, exact.totals);
      await sql(
        t.databaseUrl,
        `UPDATE jobs SET status = 'failed', started_at = created_at + interval '250 ms', finished_at = created_at + interval '7250 ms', cpu_seconds = 3, memory_peak_bytes = 777 WHERE id = $1`,
        [id],
      );
      await sql(t.databaseUrl, `UPDATE jobs SET heartbeat_at = now() WHERE id = $1`, [id]);
      [exact, rolled] = await both(a, hour);
      expect(rolled.totals[0]).toMatchObject({ total: 1, failed: 1, unfinished: 0, success_rate: 0, cpu_seconds: { total: 3 }, memory_peak_bytes: { max: 777 } });
      expectSameFigures(rolled.totals, exact.totals);
      // 7 000 ms falls in bin 182, [1.05^181, 1.05^182) ms, read as its middle 1.05^181.5 ≈ 7 013 ms.
      expect(exact.totals[0].duration_ms.p50).toBe(7000);
      expect(rolled.totals[0].duration_ms.p50).toBeCloseTo(1.05 ** 181.5, 2);
      // Workspace B never sees A's hour.
      const [, theirs] = await both(b, hour);
      expect(theirs.totals[0]).toMatchObject({ total: 0 });
      await sql(t.databaseUrl, 'DELETE FROM jobs WHERE id = $1', [id]);
      [exact, rolled] = await both(a, hour);
      expect(rolled.totals[0]).toMatchObject({ total: 0, memory_peak_bytes: { max: null } });
      expectSameFigures(rolled.totals, exact.totals);
      expect(await sql(t.databaseUrl, "SELECT * FROM job_metric_hours WHERE hour >= '2026-01-02T00:00:00Z'")).toEqual([]);
    });

    it('reaches MCP get_metrics and the CLI with the same figures', async () => {
      service().exactPercentilesUpTo = 0;
      const mine = await httpClient(await baseUrl(), a.tokens.viewer.token);
      try {
        const res = (await mine.client.callTool({ name: 'get_metrics', arguments: { from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z', include_buckets: false } })) as { structuredContent?: any };
        expect(res.structuredContent.totals[0]).toMatchObject({ total: 6, success_rate: 0.6, cpu_seconds_total: 10.5, memory_peak_bytes_max: 400 });
        const env = { ORCAOPS_URL: await baseUrl(), ORCAOPS_TOKEN: a.tokens.viewer.token, ORCAOPS_HOME: t.home };
        const json = await runCli(['--json', 'metrics', '--from', '2026-01-01T00:00:00Z', '--to', '2026-01-02T00:00:00Z'], env);
        expect(json.exitCode).toBe(0);
        expect(JSON.parse(json.stdout).totals[0]).toMatchObject({ total: 6, succeeded: 3, success_rate: 0.6 });
      } finally {
        service().exactPercentilesUpTo = Number.MAX_SAFE_INTEGER;
        await mine.client.close();
      }
    });
  });
});
