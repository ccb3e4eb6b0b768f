// Latency of authenticated reads through a real listening server:
//   npx ts-node -r tsconfig-paths/register --transpile-only bench/auth-get.ts   (npm run bench:auth)
// Starts an embedded PostgreSQL in a temporary directory, unless DATABASE_URL names a server (a fresh
// database is created on it and dropped afterwards). BENCH_N and BENCH_WARMUP change the request counts.
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { EmbeddedPostgresHandle } from 'src/database/embedded-postgres';
import { startEmbeddedPostgres } from 'src/database/embedded-postgres';
import type { TestApp } from '../test/support/app';
import { createTestApp } from '../test/support/app';
import { seedWorkspace } from '../test/support/tenants';
import { freePort } from '../test/support/ports';

const N = Number(process.env.BENCH_N ?? 2000);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 200);

interface Stats {
  n: number;
  median_ms: number;
  p95_ms: number;
  p99_ms: number;
  mean_ms: number;
  min_ms: number;
  max_ms: number;
}


/** Nearest-rank percentile of sorted samples. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summarise(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (ms: number): number => Math.round(ms * 1000) / 1000;
  return {
    n: sorted.length,
    median_ms: round(percentile(sorted, 50)),
    p95_ms: round(percentile(sorted, 95)),
    p99_ms: round(percentile(sorted, 99)),
    mean_ms: round(sorted.reduce((sum, ms) => sum + ms, 0) / sorted.length),
    min_ms: round(sorted[0]!),
    max_ms: round(sorted[sorted.length - 1]!),
  };
}

/** One request, body read to the end (so the connection goes back to the keep-alive pool). */
async function timedGet(url: string, token: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  const elapsed = performance.now() - started;
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
  return elapsed;
}

async function measure(url: string, token: string): Promise<Stats> {
  for (let i = 0; i < WARMUP; i++) await timedGet(url, token);
  const samples: number[] = [];
  for (let i = 0; i < N; i++) samples.push(await timedGet(url, token));
  return summarise(samples);
}

/** The PostgreSQL server the test helpers create databases on. */
async function postgres(): Promise<{ stop(): Promise<void> }> {
  if (process.env.DATABASE_URL) {
    process.env.ORCAOPS_TEST_PG_URL = process.env.DATABASE_URL;
    return { stop: () => Promise.resolve() };
  }
  const root = mkdtempSync(join(tmpdir(), 'orcaops-bench-pg-'));
  const handle: EmbeddedPostgresHandle = await startEmbeddedPostgres({
    dir: join(root, 'postgres'),
    port: await freePort(),
  });
  // The test database helper creates databases: it connects as the cluster's superuser.
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
    t = await createTestApp({ ORCAOPS_RUNTIME: 'fake' });
    const ws = await seedWorkspace(t.app, 'bench');
    await t.app.listen(0, '127.0.0.1');
    let connections = 0;
    t.app.getHttpServer().on('connection', () => connections++);
    const base = (await t.app.getUrl()).replace('[::1]', '127.0.0.1');
    const token = ws.tokens.developer.token;
    const results = {
      'GET /v1/me': await measure(`${base}/v1/me`, token),
      'GET /v1/workspaces/:id': await measure(`${base}/v1/workspaces/${ws.id}`, token),
    };
    // Far fewer TCP connections than requests: the client kept its connections alive.
    const report = {
      node: process.version,
      warmup: WARMUP,
      sequential: true,
      requests: 2 * (WARMUP + N),
      tcp_connections: connections,
      results,
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
