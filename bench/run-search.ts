// Run search at scale (issue 15): 100 000 jobs and 1 000 000 log chunks seeded through the real tables,
// then filter and full-text queries timed through a listening server (GET /v1/jobs/search):
//   npx ts-node -r tsconfig-paths/register --transpile-only bench/run-search.ts   (npm run bench:search)
// Embedded PostgreSQL in a temporary directory unless DATABASE_URL names a server. BENCH_JOBS,
// BENCH_CHUNKS_PER_JOB and BENCH_N change the sizes. Prints JSON (with the plan of one output search).
import 'reflect-metadata';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { EmbeddedPostgresHandle } from 'src/database/embedded-postgres';
import { startEmbeddedPostgres } from 'src/database/embedded-postgres';
import type { TestApp } from '../test/support/app';
import { createTestApp } from '../test/support/app';
import { freePort } from '../test/support/ports';
import { seedRuns } from '../test/support/run-records';
import { sql } from '../test/support/sql';
import { seedWorkspace } from '../test/support/tenants';

const JOBS = Number(process.env.BENCH_JOBS ?? 100_000);
const CHUNKS_PER_JOB = Number(process.env.BENCH_CHUNKS_PER_JOB ?? 10);
const N = Number(process.env.BENCH_N ?? 30);
const WARMUP = 3;

// Every filter of the query syntax, each once where it matches many runs and, where it can, where it
// matches none (the worst case for newest-first: nothing stops the walk early without an index).
const FILTERS = [
  'status:failed',
  'status:failed,timed_out tag:t3',
  'reason:step_failed',
  'reason:oom_killed',
  'image:orcaops/python*',
  'image:nothing/here*',
  'fingerprint:{fp8}',
  'fingerprint:{fp}',
  'tag:t3',
  'tag:no-such-tag',
  'triggered_by:mcp',
  'triggered_by:nobody',
  'session:{session}',
  'duration>100s status:succeeded image:node*',
  'duration>30s',
  'duration<500ms',
  'duration>1h',
  'since:24h',
  'until:30d',
  'since:2000-01-01 until:2000-01-02',
  'exit:1',
  'exit:137',
  'meta.branch:b2',
  'meta.branch:nope',
  'exit:1 meta.branch:b2',
];
const FULL_TEXT = ['ZeroDivisionError', '"division by zero" status:failed', '"File \\"/workspace/app.py\\", line 4200"'];

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function timedGet(url: string, token: string): Promise<{ ms: number; items: number }> {
  const started = performance.now();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json()) as { items?: unknown[] };
  // /v1/me has no items: counted as one.
  const ms = performance.now() - started;
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${JSON.stringify(body)}`);
  return { ms, items: body.items?.length ?? 0 };
}

function measure(base: string, token: string, q: string): Promise<{ p50_ms: number; p95_ms: number; items: number }> {
  return measureUrl(`${base}/v1/jobs/search?limit=50&q=${encodeURIComponent(q)}`, token);
}

async function measureUrl(url: string, token: string): Promise<{ p50_ms: number; p95_ms: number; items: number }> {
  for (let i = 0; i < WARMUP; i++) await timedGet(url, token);
  const samples: number[] = [];
  let items = 0;
  for (let i = 0; i < N; i++) {
    const r = await timedGet(url, token);
    samples.push(r.ms);
    items = r.items;
  }
  const sorted = samples.sort((a, b) => a - b);
  const round = (ms: number): number => Math.round(ms * 10) / 10;
  return { p50_ms: round(percentile(sorted, 50)), p95_ms: round(percentile(sorted, 95)), items };
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

async function main(): Promise<void> {
  const pg = await postgres();
  let t: TestApp | undefined;
  try {
    t = await createTestApp({ ORCAOPS_RUNTIME: 'fake', ORCAOPS_SEARCH_TIMEOUT_MS: '10000' });
    const ws = await seedWorkspace(t.app, 'bench-search');
    const other = await seedWorkspace(t.app, 'bench-other');
    const seedStarted = performance.now();
    await seedRuns(t.databaseUrl, ws.id, { jobs: JOBS, chunksPerJob: CHUNKS_PER_JOB, needleEvery: 1_000 });
    // Another tenant's runs in the same tables (every one with a traceback): the workspace predicate must do its work.
    await seedRuns(t.databaseUrl, other.id, { jobs: Math.ceil(JOBS / 10), chunksPerJob: CHUNKS_PER_JOB, needleEvery: 1 });
    const seedSeconds = Math.round((performance.now() - seedStarted) / 100) / 10;
    const [counts] = await sql<{ jobs: string; chunks: string }>(t.databaseUrl, 'SELECT (SELECT count(*) FROM jobs) AS jobs, (SELECT count(*) FROM job_log_chunks) AS chunks');
    await t.app.listen(0, '127.0.0.1');
    const base = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    const token = ws.tokens.viewer.token;
    // The server's floor on this machine at this moment: the plain job list (newest 50, no filter) and /v1/me.
    const reference = {
      'GET /v1/me': await measureUrl(`${base}/v1/me`, token),
      'GET /v1/jobs?limit=50': await measureUrl(`${base}/v1/jobs?limit=50`, token),
    };
    const [sample] = await sql<{ fingerprint: string }>(t.databaseUrl, 'SELECT fingerprint FROM jobs WHERE workspace_id = $1 LIMIT 1', [ws.id]);
    const fill = (q: string): string =>
      q.replace('{fp8}', sample!.fingerprint.slice(0, 8)).replace('{fp}', sample!.fingerprint).replace('{session}', '5e55105e-0000-4000-8000-000000000000');
    const filters: Record<string, unknown> = {};
    for (const q of FILTERS) filters[q] = await measure(base, token, fill(q));
    const fullText: Record<string, unknown> = {};
    for (const q of FULL_TEXT) fullText[q] = await measure(base, token, q);
    const plan = await sql<{ 'QUERY PLAN': string }>(
      t.databaseUrl,
      `EXPLAIN ANALYZE SELECT c.job_id FROM job_log_chunks c WHERE c.workspace_id = $1 AND encode(c.data, 'escape') ILIKE $2`,
      [ws.id, '%ZeroDivisionError%'],
    );
    const report = {
      node: process.version,
      load_average: loadavg().map((l) => Math.round(l * 100) / 100),
      seeded: { jobs: Number(counts?.jobs), log_chunks: Number(counts?.chunks), seconds: seedSeconds },
      samples_per_query: N,
      reference,
      filter_queries: filters,
      full_text_queries: fullText,
      output_search_plan: plan.map((r) => r['QUERY PLAN']),
    };
    const text = `${JSON.stringify(report, null, 2)}\n`;
    process.stdout.write(text);
    mkdirSync(join(__dirname, 'results'), { recursive: true });
    writeFileSync(join(__dirname, 'results', `run-search-${Date.now()}.json`), text);
  } finally {
    await t?.close();
    await pg.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
