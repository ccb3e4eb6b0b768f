import { DDSketch, LogCollapsingLowestDenseDDSketch } from '@datadog/sketches-js';

/**
 * What "normal" is for one recurring run (a fingerprint), as rolling statistics that a finished run
 * updates in O(1): counts, an exponentially weighted mean (recent runs weigh more) and a quantile
 * sketch per measure. Pure: the caller loads the state, applies one run and stores it.
 *
 * Quantiles come from DDSketch (Datadog's sketches-js): relative-error guarantees (1 %) suit durations
 * and memory that span orders of magnitude, its size is bounded by the range of the values (logarithmic
 * bins), and it serialises to the standard
 * DDSketch protobuf.
 */

/** A baseline is "established" (its numbers may be used to judge runs) after this many successful runs. */
export const ESTABLISHED_AFTER_RUNS = 5;
/** Weight of the newest run in the moving averages (≈ the last 10 runs matter). */
export const EWMA_ALPHA = 0.2;
const RELATIVE_ACCURACY = 0.01;
/**
 * Bins per sketch while it is built; a sketch read back from its protobuf keeps its bins without the
 * limit, which the values' range bounds anyway (1 % bins: ~1,200 from 1 ms to 10⁷ ms, a few KiB).
 */
const BIN_LIMIT = 512;

export type BaselineMeasure = 'duration' | 'memory' | 'cpu';
export const BASELINE_MEASURES: readonly BaselineMeasure[] = ['duration', 'memory', 'cpu'];

/** One finished run, as the baseline sees it: only succeeded and failed runs count (cancelled and interrupted say nothing). */
export interface FinishedRun {
  workspaceId: string;
  /** The job, for the evidence of an anomaly (absent in synthetic histories). */
  jobId?: string;
  fingerprint: string;
  outcome: 'succeeded' | 'failed';
  /** Run time (after the image pull), ms. */
  durationMs: number | null;
  memoryPeakBytes: number | null;
  cpuSeconds: number | null;
  finishedAt: Date;
}

export interface MeasureState {
  /** Successful runs that reported this measure. */
  samples: number;
  ewma: number | null;
  /** DDSketch protobuf; null before the first sample. */
  sketch: Uint8Array | null;
}

export interface BaselineState {
  runs: number;
  succeeded: number;
  failed: number;
  /** Exponentially weighted success rate (1 = every recent run succeeded). */
  successEwma: number | null;
  measures: Record<BaselineMeasure, MeasureState>;
}

export interface MeasureSummary {
  samples: number;
  ewma: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

export function emptyBaseline(): BaselineState {
  const empty = (): MeasureState => ({ samples: 0, ewma: null, sketch: null });
  return { runs: 0, succeeded: 0, failed: 0, successEwma: null, measures: { duration: empty(), memory: empty(), cpu: empty() } };
}

const ewma = (previous: number | null, value: number): number => (previous === null ? value : previous + EWMA_ALPHA * (value - previous));

function measureOf(run: FinishedRun, measure: BaselineMeasure): number | null {
  const value = measure === 'duration' ? run.durationMs : measure === 'memory' ? run.memoryPeakBytes : run.cpuSeconds;
  return value === null || !Number.isFinite(value) || value < 0 ? null : value;
}

function accept(state: MeasureState, value: number): MeasureState {
  const sketch = state.sketch ? DDSketch.fromProto(state.sketch) : new LogCollapsingLowestDenseDDSketch({ relativeAccuracy: RELATIVE_ACCURACY, binLimit: BIN_LIMIT });
  sketch.accept(value);
  return { samples: state.samples + 1, ewma: ewma(state.ewma, value), sketch: sketch.toProto() };
}

/**
 * The state after one more run. Only a successful run feeds the measures: "normal" is what a working
 * run costs (a run killed at its timeout or by the OOM killer would drag the quantiles up).
 */
export function applyRun(state: BaselineState, run: FinishedRun): BaselineState {
  const ok = run.outcome === 'succeeded';
  const measures = { ...state.measures };
  if (ok) {
    for (const measure of BASELINE_MEASURES) {
      const value = measureOf(run, measure);
      if (value !== null) measures[measure] = accept(measures[measure], value);
    }
  }
  return {
    runs: state.runs + 1,
    succeeded: state.succeeded + (ok ? 1 : 0),
    failed: state.failed + (ok ? 0 : 1),
    successEwma: ewma(state.successEwma, ok ? 1 : 0),
    measures,
  };
}

export function isEstablished(state: BaselineState): boolean {
  return state.succeeded >= ESTABLISHED_AFTER_RUNS;
}

export function summariseMeasure(state: MeasureState): MeasureSummary {
  if (!state.sketch || state.samples === 0) return { samples: 0, ewma: null, p50: null, p90: null, p99: null };
  const sketch = DDSketch.fromProto(state.sketch);
  const at = (q: number): number => Number(sketch.getValueAtQuantile(q).toPrecision(6));
  return { samples: state.samples, ewma: state.ewma === null ? null : Number(state.ewma.toPrecision(6)), p50: at(0.5), p90: at(0.9), p99: at(0.99) };
}

/**
 * When a successful run is far outside its established baseline: robust, quantile-based thresholds (a
 * plain mean ± 2σ would flag every long-tailed job): above max(p99 × 1.5, p50 × 3, p50 + floor), where
 * the floor keeps millisecond jitter of tiny jobs from counting; critical at twice the threshold.
 */
export const ANOMALY_RULES = {
  overP99: 1.5,
  overP50: 3,
  floor: { duration: 1_000, memory: 32 * 1024 * 1024 } as Record<'duration' | 'memory', number>,
  critical: 2,
};

export interface DetectedAnomaly {
  kind: 'duration' | 'memory';
  severity: 'warning' | 'critical';
  value: number;
  p50: number;
  p99: number;
  threshold: number;
  /** Successful runs the baseline held when this run was judged. */
  baseline_runs: number;
}

/** Anomalies of `run` against `state`, the baseline before the run (a run never judges itself). */
export function detectAnomalies(state: BaselineState, run: FinishedRun): DetectedAnomaly[] {
  if (run.outcome !== 'succeeded' || !isEstablished(state)) return [];
  const found: DetectedAnomaly[] = [];
  for (const kind of ['duration', 'memory'] as const) {
    const value = measureOf(run, kind);
    const measure = state.measures[kind];
    if (value === null || !measure.sketch || measure.samples < ESTABLISHED_AFTER_RUNS) continue;
    const sketch = DDSketch.fromProto(measure.sketch);
    const p50 = sketch.getValueAtQuantile(0.5);
    const p99 = sketch.getValueAtQuantile(0.99);
    const threshold = Math.max(p99 * ANOMALY_RULES.overP99, p50 * ANOMALY_RULES.overP50, p50 + ANOMALY_RULES.floor[kind]);
    if (value <= threshold) continue;
    const round = (v: number): number => Number(v.toPrecision(6));
    found.push({
      kind,
      severity: value >= threshold * ANOMALY_RULES.critical ? 'critical' : 'warning',
      value: round(value),
      p50: round(p50),
      p99: round(p99),
      threshold: round(threshold),
      baseline_runs: measure.samples,
    });
  }
  return found;
}
