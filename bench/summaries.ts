// What a job's summary costs (issue 15: "summaries add <= 5 ms to a job's finish at p50 for a 1 MiB log"):
//   npx ts-node -r tsconfig-paths/register --transpile-only bench/summaries.ts   (npm run bench:summaries)
// The summary is written off the finish path (scheduled after the job settles), so what it adds is the
// event-loop time of analyseLog on the job's output: measured here on 1 MiB logs of several shapes, each
// BENCH_N times after BENCH_WARMUP runs, with the masking call, medians first. No server, no engine.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { envValueMasker } from 'src/jobs/log-masker';
import { analyseLog } from 'src/log-analysis/analyse-log';
import type { RunFacts } from 'src/log-analysis/log-summary';

const N = Number(process.env.BENCH_N ?? 200);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 30);
const MiB = 1024 * 1024;
const facts: RunFacts = { status: 'failed', reason: 'step_failed', exitCode: 1, memoryMb: 512, timeoutSeconds: 600, network: 'none', image: 'orcaops/python' };
const job = { workspaceId: 'w', spec: { env: { API_TOKEN: 'tok-very-secret-value', DEBUG: '1' } } };

function fill(line: (i: number) => string, end: string): Buffer {
  const parts: string[] = [];
  let size = end.length;
  for (let i = 0; size < MiB; i++) {
    const l = line(i);
    parts.push(l);
    size += l.length;
  }
  return Buffer.from(parts.join('') + end);
}

const TRACEBACK = 'Traceback (most recent call last):\n  File "/workspace/app.py", line 3, in <module>\n    import requests\nModuleNotFoundError: No module named \'requests\'\n';
const SHAPES: Record<string, Buffer> = {
  'build log + traceback': fill((i) => `2026-12-07T10:00:${String(i % 60).padStart(2, '0')}Z INFO worker-3 processed item ${i} in ${i % 97} ms (cache hit)\n`, TRACEBACK),
  'pytest, coloured': fill((i) => `\u001b[32mtests/test_mod_${i}.py\u001b[0m ........................................ [ ${i % 100}%]\n`, 'FAILED tests/test_x.py::test_y - assert 1 == 2\n===== 1 failed, 4000 passed in 12.1s =====\n'),
  'npm install noise': fill((i) => `npm http fetch GET 200 https://registry.npmjs.org/pkg-${i} ${i % 50}ms (cache revalidated)\n`, 'npm ERR! code E404\nnpm ERR! 404 Not Found - GET https://registry.npmjs.org/left-padd - Not found\n'),
  'binary output': Buffer.concat([Buffer.from(Array.from({ length: MiB }, (_, i) => (i * 7919) % 256)), Buffer.from('\nsh: foo: not found\n')]),
};

function stats(samples: number[]): Record<string, number> {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => Number(s[Math.min(s.length - 1, Math.floor(q * s.length))]!.toFixed(3));
  return { n: s.length, median_ms: at(0.5), p95_ms: at(0.95), p99_ms: at(0.99), min_ms: at(0), max_ms: at(1) };
}

const result: Record<string, unknown> = { bench: 'summaries', bytes: MiB, target_median_ms: 5, shapes: {} };
for (const [name, log] of Object.entries(SHAPES)) {
  for (let i = 0; i < WARMUP; i++) analyseLog(envValueMasker.mask(job, log), facts);
  const samples: number[] = [];
  let kind = '';
  for (let i = 0; i < N; i++) {
    const started = performance.now();
    kind = analyseLog(envValueMasker.mask(job, log), facts).kind;
    samples.push(performance.now() - started);
  }
  (result.shapes as Record<string, unknown>)[name] = { kind, ...stats(samples) };
}
console.log(JSON.stringify(result, null, 2));
mkdirSync(join(__dirname, 'results'), { recursive: true });
writeFileSync(join(__dirname, 'results', `summaries-${Date.now()}.json`), JSON.stringify(result, null, 2));
