// What a finished run's baseline update costs (issue 16: "baseline update and anomaly check cost <= 2 ms
// per finished run (p50)"):   npm run bench:baselines
// Two numbers, medians first: (1) the event-loop time of the pure update (load the three sketches from
// their protobuf, add the run, serialise them) on a baseline that already holds BENCH_HISTORY runs, and
// (2) RunBaselines.record end to end on a real server's PostgreSQL (embedded, or DATABASE_URL): one
// transaction with the row lock, the update and the write; the job finisher runs it after the job's
// waiters are woken, so (2) is latency off the finish path, (1) is what it takes from other requests.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { FinishedRun } from 'src/learning/baseline-stats';
import { applyRun, emptyBaseline } from 'src/learning/baseline-stats';
import { RunBaselines } from 'src/learning/run-baselines.service';
import { startBenchApp } from './support/bench-app';

const N = Number(process.env.BENCH_N ?? 500);
const HISTORY = Number(process.env.BENCH_HISTORY ?? 2000);

function stats(samples: number[]): Record<string, number> {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => Number(s[Math.min(s.length - 1, Math.floor(q * s.length))]!.toFixed(3));
  return { n: s.length, median_ms: at(0.5), p95_ms: at(0.95), p99_ms: at(0.99), max_ms: at(1) };
}

/** A run of a job whose duration wanders between 0.2 s and 20 s, memory 20-400 MiB. */
const run = (i: number, workspaceId = 'w', fingerprint = 'f'.repeat(64)): FinishedRun => ({
  workspaceId,
  fingerprint,
  outcome: i % 17 === 0 ? 'failed' : 'succeeded',
  durationMs: 200 + ((i * 7919) % 19_800),
  memoryPeakBytes: (20 + ((i * 104_729) % 380)) * 1024 * 1024,
  cpuSeconds: ((i * 31) % 900) / 100,
  finishedAt: new Date(),
});

async function main(): Promise<void> {
  let state = emptyBaseline();
  for (let i = 0; i < HISTORY; i++) state = applyRun(state, run(i));
  const pure: number[] = [];
  for (let i = 0; i < N + 50; i++) {
    const started = performance.now();
    state = applyRun(state, run(HISTORY + i));
    if (i >= 50) pure.push(performance.now() - started);
  }
  const bench = await startBenchApp();
  const recorded: number[] = [];
  try {
    const baselines = bench.app.get(RunBaselines);
    for (let i = 0; i < HISTORY; i++) await baselines.record(run(i, bench.workspaceId));
    for (let i = 0; i < N; i++) {
      const started = performance.now();
      await baselines.record(run(HISTORY + i, bench.workspaceId));
      recorded.push(performance.now() - started);
    }
  } finally {
    await bench.close();
  }
  const result = { bench: 'baselines', history_runs: HISTORY, target_median_ms: 2, pure_update: stats(pure), record_with_postgres: stats(recorded) };
  console.log(JSON.stringify(result, null, 2));
  mkdirSync(join(__dirname, 'results'), { recursive: true });
  writeFileSync(join(__dirname, 'results', `baselines-${Date.now()}.json`), JSON.stringify(result, null, 2));
}

void main();
