// CLI start-up and `orcaops run` end to end against `docker run --rm` (issue 20 item 8).
//   npm run build && npm run bench:cli -- [runs]
// 1. Start-up: `node -e 0` (the floor), `orcaops --version`, `orcaops --help` (every command module),
//    each spawned from bin/orcaops.js (the built CLI, as users run it), medians.
// 2. End to end against a running server (its own process, embedded PostgreSQL): `orcaops run
//    orcaops/busybox -- true` and `docker run --rm orcaops/busybox true`, alternating which goes first
//    each round; medians and their ratio. `orcaops jobs list` for a REST round trip on its own.
// Targets: --version ≤ 150 ms; run ≤ 1.3× docker run.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, percentile, startBenchServer } from './support/bench-app';

const ROOT = join(__dirname, '..');
const BIN = join(ROOT, 'bin', 'orcaops.js');
const ENTRY = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const IMAGE = 'orcaops/busybox';

const CPU_AT_EXIT = join(__dirname, 'support', 'cpu-at-exit.js');
/** CPU time of the node processes timed (reported by CPU_AT_EXIT), by label. */
const cpu = new Map<string, number[]>();

/** Wall time of one process from spawn to exit; fails on a non-zero exit. */
async function timed(command: string, args: string[], env: NodeJS.ProcessEnv = process.env, label?: string): Promise<number> {
  const started = performance.now();
  const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const ms = performance.now() - started;
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`);
  const used = /cpu_ms=([\d.]+)\n$/.exec(stderr);
  if (label && used) cpu.set(label, [...(cpu.get(label) ?? []), Number(used[1])]);
  return ms;
}

async function series(runs: number, once: () => Promise<number>): Promise<number[]> {
  await once(); // warm the page cache
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await once());
  return times;
}

const stats = (times: number[]) => ({ p50_ms: Math.round(median(times)), p90_ms: Math.round(percentile(times, 90)), runs: times.length });

/** The built CLI must be newer than its sources, or the figures are for old code. */
function checkBuild(): void {
  if (!existsSync(ENTRY)) throw new Error('the CLI is not built: run `npm run build` first');
  const built = statSync(ENTRY).mtimeMs;
  const stale = ['main.ts', 'deferred.ts', 'command-context.ts', 'client-config.ts'].filter((f) => statSync(join(ROOT, 'src', 'cli', f)).mtimeMs > built);
  if (stale.length) throw new Error(`dist/ is older than src/cli (${stale.join(', ')}): run \`npm run build\` first`);
}

async function main(): Promise<void> {
  const runs = Math.max(10, Number(process.argv[2] ?? 15));
  checkBuild();
  const node = (args: string[], env?: NodeJS.ProcessEnv) => () => timed(process.execPath, ['-r', CPU_AT_EXIT, ...args], env, args[0] === BIN ? `orcaops ${args.slice(1).join(' ')}` : `node ${args.join(' ')}`);

  const startup = {
    node_floor: stats(await series(runs, node(['-e', '0']))),
    version: stats(await series(runs, node([BIN, '--version']))),
    help: stats(await series(runs, node([BIN, '--help']))),
  };
  console.error(`start-up: node ${startup.node_floor.p50_ms} ms, --version ${startup.version.p50_ms} ms, --help ${startup.help.p50_ms} ms`);

  const server = await startBenchServer();
  const home = mkdtempSync(join(tmpdir(), 'orcaops-bench-cli-'));
  const env = { ...process.env, ORCAOPS_URL: server.url, ORCAOPS_TOKEN: server.devToken, ORCAOPS_HOME: home };
  try {
    const orcaopsRun = node([BIN, 'run', IMAGE, '--', 'true'], env);
    const dockerRun = () => timed('docker', ['run', '--rm', '--label', 'orcaops.bench=cli', IMAGE, 'true']);
    await orcaopsRun(); // the server's first job pays for lazy set-up (pool, statements)
    await dockerRun();
    const cli: number[] = [];
    const raw: number[] = [];
    for (let i = 0; i < runs; i++) {
      if (i % 2) {
        cli.push(await orcaopsRun());
        raw.push(await dockerRun());
      } else {
        raw.push(await dockerRun());
        cli.push(await orcaopsRun());
      }
    }
    const jobsList = stats(await series(runs, node([BIN, 'jobs', 'list', '--limit', '5'], env)));
    const result = {
      when: new Date().toISOString(),
      startup,
      run: { orcaops: stats(cli), docker: stats(raw), ratio: Number((median(cli) / median(raw)).toFixed(2)) },
      jobs_list: jobsList,
      // The node processes' own CPU time (median ms), which a busy machine does not inflate as much.
      cpu_p50_ms: Object.fromEntries([...cpu].map(([label, times]) => [label, Number(median(times).toFixed(1))])),
      targets: { version_ms: 150, run_ratio: 1.3 },
      met: { version: startup.version.p50_ms <= 150, run: median(cli) / median(raw) <= 1.3 },
    };
    console.log(JSON.stringify(result, null, 2));
    mkdirSync(join(__dirname, 'results'), { recursive: true });
    writeFileSync(join(__dirname, 'results', `cli-startup-${Date.now()}.json`), JSON.stringify(result, null, 2));
  } finally {
    await server.close();
    rmSync(home, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
