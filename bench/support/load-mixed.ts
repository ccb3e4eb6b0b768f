// The mixed-load test (issue 19, "Proof"): a well-behaved tenant at a fixed rate, alone and then next to
// an abusive one, against a real server process. Shared by `npm run bench:load` (minutes, the figures)
// and test/abuse/load-short.abuse.spec.ts (seconds, the CI assertions): both call runMixedLoad().
//
// Every traffic class is one autocannon instance at a fixed rate (overallRate). autocannon's limiter lets
// each connection send its share at the start of every second, so arrivals come in small bursts; with
// its coordinated-omission correction on, a rate of ≥ 1/s makes the expected interval 1 ms and back-fills
// one fake sample per millisecond of every response, so it is off and latencies are taken per response
// from the 'response' event (exact percentiles, mergeable across classes).
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { installationContainers } from '../../test/support/docker';
import { runAbuser, type AbuserDone, type AbuserRun } from './load-abuser';
import { runClasses, type ClassSpec, type Sample, type StreamStats } from './load-classes';

/** Requests per second of each class (autocannon needs whole numbers ≥ 1). */
export interface LoadRates {
  me: number;
  jobsList: number;
  jobSubmit: number;
  sandboxExec: number;
  /** Abuser only: GET /v1/me and /v1/jobs with its own token, as fast as this. */
  flood: number;
  /** Abuser only: POST /v1/jobs with a body over the server's body limit. */
  oversized: number;
  /** Abuser only: calls with made-up tokens. */
  badToken: number;
  /** Abuser only: job submits, far over its concurrent_jobs quota. */
  submitFlood: number;
  /** Abuser only: SSE log streams held open at once (not a rate). */
  streams: number;
}

export const FULL_RATES: LoadRates = {
  me: 20,
  jobsList: 10,
  jobSubmit: 1,
  sandboxExec: 2,
  flood: 200,
  oversized: 4,
  badToken: 40,
  submitFlood: 20,
  streams: 64,
};
export const SHORT_RATES: LoadRates = {
  me: 8,
  jobsList: 4,
  jobSubmit: 1,
  sandboxExec: 1,
  flood: 40,
  oversized: 2,
  badToken: 10,
  submitFlood: 5,
  streams: 24,
};

export interface LoadTarget {
  url: string;
  /** The server process, for its RSS. */
  pid: number;
  /** An organisation admin token: creates the two workspaces and sets the abuser's quota. */
  adminToken: string;
  /** The server's database: its installation id labels every container it starts. */
  databaseUrl: string;
  /** The server's ORCAOPS_METRICS_TOKEN, when set: each phase then reports the event-loop lag (bench only). */
  metricsToken?: string;
}

export interface LoadOptions {
  phaseSeconds: number;
  rates: LoadRates;
  /** Progress lines (stderr in the bench; nothing in the spec). */
  log?: (line: string) => void;
  /**
   * Runs the abuser's clients in this process, next to the well-behaved tenant's (as before 2026-12-07's
   * fourth session), for A/B comparisons only: its client CPU then delays the good tenant's measurements.
   */
  abuserInProcess?: boolean;
}

/** Bytes of the oversized body: twice the server's default body limit (ORCAOPS_MAX_BODY_BYTES, 1 MiB). */
const OVERSIZED_BYTES = 2 * 1024 * 1024;
/** The abuser's concurrent_jobs quota: its submit flood is mostly refused (429). */
const ABUSER_CONCURRENT_JOBS = 3;
const IMAGE = 'orcaops/busybox';

export interface ClassStats {
  requests: number;
  /** Non-2xx answers by status; "error" counts requests that got no answer (reset, timeout). */
  non2xx: Record<string, number>;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

export interface PhaseResult {
  seconds: number;
  /** The well-behaved tenant, per class and all classes merged. */
  good: Record<string, ClassStats>;
  good_all: ClassStats;
  /** The abuser, per class: what it got (429/413/401 are expected answers for it). */
  abuser: Record<string, ClassStats>;
  streams?: StreamStats;
  health: { probes: number; failures: number; p99_ms: number; max_ms: number };
  peak_rss_mib: number;
  /** Where the time went (the findings in bench/README.md): CPU seconds per process group in the phase. */
  diagnostics: PhaseDiagnostics;
}

export interface PhaseDiagnostics {
  /**
   * CPU seconds used during the phase by the server process, its PostgreSQL, the Docker engine, this load
   * generator (the well-behaved tenant's clients and the probes) and the abuser's client process.
   */
  cpu_s: { server: number; postgres: number; docker: number; load_generator: number; abuser_generator?: number };
  /** The machine: share of both cores busy (all processes, others' work too), and the load average at the end. */
  machine_busy_pct: number;
  loadavg_1m: number;
  /** The server's event-loop delay over the phase (prom-client's monitor, reset at the phase start), when scraped. */
  event_loop_lag_ms?: { p50: number; p99: number; max: number };
}

export interface LoadResult {
  when: string;
  phase_seconds: number;
  rates: LoadRates;
  alone: PhaseResult;
  with_abuser: PhaseResult;
  /** Containers with the run's orcaops.install label, not of a still-open sandbox, after cleanup. */
  leaked_containers: number;
  leaked_container_names: string[];
  goal: { p99_alone_ms: number; p99_with_abuser_ms: number; ratio: number; within_2x: boolean };
}

interface Tenant {
  name: string;
  id: string;
  token: string;
  sandboxId: string;
}

/** Nearest-rank percentile (bench-app has the same; not imported, so the jest spec does not compile the app). */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function api(
  url: string,
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  // Setup and cleanup calls retry a 429 (the abuser's token may be at its rate limit by then).
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status === 429 && attempt < 60) {
      const wait = Number(response.headers.get('retry-after') ?? 1);
      await new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(wait, 1), 5) * 1000));
      continue;
    }
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }
}

async function must(url: string, method: string, path: string, token: string, body?: unknown): Promise<any> {
  const r = await api(url, method, path, token, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function createTenant(target: LoadTarget, name: string): Promise<Tenant> {
  const ws = await must(target.url, 'POST', '/v1/workspaces', target.adminToken, { name });
  const tok = await must(target.url, 'POST', `/v1/workspaces/${ws.id}/tokens`, target.adminToken, {
    name: `${name}-dev`,
    role: 'developer',
  });
  const sandbox = await must(target.url, 'POST', '/v1/sandboxes', tok.token, {
    image: IMAGE,
    name: `${name}-load`,
  });
  return { name, id: ws.id, token: tok.token, sandboxId: sandbox.id };
}

function stats(samples: Sample[]): ClassStats {
  const non2xx: Record<string, number> = {};
  for (const s of samples) {
    if (s.status >= 200 && s.status < 300) continue;
    const key = s.status === 0 ? 'error' : String(s.status);
    non2xx[key] = (non2xx[key] ?? 0) + 1;
  }
  const ms = samples.filter((s) => s.status !== 0).map((s) => s.ms); // an unanswered request has no latency
  const round = (v: number): number => Math.round(v * 10) / 10;
  return {
    requests: samples.length,
    non2xx,
    p50_ms: ms.length ? round(percentile(ms, 50)) : 0,
    p99_ms: ms.length ? round(percentile(ms, 99)) : 0,
    max_ms: ms.length ? round(Math.max(...ms)) : 0,
  };
}

/** The well-behaved load of one tenant: reads, job submits and sandbox execs, one class each. */
function goodClasses(tenant: Tenant, rates: LoadRates): ClassSpec[] {
  return [
    { name: 'me', rate: rates.me, token: tenant.token, requests: [{ method: 'GET', path: '/v1/me' }] },
    {
      name: 'jobs_list',
      rate: rates.jobsList,
      token: tenant.token,
      requests: [{ method: 'GET', path: '/v1/jobs?limit=20' }],
    },
    {
      name: 'job_submit',
      rate: rates.jobSubmit,
      token: tenant.token,
      requests: [
        {
          method: 'POST',
          path: '/v1/jobs',
          body: JSON.stringify({ image: IMAGE, command: 'true', tags: ['load'] }),
        },
      ],
    },
    {
      name: 'sandbox_exec',
      rate: rates.sandboxExec,
      token: tenant.token,
      requests: [
        {
          method: 'POST',
          path: `/v1/sandboxes/${tenant.sandboxId}/exec`,
          body: JSON.stringify({ command: 'true' }),
        },
      ],
    },
  ];
}

/** What only the abuser does, on top of the well-behaved load. */
function abuseClasses(tenant: Tenant, rates: LoadRates): ClassSpec[] {
  const padding = 'x'.repeat(OVERSIZED_BYTES);
  return [
    {
      name: 'flood',
      rate: rates.flood,
      token: tenant.token,
      requests: [
        { method: 'GET', path: '/v1/me' },
        { method: 'GET', path: '/v1/jobs?limit=20' },
      ],
    },
    {
      name: 'oversized',
      rate: rates.oversized,
      token: tenant.token,
      requests: [
        {
          method: 'POST',
          path: '/v1/jobs',
          body: JSON.stringify({ image: IMAGE, command: 'true', env: { PAD: padding } }),
        },
      ],
    },
    {
      name: 'bad_token',
      rate: rates.badToken,
      token: `orcaops_not_a_token_${'0'.repeat(32)}`,
      requests: [{ method: 'GET', path: '/v1/me' }],
    },
    {
      name: 'submit_flood',
      rate: rates.submitFlood,
      token: tenant.token,
      requests: [
        {
          method: 'POST',
          path: '/v1/jobs',
          body: JSON.stringify({ image: IMAGE, command: 'true', tags: ['flood'] }),
        },
      ],
    },
  ];
}

/** utime + stime of a process, in seconds (0 when it is gone). */
function processCpuSeconds(pid: number): number {
  try {
    // The command name (2nd field) may hold spaces; the fields after its ')' are fixed.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks (USER_HZ 100 on Linux)
  } catch {
    return 0;
  }
}

interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
}

function processes(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      out.push({ pid: Number(name), ppid, comm });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** CPU seconds so far of the run's PostgreSQL (the postmaster on the database URL's port and its backends) and of the Docker engine. */
function groupCpuSeconds(databasePort: string): { postgres: number; docker: number } {
  const all = processes();
  const postmasters = all.filter((p) => {
    if (p.comm !== 'postgres') return false;
    try {
      const args = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0');
      return args.some((a, i) => a === databasePort && (args[i - 1] === '-p' || args[i - 1] === '--port')) || args.includes(`--port=${databasePort}`);
    } catch {
      return false;
    }
  });
  const inPostgres = new Set(postmasters.map((p) => p.pid));
  for (const p of all) if (inPostgres.has(p.ppid)) inPostgres.add(p.pid);
  let postgres = 0;
  let docker = 0;
  for (const p of all) {
    if (inPostgres.has(p.pid)) postgres += processCpuSeconds(p.pid);
    else if (/^(dockerd|containerd|containerd-shim.*|runc)$/.test(p.comm)) docker += processCpuSeconds(p.pid);
  }
  return { postgres, docker };
}

function machineTicks(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  return { busy: total - cpu[3]! - (cpu[4] ?? 0), total };
}

/** Reads the server's event-loop lag gauges; scraping also resets prom-client's delay histogram. */
async function scrapeLoopLag(target: LoadTarget): Promise<PhaseDiagnostics['event_loop_lag_ms']> {
  if (!target.metricsToken) return undefined;
  const response = await fetch(`${target.url}/metrics`, { headers: { authorization: `Bearer ${target.metricsToken}` } });
  const text = await response.text();
  const gauge = (name: string): number => {
    const match = new RegExp(`^${name} ([0-9.e+-]+)`, 'm').exec(text);
    return match ? Math.round(Number(match[1]) * 10_000) / 10 : 0;
  };
  return { p50: gauge('nodejs_eventloop_lag_p50_seconds'), p99: gauge('nodejs_eventloop_lag_p99_seconds'), max: gauge('nodejs_eventloop_lag_max_seconds') };
}

function cpuSnapshot(target: LoadTarget): PhaseDiagnostics['cpu_s'] & { ticks: ReturnType<typeof machineTicks> } {
  const port = new URL(target.databaseUrl).port || '5432';
  const own = process.cpuUsage();
  return {
    server: processCpuSeconds(target.pid),
    ...groupCpuSeconds(port),
    load_generator: (own.user + own.system) / 1e6,
    ticks: machineTicks(),
  };
}

/** Samples the server's RSS and /health latency until stopped. */
function watchServer(target: LoadTarget): {
  stop(): Promise<{ peakRss: number; health: PhaseResult['health']; diagnostics: PhaseDiagnostics }>;
} {
  let running = true;
  const cpuAtStart = cpuSnapshot(target);
  const lagReset = scrapeLoopLag(target).catch(() => undefined);
  let peakRss = 0;
  let failures = 0;
  const healthMs: number[] = [];
  const rss = (): number => {
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${target.pid}/status`, 'utf8'));
    return kb ? Number(kb[1]) * 1024 : 0;
  };
  const loop = (async () => {
    while (running) {
      peakRss = Math.max(peakRss, rss());
      const started = performance.now();
      try {
        const response = await fetch(`${target.url}/health`, { signal: AbortSignal.timeout(5000) });
        await response.arrayBuffer();
        if (response.status !== 200) failures++;
      } catch {
        failures++;
      }
      healthMs.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      await lagReset;
      const lag = await scrapeLoopLag(target).catch(() => undefined);
      const end = cpuSnapshot(target);
      const delta = (key: 'server' | 'postgres' | 'docker' | 'load_generator'): number => Math.round((end[key] - cpuAtStart[key]) * 10) / 10;
      const diagnostics: PhaseDiagnostics = {
        cpu_s: { server: delta('server'), postgres: delta('postgres'), docker: delta('docker'), load_generator: delta('load_generator') },
        machine_busy_pct: Math.round(((end.ticks.busy - cpuAtStart.ticks.busy) / Math.max(1, end.ticks.total - cpuAtStart.ticks.total)) * 100),
        loadavg_1m: Math.round(loadavg()[0]! * 100) / 100,
        ...(lag ? { event_loop_lag_ms: lag } : {}),
      };
      const s = stats(healthMs.map((ms) => ({ status: 200, ms })));
      return { peakRss, health: { probes: healthMs.length, failures, p99_ms: s.p99_ms, max_ms: s.max_ms }, diagnostics };
    },
  };
}

/** The abuser's clients: in a child process (bench/support/load-abuser.ts), or in this one for an A/B comparison. */
interface AbuserClients {
  run(run: Omit<AbuserRun, 'type'>): Promise<AbuserDone>;
  /** True when the abuser's CPU is its own process's (not already in load_generator). */
  separate: boolean;
  close(): void;
}

/** Forks the abuser's process and waits until it is ready (its start-up is not inside any phase). */
async function startAbuserClients(inProcess: boolean): Promise<AbuserClients> {
  if (inProcess) return { run: runAbuser, separate: false, close: () => undefined };
  const child = fork(join(__dirname, 'load-abuser.ts'), [], {
    // ts-node for the TypeScript source, whether the parent is ts-node (the bench) or jest (the CI spec).
    execArgv: ['-r', require.resolve('ts-node/register/transpile-only')],
    env: { ...process.env, TS_NODE_PROJECT: join(__dirname, '..', '..', 'tsconfig.json') },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`the abuser's load process exited (${String(code)}) before it answered`);
  });
  exited.catch(() => undefined);
  const next = (): Promise<unknown> => Promise.race([once(child, 'message').then(([message]) => message as unknown), exited]);
  await next(); // ready
  return {
    separate: true,
    run: async (run) => {
      const answer = next();
      child.send({ type: 'run', ...run } satisfies AbuserRun);
      const done = (await answer) as AbuserDone;
      if (done.error) throw new Error(`the abuser's load process failed: ${done.error}`);
      return done;
    },
    close: () => {
      if (child.connected) child.disconnect();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

async function runPhase(
  target: LoadTarget,
  good: ClassSpec[],
  abuser: ClassSpec[],
  streams: AbuserRun['streams'],
  seconds: number,
  abuserClients: AbuserClients,
): Promise<PhaseResult> {
  const hasAbuser = abuser.length > 0 || streams !== undefined;
  const watcher = watchServer(target);
  const [goodSamples, abuserDone] = await Promise.all([
    runClasses(target.url, good, seconds),
    hasAbuser ? abuserClients.run({ url: target.url, specs: abuser, seconds, ...(streams ? { streams } : {}) }) : undefined,
  ]);
  const { peakRss, health, diagnostics } = await watcher.stop();
  if (abuserDone && abuserClients.separate) diagnostics.cpu_s.abuser_generator = Math.round(abuserDone.cpu_s * 10) / 10;
  const perClass = (samples: Record<string, Sample[]>): Record<string, ClassStats> =>
    Object.fromEntries(Object.entries(samples).map(([name, s]) => [name, stats(s)]));
  return {
    seconds,
    good: perClass(goodSamples),
    good_all: stats(Object.values(goodSamples).flat()),
    abuser: perClass(abuserDone?.samples ?? {}),
    ...(abuserDone?.streams ? { streams: abuserDone.streams } : {}),
    health,
    peak_rss_mib: Math.round(peakRss / 2 ** 20),
    diagnostics,
  };
}

/** Waits until neither tenant has a queued or running job (the caller cancels the abuser's sleeper first). */
async function settleJobs(target: LoadTarget, tenants: Tenant[], deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (const tenant of tenants) {
    for (;;) {
      let active = 0;
      for (const status of ['queued', 'running']) {
        const page = await must(target.url, 'GET', `/v1/jobs?status=${status}&limit=100`, tenant.token);
        for (const job of page.items as Array<{ id: string }>) {
          active++;
          // Trivial jobs end on their own; any still active after half the deadline is cancelled.
          if (Date.now() > deadline - deadlineMs / 2)
            await api(target.url, 'POST', `/v1/jobs/${job.id}/cancel`, tenant.token);
        }
      }
      if (active === 0) break;
      if (Date.now() > deadline)
        throw new Error(`${tenant.name}: ${active} jobs still active after ${deadlineMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** Containers of this installation that are not a still-open sandbox's, polled until none or the deadline. */
async function leakedContainers(
  target: LoadTarget,
  tenants: Tenant[],
  deadlineMs: number,
): Promise<string[]> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const openSandboxes = new Set<string>();
    for (const tenant of tenants) {
      const page = await must(target.url, 'GET', '/v1/sandboxes?limit=100', tenant.token);
      for (const s of page.items as Array<{ id: string; status: string }>) {
        if (s.status === 'starting' || s.status === 'ready') openSandboxes.add(s.id);
      }
    }
    const leaked = (await installationContainers(target.databaseUrl)).filter(
      (c) => !openSandboxes.has(c.Labels['orcaops.sandbox_id'] ?? ''),
    );
    if (leaked.length === 0 || Date.now() > deadline)
      return leaked.map((c) => `${c.Names[0] ?? c.Id} (${c.State})`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

export async function runMixedLoad(target: LoadTarget, options: LoadOptions): Promise<LoadResult> {
  const log = options.log ?? (() => undefined);
  const { rates, phaseSeconds } = options;
  const good = await createTenant(target, 'load-good');
  const abuser = await createTenant(target, 'load-abuser');
  await must(target.url, 'PUT', `/v1/workspaces/${abuser.id}/quotas`, target.adminToken, {
    limits: { concurrent_jobs: ABUSER_CONCURRENT_JOBS },
  });
  // The abuser's streams follow a job that runs for the whole phase (cancelled in cleanup).
  const sleeper = await must(target.url, 'POST', '/v1/jobs', abuser.token, {
    image: IMAGE,
    command: 'sleep 1800',
    timeout_seconds: 1800,
  });
  const abuserClients = await startAbuserClients(options.abuserInProcess === true);
  try {
    // Warm-up at the phase's rates, not measured: the first seconds pay for lazy initialisation and JIT,
    // which would otherwise land in the first phase only and flatter the ratio.
    const warmup = Math.max(3, Math.min(10, Math.round(phaseSeconds / 5)));
    log(`warm-up: ${warmup} s`);
    await runPhase(target, goodClasses(good, rates), goodClasses(abuser, rates), undefined, warmup, abuserClients);
    log(`phase 1/2: the well-behaved tenant alone, ${phaseSeconds} s`);
    const alone = await runPhase(target, goodClasses(good, rates), [], undefined, phaseSeconds, abuserClients);
    log(`phase 2/2: the well-behaved tenant next to the abuser, ${phaseSeconds} s`);
    const withAbuser = await runPhase(
      target,
      goodClasses(good, rates),
      [
        ...goodClasses(abuser, rates).map((spec) => ({ ...spec, name: `own_${spec.name}` })),
        ...abuseClasses(abuser, rates),
      ],
      { token: abuser.token, jobId: sleeper.id, count: rates.streams },
      phaseSeconds,
      abuserClients,
    );
    log('cleanup: cancelling the sleeper, waiting for jobs, deleting the sandboxes');
    await api(target.url, 'POST', `/v1/jobs/${sleeper.id}/cancel`, abuser.token);
    await settleJobs(target, [good, abuser], 120_000);
    for (const tenant of [good, abuser])
      await must(target.url, 'DELETE', `/v1/sandboxes/${tenant.sandboxId}`, tenant.token);
    const leaked = await leakedContainers(target, [good, abuser], 60_000);
    const p99Alone = alone.good_all.p99_ms;
    const p99With = withAbuser.good_all.p99_ms;
    const ratio = p99Alone > 0 ? Math.round((p99With / p99Alone) * 100) / 100 : 0;
    return {
      when: new Date().toISOString(),
      phase_seconds: phaseSeconds,
      rates,
      alone,
      with_abuser: withAbuser,
      leaked_containers: leaked.length,
      leaked_container_names: leaked,
      goal: {
        p99_alone_ms: p99Alone,
        p99_with_abuser_ms: p99With,
        ratio,
        within_2x: p99With <= 2 * p99Alone,
      },
    };
  } finally {
    abuserClients.close();
    // On failure too: nothing of the run keeps running (the caller removes the installation's containers).
    await api(target.url, 'POST', `/v1/jobs/${sleeper.id}/cancel`, abuser.token).catch(() => undefined);
  }
}

/** The report: one row per phase and class, then the goal. */
export function formatLoadTable(result: LoadResult): string {
  const rows: string[][] = [
    ['phase', 'tenant', 'class', 'requests', 'non-2xx by status', 'p50 ms', 'p99 ms'],
  ];
  const errors = (s: ClassStats): string =>
    Object.entries(s.non2xx)
      .map(([k, v]) => `${k}:${v}`)
      .join(' ') || '-';
  for (const [phase, r] of [
    ['alone', result.alone],
    ['with abuser', result.with_abuser],
  ] as const) {
    for (const [name, s] of Object.entries(r.good))
      rows.push([phase, 'good', name, String(s.requests), errors(s), String(s.p50_ms), String(s.p99_ms)]);
    rows.push([
      phase,
      'good',
      'ALL',
      String(r.good_all.requests),
      errors(r.good_all),
      String(r.good_all.p50_ms),
      String(r.good_all.p99_ms),
    ]);
    for (const [name, s] of Object.entries(r.abuser))
      rows.push([phase, 'abuser', name, String(s.requests), errors(s), String(s.p50_ms), String(s.p99_ms)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const lines = rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  '));
  const phaseLine = (name: string, r: PhaseResult): string =>
    `${name}: peak RSS ${r.peak_rss_mib} MiB, /health p99 ${r.health.p99_ms} ms (max ${r.health.max_ms}, ${r.health.failures} failed of ${r.health.probes})` +
    (r.streams
      ? `, streams opened ${r.streams.opened} (peak ${r.streams.peak_open} open), refused ${JSON.stringify(r.streams.refused)}`
      : '') +
    `\n  cpu s: server ${r.diagnostics.cpu_s.server}, postgres ${r.diagnostics.cpu_s.postgres}, docker ${r.diagnostics.cpu_s.docker}, load generator ${r.diagnostics.cpu_s.load_generator}${r.diagnostics.cpu_s.abuser_generator !== undefined ? ` + abuser's ${r.diagnostics.cpu_s.abuser_generator}` : ''}; machine busy ${r.diagnostics.machine_busy_pct} %, load ${r.diagnostics.loadavg_1m}` +
    (r.diagnostics.event_loop_lag_ms ? `; event-loop lag p50/p99/max ${r.diagnostics.event_loop_lag_ms.p50}/${r.diagnostics.event_loop_lag_ms.p99}/${r.diagnostics.event_loop_lag_ms.max} ms` : '');
  lines.push('', phaseLine('alone', result.alone), phaseLine('with abuser', result.with_abuser));
  // A with-abuser phase in which the abuser got few answers is no comparison (an overloaded machine can starve its clients).
  const flood = result.with_abuser.abuser.flood;
  if (flood) {
    const answered = flood.requests - (flood.non2xx.error ?? 0);
    lines.push(`abuser flood: ${answered} answered in ${result.phase_seconds} s (${Math.round(answered / result.phase_seconds)}/s of ${result.rates.flood}/s asked)`);
  }
  lines.push(`leaked containers after cleanup: ${result.leaked_containers}`);
  const g = result.goal;
  lines.push(
    `goal: well-behaved p99 ${g.p99_alone_ms} ms alone, ${g.p99_with_abuser_ms} ms with the abuser (${g.ratio}x; within 2x: ${g.within_2x ? 'yes' : 'NO'})`,
  );
  return lines.join('\n');
}
