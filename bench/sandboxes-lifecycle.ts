// Sandbox lifecycle against raw Docker, in the same run (issue 4 performance targets).
//   npx ts-node -r tsconfig-paths/register --transpile-only bench/sandboxes-lifecycle.ts [iterations]
// 1. create → ready latency: from the warm pool, without it (same image, resources that do not match the
//    pool), and raw engine create+start of the same hardened container; interleaved, medians and ratios.
// 2. create rate with a warm pool: 20 concurrent creates, sandboxes/s.
// 3. 100 idle sandboxes at once: engine host memory (free -m) before and after.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WarmPoolService } from 'src/sandboxes/warm-pool.service';
import { ADMIN_TOKEN, median, percentile, startBenchApp } from './support/bench-app';
import { createRawHardened } from './support/raw-docker';

const IMAGE = 'orcaops/busybox:latest';
const POOL = 20;

/** The same hardened profile the adapter applies (hardening.md §1.1), created and started directly. */
async function rawCreateStart(): Promise<number> {
  const started = performance.now();
  const container = await createRawHardened(IMAGE);
  await container.start();
  const ms = performance.now() - started;
  await container.remove({ force: true });
  return ms;
}

/** `free -m` on the engine host (this machine): used and available MiB. */
function memoryMb(): { used: number; available: number } {
  const line = execFileSync('free', ['-m'], { encoding: 'utf8' }).split('\n').find((l) => l.startsWith('Mem:'))!;
  const cols = line.split(/\s+/);
  return { used: Number(cols[2]), available: Number(cols[6]) };
}

const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const iterations = Number(process.argv[2] ?? 15);
  const bench = await startBenchApp({ ORCAOPS_SANDBOX_POOL: `${IMAGE}=${POOL}`, ORCAOPS_SANDBOX_REAPER_MS: '5000' });
  const call = async (method: string, path: string, body?: unknown): Promise<any> => {
    const headers: Record<string, string> = { authorization: `Bearer ${bench.devToken}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(`${bench.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    return r.json();
  };
  const create = async (body: Record<string, unknown>): Promise<{ ms: number; id: string; pooled: boolean }> => {
    const started = performance.now();
    const s = await call('POST', '/v1/sandboxes', body);
    if (s.status !== 'ready') throw new Error(`bench sandbox: ${JSON.stringify(s)}`);
    return { ms: performance.now() - started, id: s.id, pooled: s.pooled };
  };
  const pool = bench.app.get(WarmPoolService);
  await fetch(`${bench.url}/v1/workspaces/${bench.workspaceId}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ settings: { max_sandboxes: 200 } }),
  });
  try {
    if (!(await pool.whenFull(120_000))) throw new Error('the pool did not fill');
    const raw: number[] = [];
    const noPool: number[] = [];
    const warm: number[] = [];
    for (let i = 0; i < iterations + 2; i++) {
      const r = await rawCreateStart();
      const cold = await create({ image: IMAGE, resources: { pids: 127 } });
      const hot = await create({ image: IMAGE });
      if (!hot.pooled || cold.pooled) throw new Error('pool matching is not what the bench expects');
      await call('DELETE', `/v1/sandboxes/${cold.id}`);
      await call('DELETE', `/v1/sandboxes/${hot.id}`);
      await pool.whenFull(60_000);
      await settle(300); // let the engine finish the removals before the next timed round
      if (i < 2) continue; // warm-up
      raw.push(r);
      noPool.push(cold.ms);
      warm.push(hot.ms);
    }

    const t0 = performance.now();
    const burst = await Promise.all(Array.from({ length: 20 }, () => create({ image: IMAGE })));
    const burstSeconds = (performance.now() - t0) / 1000;
    for (const s of burst) await call('DELETE', `/v1/sandboxes/${s.id}`);
    await pool.whenFull(120_000);

    await settle(3_000);
    const before = memoryMb();
    const t1 = performance.now();
    const many: Array<{ id: string }> = [];
    for (let batch = 0; batch < 10; batch++) many.push(...(await Promise.all(Array.from({ length: 10 }, () => create({ image: IMAGE, resources: { pids: 127 } })))));
    const manySeconds = (performance.now() - t1) / 1000;
    await settle(3_000);
    const after = memoryMb();
    const listed = await call('GET', '/v1/sandboxes?status=ready&limit=200');
    for (const s of many) await call('DELETE', `/v1/sandboxes/${s.id}`);

    const result = {
      when: new Date().toISOString(),
      iterations,
      create_to_ready_ms: {
        raw_engine_create_start_median: Math.round(median(raw)),
        no_pool_median: Math.round(median(noPool)),
        no_pool_p95: Math.round(percentile(noPool, 95)),
        warm_pool_median: Math.round(median(warm)),
        warm_pool_p95: Math.round(percentile(warm, 95)),
      },
      ratio_no_pool_to_raw: Number((median(noPool) / median(raw)).toFixed(2)),
      ratio_warm_pool_to_raw: Number((median(warm) / median(raw)).toFixed(2)),
      create_rate_warm_pool: { sandboxes: burst.length, pooled: burst.filter((s) => s.pooled).length, seconds: Number(burstSeconds.toFixed(2)), per_second: Number((burst.length / burstSeconds).toFixed(1)) },
      idle_sandboxes: {
        count: many.length,
        ready_listed: listed.items.length,
        create_seconds: Number(manySeconds.toFixed(1)),
        host_mb_before: before,
        host_mb_after: after,
        used_mb_per_sandbox: Number(((after.used - before.used) / many.length).toFixed(2)),
      },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    mkdirSync(join(__dirname, 'results'), { recursive: true });
    writeFileSync(join(__dirname, 'results', `sandboxes-lifecycle-${Date.now()}.json`), JSON.stringify(result, null, 2));
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
