// Command round trip in a live sandbox (issue 4 target: `true` in a persistent shell via the API, p50 ≤ 10 ms),
// against a raw `docker exec` of `true` in the same container (dockerode), in the same run.
//   npx ts-node -r tsconfig-paths/register --transpile-only bench/sandboxes-shell.ts [iterations]
import Docker from 'dockerode';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { median, percentile, startBenchApp } from './support/bench-app';

const IMAGE = 'orcaops/busybox:latest';
const docker = new Docker({ socketPath: process.env.ORCAOPS_DOCKER_SOCKET ?? '/var/run/docker.sock' });

/** A raw engine exec of `true` as the sandbox user, waited to its exit code (what a per-command exec costs). */
async function rawExec(containerId: string): Promise<number> {
  const started = performance.now();
  const exec = await docker.getContainer(containerId).exec({ Cmd: ['true'], User: '65534:65534', AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  await new Promise<void>((resolve) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.resume();
  });
  const info = await exec.inspect();
  if (info.ExitCode !== 0) throw new Error(`raw exec exited ${info.ExitCode}`);
  return performance.now() - started;
}

async function main(): Promise<void> {
  const iterations = Number(process.argv[2] ?? 500);
  const bench = await startBenchApp();
  const headers = { authorization: `Bearer ${bench.devToken}`, 'content-type': 'application/json' };
  const call = async (method: string, path: string, body?: unknown): Promise<any> => {
    const r = await fetch(`${bench.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return r.json();
  };
  try {
    const sbx = await call('POST', '/v1/sandboxes', { image: IMAGE, ttl_seconds: 600 });
    if (sbx.status !== 'ready') throw new Error(`sandbox not ready: ${JSON.stringify(sbx)}`);
    const [container] = await docker.listContainers({ filters: { label: [`orcaops.sandbox_id=${sbx.id}`] } });
    if (!container) throw new Error('sandbox container not found');
    const run = `/v1/sandboxes/${sbx.id}/shells/main/run`;
    // Warm-up: the first run starts the shell (one exec); connection and JIT warm-up too.
    for (let i = 0; i < 20; i++) await call('POST', run, { command: 'true' });
    for (let i = 0; i < 3; i++) await rawExec(container.Id);

    const viaApi: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const started = performance.now();
      const r = await call('POST', run, { command: 'true' });
      viaApi.push(performance.now() - started);
      if (r.status !== 'completed' || r.exit_code !== 0) throw new Error(`shell run failed: ${JSON.stringify(r)}`);
    }
    // The API's own floor in the same run: auth, tenancy and the sandbox lookup, no command.
    const floor: number[] = [];
    for (let i = 0; i < Math.min(iterations, 200); i++) {
      const started = performance.now();
      await call('GET', `/v1/sandboxes/${sbx.id}`);
      floor.push(performance.now() - started);
    }
    const raw: number[] = [];
    for (let i = 0; i < Math.min(iterations, 50); i++) raw.push(await rawExec(container.Id));
    await call('DELETE', `/v1/sandboxes/${sbx.id}`);

    const round = (n: number): number => Number(n.toFixed(2));
    const result = {
      when: new Date().toISOString(),
      iterations,
      shell_round_trip_ms: { p50: round(median(viaApi)), p95: round(percentile(viaApi, 95)), min: round(Math.min(...viaApi)) },
      api_floor_get_sandbox_ms: { p50: round(median(floor)), p95: round(percentile(floor, 95)) },
      raw_docker_exec_ms: { runs: raw.length, median: round(median(raw)), p95: round(percentile(raw, 95)) },
      speedup_vs_raw_exec: round(median(raw) / median(viaApi)),
      target_p50_ms: 10,
      meets_target: median(viaApi) <= 10,
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    mkdirSync(join(__dirname, 'results'), { recursive: true });
    writeFileSync(join(__dirname, 'results', `sandboxes-shell-${Date.now()}.json`), JSON.stringify(result, null, 2));
  } finally {
    await bench.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error).stack ?? error)}\n`);
  process.exit(1);
});
