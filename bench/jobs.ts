// Job latency and throughput against raw Docker, in the same run (issue: jobs benchmark).
//   npx ts-node -r tsconfig-paths/register --transpile-only bench/jobs.ts [iterations]
// 1. One trivial step (`true`): API submit → terminal state, vs raw engine create+start+wait+remove,
//    interleaved, medians. Two raw baselines: the same container OrcaOps creates (its hardened create
//    body, built by the pure hardening function and sent straight through dockerode: the ratio against
//    it is OrcaOps' own overhead, the target), and a minimal one with only the limits (for reference:
//    what the hardening profile itself costs).
// 2. Throughput: 50 trivial jobs submitted at once; jobs/s until all are terminal, against the same 50
//    containers run straight through the engine with the same concurrency.
import Docker from 'dockerode';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { buildCreateOptions } from 'src/runtime/docker/hardening';
import { median, percentile, startBenchApp, startBenchServer } from './support/bench-app';

const IMAGE = 'orcaops/busybox:latest';
/**
 * The throughput run waits on 50 jobs at once with one token, standing in for 50 clients: the per-token
 * and per-workspace stream caps (16 and 48 long-polls) would refuse most of those waits.
 */
const STREAM_CAP_FOR_50_CLIENTS = '64';

/** Jobs the server (and its one workspace) runs at once; the raw throughput run uses as many. */
const CONCURRENCY = 8;
const SERVER_ENV = { ORCAOPS_MAX_CONCURRENT_JOBS: String(CONCURRENCY), ORCAOPS_STREAMS_PER_TOKEN: STREAM_CAP_FOR_50_CLIENTS, ORCAOPS_STREAMS_PER_WORKSPACE: STREAM_CAP_FOR_50_CLIENTS };
const docker = new Docker({ socketPath: process.env.ORCAOPS_DOCKER_SOCKET ?? '/var/run/docker.sock' });

/** The job container's create body (1 CPU, 512 MiB, 128 pids, 256 MiB workspace: the job defaults). */
async function rawSameProfile(): Promise<number> {
  const started = performance.now();
  const body = buildCreateOptions({
    name: `orcaops-bench-${randomUUID()}`,
    image: IMAGE,
    command: ['true'],
    env: {},
    labels: { 'orcaops.bench': 'raw' },
    workingDir: '/workspace',
    resources: {
      cpus: 1,
      memoryBytes: 512 * 1024 * 1024,
      pidsLimit: 128,
      tmpBytes: 64 * 1024 * 1024,
      workspaceBytes: 256 * 1024 * 1024,
      nofile: 1024,
    },
    network: 'none',
  });
  const container = await docker.createContainer(body as unknown as Docker.ContainerCreateOptions);
  await container.start();
  await container.wait();
  await container.remove({ force: true });
  return performance.now() - started;
}

async function rawDocker(): Promise<number> {
  const started = performance.now();
  const container = await docker.createContainer({
    Image: IMAGE,
    Cmd: ['true'],
    User: '65534:65534',
    Labels: { 'orcaops.bench': 'raw' },
    HostConfig: {
      NetworkMode: 'none',
      Memory: 512 * 1024 * 1024,
      NanoCpus: 1e9,
      PidsLimit: 128,
      ReadonlyRootfs: true,
      Init: true,
    },
  });
  await container.start();
  await container.wait();
  await container.remove({ force: true });
  return performance.now() - started;
}

interface Phases {
  queue_ms: number;
  run_ms: number;
}

async function apiJob(url: string, token: string): Promise<{ ms: number; status: string; phases: Phases }> {
  const started = performance.now();
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const job = (await (
    await fetch(`${url}/v1/jobs`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ image: IMAGE, command: 'true' }),
    })
  ).json()) as { id: string };
  const done = (await (
    await fetch(`${url}/v1/jobs/${job.id}/wait?timeout_seconds=60`, { headers })
  ).json()) as {
    status: string;
    created_at: string;
    started_at: string;
    finished_at: string;
  };
  const ms = performance.now() - started;
  const at = (iso: string): number => new Date(iso).getTime();
  return {
    ms,
    status: done.status,
    phases: {
      queue_ms: at(done.started_at) - at(done.created_at),
      run_ms: at(done.finished_at) - at(done.started_at),
    },
  };
}

async function main(): Promise<void> {
  const iterations = Number(process.argv[2] ?? 31);
  // The server runs in its own process (BENCH_IN_PROCESS=1: in this one, sharing the client's event loop).
  const inProcess = process.env.BENCH_IN_PROCESS === '1';
  const bench = inProcess
    ? await startBenchApp(SERVER_ENV)
    : await startBenchServer(SERVER_ENV);
  await fetch(`${bench.url}/v1/workspaces/${bench.workspaceId}`, {
    method: 'PATCH',
    headers: {
      authorization: 'Bearer bench-admin-token-0123456789abcdefghijklmnopq',
      'content-type': 'application/json',
    },
    body: JSON.stringify({ settings: { max_concurrent_jobs: CONCURRENCY } }),
  });
  try {
    for (let i = 0; i < 2; i++) {
      await rawDocker();
      await rawSameProfile();
      await apiJob(bench.url, bench.devToken);
    }
    const raw: number[] = [];
    const rawSame: number[] = [];
    const viaApi: number[] = [];
    const phases: Phases[] = [];
    const variants: Array<() => Promise<void>> = [
      async () => void raw.push(await rawDocker()),
      async () => void rawSame.push(await rawSameProfile()),
      async () => {
        const r = await apiJob(bench.url, bench.devToken);
        if (r.status !== 'succeeded') throw new Error(`bench job ended ${r.status}`);
        viaApi.push(r.ms);
        phases.push(r.phases);
      },
    ];
    // Each iteration runs the three in a rotated order, so none always follows the same one (the engine
    // may still be settling the previous container's removal).
    for (let i = 0; i < iterations; i++) {
      for (let k = 0; k < variants.length; k++) await variants[(i + k) % variants.length]!();
    }
    const count = 50;
    const t0 = performance.now();
    const all = await Promise.all(Array.from({ length: count }, () => apiJob(bench.url, bench.devToken)));
    const wall = (performance.now() - t0) / 1000;
    // The same 50 containers straight through the engine, as many at once as the server runs (8).
    const r0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next++ < count) await rawSameProfile();
      }),
    );
    const rawWall = (performance.now() - r0) / 1000;
    const result = {
      when: new Date().toISOString(),
      server: inProcess ? 'in the benchmark process' : 'separate process',
      iterations,
      single_job_ms: {
        raw_same_container_median: Math.round(median(rawSame)),
        raw_minimal_median: Math.round(median(raw)),
        api_median: Math.round(median(viaApi)),
        api_p95: Math.round(percentile(viaApi, 95)),
      },
      api_phases_median_ms: {
        submitted_to_claimed: median(phases.map((p) => p.queue_ms)),
        claimed_to_terminal: median(phases.map((p) => p.run_ms)),
      },
      ratio_api_to_raw_same_container: Number((median(viaApi) / median(rawSame)).toFixed(2)),
      ratio_api_to_raw_minimal: Number((median(viaApi) / median(raw)).toFixed(2)),
      throughput: {
        jobs: count,
        succeeded: all.filter((r) => r.status === 'succeeded').length,
        seconds: Number(wall.toFixed(2)),
        jobs_per_second: Number((count / wall).toFixed(2)),
        raw_same_container_per_second: Number((count / rawWall).toFixed(2)),
        ratio_api_to_raw: Number((count / wall / (count / rawWall)).toFixed(2)),
      },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    mkdirSync(join(__dirname, 'results'), { recursive: true });
    writeFileSync(join(__dirname, 'results', `jobs-${Date.now()}.json`), JSON.stringify(result, null, 2));
  } finally {
    await bench.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error).stack ?? error)}\n`);
  process.exit(1);
});
