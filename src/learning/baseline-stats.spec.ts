import type { FinishedRun } from 'src/learning/baseline-stats';
import { applyRun, detectAnomalies, emptyBaseline, ESTABLISHED_AFTER_RUNS, isEstablished, summariseMeasure } from 'src/learning/baseline-stats';

const run = (outcome: FinishedRun['outcome'], durationMs: number | null, memoryPeakBytes: number | null = 64 << 20, cpuSeconds: number | null = 0.5): FinishedRun => ({
  workspaceId: 'w',
  fingerprint: 'f',
  outcome,
  durationMs,
  memoryPeakBytes,
  cpuSeconds,
  finishedAt: new Date(0),
});

describe('baseline statistics', () => {
  it('counts outcomes, keeps a weighted success rate and feeds the measures from successful runs only', () => {
    let state = emptyBaseline();
    state = applyRun(state, run('succeeded', 1000));
    state = applyRun(state, run('failed', 999_999, 8 << 30, 99));
    expect(state).toMatchObject({ runs: 2, succeeded: 1, failed: 1 });
    expect(state.successEwma).toBeCloseTo(0.8);
    expect(summariseMeasure(state.measures.duration)).toMatchObject({ samples: 1, p99: expect.closeTo(1000, -1) });
    expect(summariseMeasure(state.measures.memory).p99).toBeLessThan(65 << 20);
  });

  it('is established after enough successful runs', () => {
    let state = emptyBaseline();
    for (let i = 0; i < ESTABLISHED_AFTER_RUNS - 1; i++) state = applyRun(state, run('succeeded', 100));
    state = applyRun(state, run('failed', 100));
    expect(isEstablished(state)).toBe(false);
    expect(isEstablished(applyRun(state, run('succeeded', 100)))).toBe(true);
  });

  it('answers quantiles within 1 % over values spanning orders of magnitude, after a serialisation per run', () => {
    let state = emptyBaseline();
    // 1..2000 ms uniformly, in a scrambled order.
    const values = Array.from({ length: 2000 }, (_, i) => ((i * 7919) % 2000) + 1);
    for (const v of values) state = applyRun(state, run('succeeded', v, v * 1024 * 1024, v / 1000));
    const duration = summariseMeasure(state.measures.duration);
    expect(duration.samples).toBe(2000);
    expect(Math.abs(duration.p50! - 1000) / 1000).toBeLessThan(0.02);
    expect(Math.abs(duration.p90! - 1800) / 1800).toBeLessThan(0.02);
    expect(Math.abs(duration.p99! - 1980) / 1980).toBeLessThan(0.02);
    // The moving average follows recent runs, not the whole history.
    for (let i = 0; i < 40; i++) state = applyRun(state, run('succeeded', 5000));
    expect(summariseMeasure(state.measures.duration).ewma).toBeCloseTo(5000, -1);
    // Size stays bounded.
    expect(state.measures.duration.sketch!.length).toBeLessThan(8192);
  });

  it('ignores missing or nonsensical measures', () => {
    const state = applyRun(emptyBaseline(), run('succeeded', null, -1, Number.NaN));
    expect(state.succeeded).toBe(1);
    expect(state.measures.duration.samples + state.measures.memory.samples + state.measures.cpu.samples).toBe(0);
  });
});

describe('anomalies against the baseline', () => {
  const established = (durations: number[], memoryMiB = 100): ReturnType<typeof emptyBaseline> =>
    durations.reduce((state, d) => applyRun(state, run('succeeded', d, memoryMiB * 1024 * 1024)), emptyBaseline());

  it('flags a run far above p99 and p50 (critical at twice the threshold), never before the baseline is established', () => {
    const state = established([10_000, 11_000, 9_000, 10_500, 12_000, 9_500, 10_200]);
    expect(detectAnomalies(state, run('succeeded', 12_500, 100 * 1024 * 1024))).toEqual([]);
    const [slow] = detectAnomalies(state, run('succeeded', 40_000, 100 * 1024 * 1024));
    expect(slow).toMatchObject({ kind: 'duration', severity: 'warning', baseline_runs: 7 });
    // p50 × 3 (≈ 30 600) is the widest of the three bounds here.
    expect(slow!.threshold).toBeGreaterThan(29_000);
    expect(slow!.threshold).toBeLessThan(32_000);
    expect(detectAnomalies(state, run('succeeded', 70_000))[0]).toMatchObject({ kind: 'duration', severity: 'critical' });
    expect(detectAnomalies(established([100, 100, 100]), run('succeeded', 99_000))).toEqual([]);
  });

  it('keeps tiny jobs’ jitter and failed runs out, and judges memory too', () => {
    const tiny = established([20, 25, 30, 22, 21]);
    expect(detectAnomalies(tiny, run('succeeded', 300))).toEqual([]);
    const state = established([1000, 1000, 1000, 1000, 1000], 100);
    expect(detectAnomalies(state, run('failed', 90_000, 4096 * 1024 * 1024))).toEqual([]);
    expect(detectAnomalies(state, run('succeeded', 1000, 400 * 1024 * 1024)).map((a) => a.kind)).toEqual(['memory']);
  });
});
