// The abuse suite's harness: one real server process (TypeScript sources, real engine, a fresh real
// database), two tenants created through the API (an abuser and a bystander), and the watchers every
// abuse case asserts on: /health answers within 1 s throughout, RSS stays under a bound, and the
// bystander's requests keep succeeding.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { TEST_ADMIN_TOKEN } from '../../support/app';
import { createTestDatabase } from '../../support/database';
import { removeInstallationContainers } from '../../support/docker';
import { freePort } from '../../support/ports';
import { startServerProcess, type ServerProcess } from '../../support/server-process';

/** The documented bound on the server's resident memory under abuse (docs/security.md). */
export const ABUSE_RSS_BOUND_BYTES = 768 * 1024 * 1024;
/** /health must answer within this, every time, while an abuse case runs. */
export const HEALTH_DEADLINE_MS = 1000;
/**
 * The most CPU the server may spend holding its event loop in one stretch during an abuse case: its
 * LoopHoldMonitor logs every hold over ORCAOPS_LOOP_HOLD_WARN_MS (50 ms of CPU). The design rule is ~50 ms per
 * request; the bound leaves room for a major garbage collection on a loaded 2-core CI machine.
 */
export const LOOP_HOLD_BOUND_MS = 250;

/** The probe thread: GET /health every 100 ms until told to stop; posts each answer's time and status. */
const HEALTH_PROBE_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
let running = true;
parentPort.on('message', () => { running = false; });
(async () => {
  while (running) {
    const started = performance.now();
    try {
      const response = await fetch(workerData.url, { signal: AbortSignal.timeout(workerData.deadlineMs * 3) });
      await response.arrayBuffer();
      parentPort.postMessage({ ms: performance.now() - started, status: response.status });
    } catch (error) {
      parentPort.postMessage({ error: String(error && error.message || error) });
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  process.exit(0);
})();
`;

/** The longest hold the server logged in `output` (0: none). */
export function longestLoopHold(output: string): number {
  let longest = 0;
  for (const match of output.matchAll(/event loop held for (\d+) ms of CPU[^\n]*?(?:the longest (\d+) ms of CPU)?/g)) {
    longest = Math.max(longest, Number(match[1]), Number(match[2] ?? 0));
  }
  return longest;
}

export interface AbuseTenant {
  id: string;
  admin: string;
  developer: string;
  viewer: string;
}

export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  body: any; // JSON of any shape, asserted by the test
}

export interface AbuseServer {
  url: string;
  server: ServerProcess;
  databaseUrl: string;
  home: string;
  abuser: AbuseTenant;
  bystander: AbuseTenant;
  /** A JSON request with a bearer token (or none). */
  request(method: string, path: string, options?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<HttpResult>;
  /** Resident set size of the server process now, in bytes (from /proc). */
  rss(): number;
  /**
   * Runs `abuse` while probing /health every 100 ms and sampling RSS; then asserts that every probe
   * answered 200 within HEALTH_DEADLINE_MS and that peak RSS stayed under the bound, and runs the
   * bystander's check (which must pass after the abuse too).
   */
  watch<T>(abuse: () => Promise<T>, options?: { rssBoundBytes?: number }): Promise<{ result: T; peakRss: number; slowestHealthMs: number }>;
  /** The bystander still works: GET /v1/me and a job list answer 200. */
  bystanderWorks(): Promise<void>;
  close(): Promise<void>;
}

export async function startAbuseServer(env: Record<string, string> = {}): Promise<AbuseServer> {
  const db = await createTestDatabase();
  const home = mkdtempSync(join(tmpdir(), 'orcaops-abuse-'));
  const server = await startServerProcess(
    {
      DATABASE_URL: db.url,
      ORCAOPS_HOME: home,
      ORCAOPS_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      ORCAOPS_ENV: 'test',
      ORCAOPS_LOG_LEVEL: 'log', // the harness waits for the 'listening on' line
      ...env,
    },
    await freePort(),
  );
  const url = server.url;

  const request: AbuseServer['request'] = async (method, path, options = {}) => {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] ??= 'application/json';
    const response = await fetch(`${url}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
    });
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    return { status: response.status, headers: response.headers, text, body };
  };

  const tenant = async (name: string): Promise<AbuseTenant> => {
    const ws = await request('POST', '/v1/workspaces', { token: TEST_ADMIN_TOKEN, body: { name } });
    if (ws.status !== 201) throw new Error(`workspace ${name}: ${ws.status} ${ws.text}`);
    const token = async (role: string): Promise<string> => {
      const t = await request('POST', `/v1/workspaces/${ws.body.id}/tokens`, { token: TEST_ADMIN_TOKEN, body: { name: `${name}-${role}`, role } });
      if (t.status !== 201) throw new Error(`token ${name}/${role}: ${t.status} ${t.text}`);
      return t.body.token as string;
    };
    return { id: ws.body.id as string, admin: await token('admin'), developer: await token('developer'), viewer: await token('viewer') };
  };
  const abuser = await tenant('abuser');
  const bystander = await tenant('bystander');

  const rss = (): number => {
    const status = readFileSync(`/proc/${server.child.pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return kb ? Number(kb[1]) * 1024 : 0;
  };

  const bystanderWorks = async (): Promise<void> => {
    const me = await request('GET', '/v1/me', { token: bystander.developer });
    if (me.status !== 200) throw new Error(`bystander GET /v1/me: ${me.status} ${me.text}`);
    const jobs = await request('GET', '/v1/jobs?limit=5', { token: bystander.developer });
    if (jobs.status !== 200) throw new Error(`bystander GET /v1/jobs: ${jobs.status} ${jobs.text}`);
  };

  async function watch<T>(abuse: () => Promise<T>, options: { rssBoundBytes?: number } = {}): Promise<{ result: T; peakRss: number; slowestHealthMs: number }> {
    const bound = options.rssBoundBytes ?? ABUSE_RSS_BOUND_BYTES;
    let running = true;
    let peakRss = rss();
    let slowestHealthMs = 0;
    const failures: string[] = [];
    const outputBefore = server.output().length;
    // The /health probe runs on its own thread: what it measures is the server, not how busy this test
    // process's event loop is with the abuse itself (reading floods, parsing responses).
    const prober = new Worker(HEALTH_PROBE_SOURCE, { eval: true, workerData: { url: `${url}/health`, deadlineMs: HEALTH_DEADLINE_MS } });
    prober.on('message', (m: { ms?: number; status?: number; error?: string }) => {
      if (m.error !== undefined) failures.push(`/health failed: ${m.error}`);
      else {
        slowestHealthMs = Math.max(slowestHealthMs, m.ms!);
        if (m.status !== 200) failures.push(`/health answered ${m.status}`);
        if (m.ms! > HEALTH_DEADLINE_MS) failures.push(`/health took ${Math.round(m.ms!)} ms`);
      }
    });
    const proberExited = new Promise<void>((resolve) => prober.once('exit', () => resolve()));
    const probe = (async () => {
      while (running) {
        try {
          peakRss = Math.max(peakRss, rss());
        } catch {
          failures.push('server process is gone');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    let result: T;
    try {
      result = await abuse();
      await bystanderWorks();
    } finally {
      running = false;
      await probe;
      prober.postMessage('stop');
      await proberExited;
    }
    const longestHoldMs = longestLoopHold(server.output().slice(outputBefore));
    if (longestHoldMs > LOOP_HOLD_BOUND_MS) failures.push(`the event loop was held for ${longestHoldMs} ms (bound ${LOOP_HOLD_BOUND_MS} ms)`);
    if (failures.length > 0) throw new Error(`the server suffered during the abuse: ${failures.slice(0, 5).join('; ')}`);
    if (peakRss > bound) throw new Error(`server RSS peaked at ${Math.round(peakRss / 2 ** 20)} MiB (bound ${Math.round(bound / 2 ** 20)} MiB)`);
    if (process.env.ABUSE_REPORT) process.stderr.write(`abuse watch: slowest /health ${Math.round(slowestHealthMs)} ms, longest loop hold ${longestHoldMs} ms, peak RSS ${Math.round(peakRss / 2 ** 20)} MiB\n`);
    return { result, peakRss, slowestHealthMs };
  }

  return {
    url,
    server,
    databaseUrl: db.url,
    home,
    abuser,
    bystander,
    request,
    rss,
    watch,
    bystanderWorks,
    close: async () => {
      await server.kill('SIGTERM');
      await removeInstallationContainers(db.url);
      await db.drop();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
