// The Prometheus scrape and the per-workspace aggregate through a real listening server:
//   npx ts-node -r tsconfig-paths/register --transpile-only bench/metrics-scrape.ts   (npm run bench:metrics)
// Starts an embedded PostgreSQL in a temporary directory, unless DATABASE_URL names a server (a fresh
// database is created on it and dropped afterwards). Seeds BENCH_JOBS job rows (default 100 000) over 30
// days into one workspace with one INSERT … SELECT (the real table and its indexes), sends traffic over
// many routes so the histograms have series, then times GET /metrics (BENCH_N, default 500) and a 30-day
// GET /v1/metrics/jobs (BENCH_AGG_N, default 50). Targets (issue 15): scrape ≤ 50 ms, aggregate ≤ 200 ms.
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { EmbeddedPostgresHandle } from 'src/database/embedded-postgres';
import { startEmbeddedPostgres } from 'src/database/embedded-postgres';
import { MetricsService } from 'src/metrics/metrics.service';
import { PlatformGauges } from 'src/metrics/platform-gauges';
import type { TestApp } from '../test/support/app';
import { createTestApp } from '../test/support/app';
import { freePort } from '../test/support/ports';
import { sql } from '../test/support/sql';
import { seedWorkspace } from '../test/support/tenants';

const N = Number(process.env.BENCH_N ?? 500);
const AGG_N = Number(process.env.BENCH_AGG_N ?? 50);
const JOBS = Number(process.env.BENCH_JOBS ?? 100_000);
const METRICS_TOKEN = 'bench-metrics-token-0123456789abcdefghijklmno';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summarise(samples: number[]): Record<string, number> {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (ms: number): number => Math.round(ms * 100) / 100;
  return { n: sorted.length, median_ms: round(percentile(sorted, 50)), p95_ms: round(percentile(sorted, 95)), max_ms: round(sorted[sorted.length - 1]!) };
}

async function timedGet(url: string, token: string): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const body = await res.arrayBuffer();
  const ms = performance.now() - started;
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${Buffer.from(body).toString()}`);
  return { ms, bytes: body.byteLength };
}

async function postgres(): Promise<{ stop(): Promise<void> }> {
  if (process.env.DATABASE_URL) {
    process.env.ORCAOPS_TEST_PG_URL = process.env.DATABASE_URL;
    return { stop: () => Promise.resolve() };
  }
  const root = mkdtempSync(join(tmpdir(), 'orcaops-bench-pg-'));
  const handle: EmbeddedPostgresHandle = await startEmbeddedPostgres({ dir: join(root, 'postgres'), port: await freePort() });
  process.env.ORCAOPS_TEST_PG_URL = handle.adminUrl;
  return {
    stop: async () => {
      await handle.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** JOBS finished jobs over the last 30 days: mixed outcomes, two images, durations, waits, CPU, memory. */
async function seedJobs(databaseUrl: string, workspaceId: string): Promise<void> {
  await sql(
    databaseUrl,
    `INSERT INTO jobs (id, workspace_id, status, spec, image, tags, request_hash, created_by, cleanup_policy,
                       created_at, started_at, finished_at, cpu_seconds, memory_peak_bytes)
     SELECT gen_random_uuid(), $1,
            (ARRAY['succeeded','succeeded','succeeded','failed','timed_out','cancelled'])[1 + i % 6],
            '{}'::jsonb, CASE WHEN i % 3 = 0 THEN 'orcaops/busybox' ELSE 'orcaops/python' END,
            ARRAY['bench', 'shard-' || (i % 10)], 'seed', 'seed', 'remove',
            c, c + (i % 50) * interval '10 ms', c + (i % 50) * interval '10 ms' + (i % 997) * interval '37 ms',
            (i % 100) / 10.0, 1048576 * (1 + i % 256)
       FROM generate_series(1, $2) AS i, LATERAL (SELECT now() - (i::double precision / $2) * interval '30 days' AS c) t`,
    [workspaceId, JOBS],
  );
  await sql(databaseUrl, 'ANALYZE jobs');
}

async function main(): Promise<void> {
  const pg = await postgres();
  let t: TestApp | undefined;
  try {
    // The anonymous rate limit (600/min per address, which /metrics counts against) would stop 500 back-to-back scrapes.
    t = await createTestApp({ ORCAOPS_RUNTIME: 'fake', ORCAOPS_METRICS_TOKEN: METRICS_TOKEN, ORCAOPS_RATE_LIMIT_ANONYMOUS: '0' });
    const ws = await seedWorkspace(t.app, 'bench');
    const loadAtStart = loadavg().map((l) => Math.round(l * 100) / 100);
    const seedStarted = performance.now();
    await seedJobs(t.databaseUrl, ws.id);
    const seedSeconds = Math.round((performance.now() - seedStarted) / 100) / 10;
    await t.app.listen(0, '127.0.0.1');
    const base = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    const token = ws.tokens.viewer.token;
    // Traffic over several routes and statuses: the histograms the scrape renders.
    for (let i = 0; i < 200; i++) {
      await fetch(`${base}/v1/me`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.arrayBuffer());
      await fetch(`${base}/v1/jobs?limit=5`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.arrayBuffer());
      await fetch(`${base}/v1/jobs/${ws.id}`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.arrayBuffer());
      await fetch(`${base}/v1/sandboxes`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.arrayBuffer());
      await fetch(`${base}/nope-${i}`).then((r) => r.arrayBuffer());
    }
    const gaugeStarted = performance.now();
    await t.app.get(PlatformGauges).refreshNow();
    const gaugeRefreshMs = performance.now() - gaugeStarted;
    for (let i = 0; i < 20; i++) await timedGet(`${base}/metrics`, METRICS_TOKEN);
    const scrapes: number[] = [];
    let bytes = 0;
    for (let i = 0; i < N; i++) {
      const r = await timedGet(`${base}/metrics`, METRICS_TOKEN);
      scrapes.push(r.ms);
      bytes = r.bytes;
    }
    const to = new Date();
    const from = new Date(to.getTime() - 30 * 86_400_000);
    const aggregate = async (query: string): Promise<Record<string, number>> => {
      const url = `${base}/v1/metrics/jobs?from=${from.toISOString()}&to=${to.toISOString()}${query}`;
      for (let i = 0; i < 3; i++) await timedGet(url, token);
      const samples: number[] = [];
      for (let i = 0; i < AGG_N; i++) samples.push((await timedGet(url, token)).ms);
      return summarise(samples);
    };
    // The server's floor at this moment on this machine: one token lookup, no query.
    const floor = await (async () => {
      const samples: number[] = [];
      for (let i = 0; i < AGG_N; i++) samples.push((await timedGet(`${base}/v1/me`, token)).ms);
      return summarise(samples);
    })();
    const rolled = {
      aggregate_30d_by_day: { ...(await aggregate('&bucket=day')), target_ms: 200 },
      aggregate_30d_by_day_and_image: await aggregate('&bucket=day&group_by=image'),
      aggregate_30d_by_hour: await aggregate('&bucket=hour'),
    };
    // The same requests read from the jobs themselves (exact percentiles), for comparison.
    t.app.get(MetricsService).exactPercentilesUpTo = Number.MAX_SAFE_INTEGER;
    const exact = {
      aggregate_30d_by_day: await aggregate('&bucket=day'),
      aggregate_30d_by_day_and_image: await aggregate('&bucket=day&group_by=image'),
    };
    t.app.get(MetricsService).exactPercentilesUpTo = 10_000;
    const report = {
      node: process.version,
      load_average_before_after: [loadAtStart, loadavg().map((l) => Math.round(l * 100) / 100)],
      jobs_seeded: JOBS,
      seed_seconds: seedSeconds,
      reference_get_v1_me: floor,
      from_rollup: rolled,
      from_jobs_exact: exact,
      scrape: { ...summarise(scrapes), body_bytes: bytes, target_ms: 50 },
      gauge_refresh_ms: Math.round(gaugeRefreshMs * 100) / 100,
      aggregate_30d_by_hour_tag_from_jobs: await aggregate('&bucket=hour&tag=shard-3'),
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await t?.close();
    await pg.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
