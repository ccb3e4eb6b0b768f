// Mixed load, two tenants (issue 19, "Proof"): a well-behaved tenant at a fixed rate, alone and then next
// to an abusive one, against a real server process; the goal is that its p99 with the abuser stays within
// 2x of its p99 alone, with no 5xx and no leaked containers.
//   npm run bench:load                       two phases of BENCH_DURATION_S (default 150) seconds each
//   BENCH_SHORT=1 npm run bench:load         20 s per phase at the CI spec's lower rates
//   BENCH_RATES='{"flood":400}'              overrides rates (LoadRates in bench/support/load-mixed.ts)
//   BENCH_ABUSER_IN_PROCESS=1                the abuser's clients in this process, as before (A/B only)
//   BENCH_SERVER_NODE_OPTIONS='--require ./bench/support/cpu-profile-toggle.js' PROF_DIR=/tmp/prof   a CPU profile of one phase (see that file)
//   BENCH_DEBUG_ERRORS=1                     each class's start, first answer and client errors on stderr
// Prints a table and writes the JSON to bench/results/load-mixed-<time>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeInstallationContainers } from '../test/support/docker';
import { ADMIN_TOKEN, startBenchServer } from './support/bench-app';
import { FULL_RATES, SHORT_RATES, formatLoadTable, runMixedLoad, type LoadRates } from './support/load-mixed';

async function main(): Promise<void> {
  const short = process.env.BENCH_SHORT === '1';
  const phaseSeconds = Number(process.env.BENCH_DURATION_S ?? (short ? 20 : 150));
  if (!Number.isInteger(phaseSeconds) || phaseSeconds < 5)
    throw new Error('BENCH_DURATION_S must be a whole number of seconds ≥ 5');
  const metricsToken = `bench-metrics-${process.pid}-${'0'.repeat(32)}`;
  const bench = await startBenchServer({
    ORCAOPS_METRICS_TOKEN: metricsToken,
    // e.g. '--require /path/profiler.js' (an inspector session): Node refuses --cpu-prof in NODE_OPTIONS.
    ...(process.env.BENCH_SERVER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_SERVER_NODE_OPTIONS } : {}),
  });
  try {
    const result = await runMixedLoad(
      { url: bench.url, pid: bench.pid, adminToken: ADMIN_TOKEN, databaseUrl: bench.databaseUrl, metricsToken },
      {
        phaseSeconds,
        rates: {
          ...(short ? SHORT_RATES : FULL_RATES),
          ...(JSON.parse(process.env.BENCH_RATES ?? '{}') as Partial<LoadRates>),
        },
        abuserInProcess: process.env.BENCH_ABUSER_IN_PROCESS === '1',
        log: (line) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`),
      },
    );
    process.stdout.write(`${formatLoadTable(result)}\n`);
    mkdirSync(join(__dirname, 'results'), { recursive: true });
    const file = join(__dirname, 'results', `load-mixed-${Date.now()}.json`);
    writeFileSync(file, JSON.stringify(result, null, 2));
    process.stderr.write(`written to ${file}\n`);
    if (result.leaked_containers > 0) process.exitCode = 1;
  } finally {
    await removeInstallationContainers(bench.databaseUrl);
    await bench.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error).stack ?? error)}\n`);
  process.exit(1);
});
