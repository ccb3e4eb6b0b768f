// Create → first command output (issue 4 targets: warm pool p50 ≤ 50 ms; without a pool ≤ 1.1× raw engine
// create + start + exec), all three measured interleaved in the same run.
//   npx ts-node -r tsconfig-paths/register --transpile-only bench/sandboxes-first-output.ts [iterations]
// (a) API create from the warm pool + `echo hi` in the persistent shell, until its output is back;
// (b) the same without the pool (resources that do not match it);
// (c) raw dockerode create + start of the same hardened container + exec `echo hi`, output read.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WarmPoolService } from 'src/sandboxes/warm-pool.service';
import { ADMIN_TOKEN, median, percentile, startBenchApp } from './support/bench-app';
import { createRawHardened } from './support/raw-docker';

const IMAGE = 'orcaops/busybox:latest';
const POOL = 5;

/** The adapter's hardened profile (hardening.md §1.1) created, started and exec'd directly; returns ms to "hi". */
async function rawFirstOutput(): Promise<number> {
  const started = performance.now();
  const container = await createRawHardened(IMAGE);
  try {
    await container.start();
    const exec = await container.exec({ Cmd: ['echo', 'hi'], User: '65534:65534', AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const out = await new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', reject);
      stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
    if (!out.includes('hi')) throw new Error(`raw exec output: ${JSON.stringify(out)}`);
    return performance.now() - started;
  } finally {
    await container.remove({ force: true });
  }
}

const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const iterations = Math.max(15, Number(process.argv[2] ?? 15));
  const bench = await startBenchApp({ ORCAOPS_SANDBOX_POOL: `${IMAGE}=${POOL}`, ORCAOPS_SANDBOX_REAPER_MS: '5000' });
  const call = async (method: string, path: string, body?: unknown): Promise<any> => {
    const headers: Record<string, string> = { authorization: `Bearer ${bench.devToken}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(`${bench.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    return r.status === 204 ? undefined : r.json();
  };
  /** Create, then `echo hi` in the main shell until its output is back; both phases timed. */
  const firstOutput = async (body: Record<string, unknown>): Promise<{ ms: number; createMs: number; id: string; pooled: boolean }> => {
    const started = performance.now();
    const s = await call('POST', '/v1/sandboxes', body);
    const createMs = performance.now() - started;
    if (s.status !== 'ready') throw new Error(`bench sandbox: ${JSON.stringify(s)}`);
    const r = await call('POST', `/v1/sandboxes/${s.id}/shells/main/run`, { command: 'echo hi', timeout_seconds: 30 });
    const ms = performance.now() - started;
    if (r.status !== 'completed' || r.output !== 'hi\n') throw new Error(`first command: ${JSON.stringify(r)}`);
    return { ms, createMs, id: s.id, pooled: s.pooled };
  };
  const pool = bench.app.get(WarmPoolService);
  await fetch(`${bench.url}/v1/workspaces/${bench.workspaceId}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ settings: { max_sandboxes: 50 } }),
  });
  try {
    if (!(await pool.whenFull(120_000))) throw new Error('the pool did not fill');
    const raw: number[] = [];
    const noPool: number[] = [];
    const noPoolCreate: number[] = [];
    const warm: number[] = [];
    const warmCreate: number[] = [];
    for (let i = 0; i < iterations + 2; i++) {
      const r = await rawFirstOutput();
      const cold = await firstOutput({ image: IMAGE, resources: { pids: 127 } });
      const hot = await firstOutput({ image: IMAGE });
      if (!hot.pooled || cold.pooled) throw new Error('pool matching is not what the bench expects');
      await call('DELETE', `/v1/sandboxes/${cold.id}`);
      await call('DELETE', `/v1/sandboxes/${hot.id}`);
      await pool.whenFull(60_000);
      await settle(300); // let the engine finish removals and the refill before the next timed round
      if (i < 2) continue; // warm-up
      raw.push(r);
      noPool.push(cold.ms);
      noPoolCreate.push(cold.createMs);
      warm.push(hot.ms);
      warmCreate.push(hot.createMs);
    }
    const result = {
      when: new Date().toISOString(),
      iterations,
      create_to_first_output_ms: {
        raw_engine_create_start_exec_median: Math.round(median(raw)),
        raw_engine_p95: Math.round(percentile(raw, 95)),
        no_pool_median: Math.round(median(noPool)),
        no_pool_p95: Math.round(percentile(noPool, 95)),
        no_pool_create_part_median: Math.round(median(noPoolCreate)),
        warm_pool_median: Math.round(median(warm)),
        warm_pool_p95: Math.round(percentile(warm, 95)),
        warm_pool_create_part_median: Math.round(median(warmCreate)),
      },
      ratio_no_pool_to_raw: Number((median(noPool) / median(raw)).toFixed(2)),
      ratio_warm_pool_to_raw: Number((median(warm) / median(raw)).toFixed(2)),
      targets: { warm_pool_p50_ms: 50, no_pool_ratio_to_raw: 1.1 },
      met: { warm_pool: median(warm) <= 50, no_pool: median(noPool) / median(raw) <= 1.1 },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    mkdirSync(join(__dirname, 'results'), { recursive: true });
    writeFileSync(join(__dirname, 'results', `sandboxes-first-output-${Date.now()}.json`), JSON.stringify(result, null, 2));
  } finally {
    // Sandboxes outlive their server on purpose (re-adoption), so the bench removes its own.
    const left = (await call('GET', '/v1/sandboxes?status=ready&limit=200').catch(() => ({ items: [] }))) as { items: Array<{ id: string }> };
    for (const s of left.items) await call('DELETE', `/v1/sandboxes/${s.id}`).catch(() => undefined);
    await bench.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error).stack ?? error)}\n`);
  process.exit(1);
});
