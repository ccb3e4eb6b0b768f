import type { InstanceResult } from 'src/workflows/engine/decide';
import {
  advance,
  applyDecision,
  cancelRun,
  decide,
  initialRunState,
  needsContext,
  recordInstanceResult,
} from 'src/workflows/engine/decide';
import { formatDiagnostics, loadWorkflow } from 'src/workflows/engine/loader';
import type { Decision, JobSpec, RunState } from 'src/workflows/engine/model';

/** A tiny driver: load YAML, advance the pure state machine, report results like the runner would. */
class Simulation {
  state: RunState;
  now = 0;
  readonly decisions: Decision[] = [];

  constructor(yaml: string, maxParallel = 10) {
    const loaded = loadWorkflow(yaml);
    if (!loaded.workflow) throw new Error(formatDiagnostics(loaded.diagnostics));
    const context = {
      github: { event_name: 'push' },
      inputs: {},
      vars: {},
      env: {},
      defaultImage: 'img',
      platforms: {},
    };
    this.state = initialRunState(loaded.workflow, context, maxParallel, 0);
    this.settle();
  }

  settle(): this {
    const { state, decisions } = advance(this.state, this.now);
    this.state = state;
    this.decisions.push(...decisions);
    return this;
  }

  at(ms: number): this {
    this.now = ms;
    return this.settle();
  }

  finish(key: string, outcome: InstanceResult['outcome'], extra: Partial<InstanceResult> = {}): this {
    this.state = recordInstanceResult(
      this.state,
      key,
      { outcome, outputs: {}, continueOnError: false, ...extra },
      this.now,
    );
    return this.settle();
  }

  running(): string[] {
    return Object.values(this.state.instances)
      .filter((i) => i.status === 'running')
      .map((i) => i.instance.key)
      .sort();
  }

  result(jobId: string): string | undefined {
    return this.state.jobs[jobId]?.result;
  }

  status(key: string): string {
    const i = this.state.instances[key];
    return i
      ? `${i.status}${i.reason ? `:${i.reason}` : ''}`
      : `job:${this.state.jobs[key]?.phase}:${this.state.jobs[key]?.reason}`;
  }
}

const steps = 'steps: [{run: echo}]';

describe('decide: ready queue and propagation', () => {
  it('starts a job as soon as its own needs are done, not a whole stage', () => {
    const sim = new Simulation(`jobs:\n  a: {${steps}}\n  slow: {${steps}}\n  b: {needs: a, ${steps}}`);
    expect(sim.running()).toEqual(['a', 'slow']);
    sim.finish('a', 'success');
    expect(sim.running()).toEqual(['b', 'slow']);
  });

  it('diamond with a failing branch: default if skips, always() runs, run fails', () => {
    const sim = new Simulation(
      [
        'jobs:',
        `  a: {${steps}}`,
        `  b: {needs: a, ${steps}}`,
        `  c: {needs: a, ${steps}}`,
        `  d: {needs: [b, c], ${steps}}`,
        `  report: {needs: d, if: always(), ${steps}}`,
        `  on-fail: {needs: d, if: failure(), ${steps}}`,
      ].join('\n'),
    );
    sim.finish('a', 'success').finish('b', 'failure');
    expect(sim.running()).toEqual(['c']);
    sim.finish('c', 'success');
    expect(sim.status('d')).toBe('job:skipped:needs_not_satisfied');
    expect(sim.running()).toEqual(['on-fail', 'report']);
    sim.finish('report', 'success').finish('on-fail', 'success');
    expect(sim.state.conclusion).toBe('failure');
  });

  it.each([
    // A result, B's if, C's if → C runs?
    ['success', undefined, undefined, true],
    ['failure', undefined, 'failure()', true],
    ['failure', undefined, undefined, false],
    ['failure', undefined, '${{ !cancelled() && !failure() }}', false],
    ['skipped', undefined, undefined, false],
    ['skipped', undefined, '${{ !cancelled() && !failure() }}', true],
    ['skipped', undefined, 'failure()', false],
    ['skipped', undefined, 'always()', true],
  ])('truth table: A %s, C if %p/%p → runs %p', (aResult, _bIf, cIf, runs) => {
    const aIf = aResult === 'skipped' ? 'if: false, ' : '';
    const cCondition = cIf ? `if: "${cIf}", ` : '';
    const sim = new Simulation(
      `jobs:\n  a: {${aIf}${steps}}\n  b: {needs: a, ${steps}}\n  c: {needs: b, ${cCondition}${steps}}`,
    );
    if (aResult !== 'skipped') sim.finish('a', aResult as 'success' | 'failure');
    if (sim.running().includes('b')) sim.finish('b', 'success');
    expect(sim.running().includes('c')).toBe(runs);
  });

  it('evaluates bare if conditions against needs outputs', () => {
    const sim = new Simulation(
      `jobs:\n  a: {outputs: {go: "\${{ steps.s.outputs.go }}"}, steps: [{id: s, run: echo}]}\n  b: {needs: a, if: "needs.a.outputs.go == 'yes'", ${steps}}`,
    );
    sim.finish('a', 'success', { outputs: { go: 'no' } });
    expect(sim.status('b')).toBe('job:skipped:condition_false');
    expect(sim.state.conclusion).toBe('success');
  });

  it('fails a job whose condition cannot be evaluated, never treating it as true', () => {
    const sim = new Simulation(`jobs:\n  a: {if: "fromJSON('nope')", ${steps}}`);
    expect(sim.status('a')).toBe('job:failed:expansion_error');
    expect(sim.state.conclusion).toBe('failure');
  });
});

describe('decide: continue-on-error, fail-fast, max-parallel', () => {
  it('continue-on-error: downstream sees success, the real outcome is kept', () => {
    const sim = new Simulation(`jobs:\n  a: {continue-on-error: true, ${steps}}\n  b: {needs: a, ${steps}}`);
    sim.finish('a', 'failure', { continueOnError: true });
    expect(sim.state.jobs.a).toMatchObject({ result: 'success', outcome: 'failure' });
    expect(needsContext(sim.state, sim.state.workflow.jobs[1] as JobSpec)).toMatchObject({
      a: { result: 'success', outcome: 'failure' },
    });
    expect(sim.running()).toEqual(['b']);
    sim.finish('b', 'success');
    expect(sim.state.conclusion).toBe('success');
  });

  it('fail-fast cancels queued and running siblings of one matrix only', () => {
    const sim = new Simulation(
      `jobs:\n  m: {strategy: {max-parallel: 2, matrix: {n: [1, 2, 3]}}, ${steps}}\n  other: {${steps}}`,
    );
    expect(sim.running()).toEqual(['m{"n":1}', 'm{"n":2}', 'other']);
    sim.finish('m{"n":1}', 'failure');
    const last = sim.decisions[sim.decisions.length - 1] as Decision;
    expect(last.cancelQueued).toEqual([{ key: 'm{"n":3}', reason: 'fail_fast' }]);
    expect(last.cancelRunning).toEqual([{ key: 'm{"n":2}', reason: 'fail_fast' }]);
    sim.finish('m{"n":2}', 'cancelled');
    expect(sim.status('m{"n":2}')).toBe('cancelled:fail_fast');
    expect(sim.result('m')).toBe('failure');
    expect(sim.running()).toEqual(['other']);
  });

  it('fail-fast false lets the other instances finish; a continue-on-error failure never triggers it', () => {
    const sim = new Simulation(
      `jobs:\n  m: {strategy: {fail-fast: false, matrix: {n: [1, 2]}}, ${steps}}\n  k: {continue-on-error: true, strategy: {matrix: {n: [1, 2]}}, ${steps}}`,
    );
    sim.finish('m{"n":1}', 'failure').finish('k{"n":1}', 'failure', { continueOnError: true });
    expect(sim.running()).toEqual(['k{"n":2}', 'm{"n":2}']);
  });

  it('respects per-matrix max-parallel and the global cap, admitting in matrix order', () => {
    const sim = new Simulation(
      `jobs:\n  m: {strategy: {max-parallel: 1, matrix: {n: [1, 2, 3]}}, ${steps}}\n  x: {strategy: {matrix: {n: [1, 2, 3]}}, ${steps}}`,
      3,
    );
    expect(sim.running()).toEqual(['m{"n":1}', 'x{"n":1}', 'x{"n":2}']);
    sim.finish('m{"n":1}', 'success');
    expect(sim.running()).toEqual(['m{"n":2}', 'x{"n":1}', 'x{"n":2}']);
    sim.finish('x{"n":1}', 'success');
    expect(sim.running()).toEqual(['m{"n":2}', 'x{"n":2}', 'x{"n":3}']);
  });
});

describe('decide: timeouts, cancellation and retries', () => {
  it('enforces the workflow timeout, then still runs always() jobs', () => {
    const sim = new Simulation(
      `timeout: 10m\njobs:\n  a: {${steps}}\n  b: {needs: a, ${steps}}\n  cleanup: {needs: b, if: always(), ${steps}}`,
    );
    sim.at(10 * 60_000);
    expect(sim.state.cancelled).toBe('timeout');
    expect(
      sim.decisions.some((d) => d.cancelRunning.some((c) => c.key === 'a' && c.reason === 'run_timed_out')),
    ).toBe(true);
    sim.finish('a', 'cancelled');
    expect(sim.status('b')).toBe('job:skipped:needs_not_satisfied');
    expect(sim.running()).toEqual(['cleanup']);
    sim.finish('cleanup', 'success');
    expect(sim.state.conclusion).toBe('cancelled');
  });

  it('user cancel stops running work once and drops queued work', () => {
    const sim = new Simulation(`jobs:\n  m: {strategy: {max-parallel: 1, matrix: {n: [1, 2]}}, ${steps}}`);
    sim.state = cancelRun(sim.state, 5);
    expect(sim.status('m{"n":2}')).toBe('cancelled:run_cancelled');
    const first = decide(sim.state, 6);
    expect(first.cancelRunning).toEqual([{ key: 'm{"n":1}', reason: 'run_cancelled' }]);
    sim.state = applyDecision(sim.state, first);
    expect(decide(sim.state, 7).cancelRunning).toEqual([]);
    sim.finish('m{"n":1}', 'cancelled');
    expect(sim.result('m')).toBe('cancelled');
    expect(sim.state.conclusion).toBe('cancelled');
  });

  it('times out an instance after timeout-minutes and records a failure', () => {
    const sim = new Simulation(`jobs:\n  a: {timeout-minutes: 1, ${steps}}`);
    expect(sim.decisions[0]?.startInstances).toEqual([{ key: 'a', attempt: 1, timeoutMs: 60_000 }]);
    sim.at(60_000);
    expect(sim.decisions[sim.decisions.length - 1]?.cancelRunning).toEqual([
      { key: 'a', reason: 'timed_out' },
    ]);
    sim.finish('a', 'cancelled');
    expect(sim.status('a')).toBe('failed:timed_out');
    expect(sim.state.conclusion).toBe('failure');
  });

  it('retries a failed instance after its backoff, then gives up', () => {
    const sim = new Simulation(`jobs:\n  a: {retry: {max: 1, backoff: {delay: 10s}}, ${steps}}`);
    sim.finish('a', 'failure');
    expect(sim.status('a')).toBe('waiting');
    expect(sim.running()).toEqual([]);
    sim.at(10_000);
    expect(sim.state.instances.a).toMatchObject({ status: 'running', attempt: 2 });
    sim.finish('a', 'failure');
    expect(sim.state.conclusion).toBe('failure');
  });
});

describe('decide: resume from stored state', () => {
  it('continues from a JSON round-trip; an interrupted instance follows its retry policy', () => {
    const sim = new Simulation(
      `jobs:\n  a: {retry: {max: 1, when: [infra]}, ${steps}}\n  b: {${steps}}\n  c: {needs: [a, b], ${steps}}`,
    );
    sim.finish('b', 'success');
    // The server dies: the stored state comes back from the database.
    sim.state = JSON.parse(JSON.stringify(sim.state)) as RunState;
    sim.now = 5_000;
    sim.finish('a', 'failure', { reason: 'interrupted' });
    expect(sim.status('a')).toBe('waiting:interrupted');
    expect(sim.status('b')).toBe('succeeded');
    sim.at(15_000);
    expect(sim.state.instances.a).toMatchObject({ status: 'running', attempt: 2 });
    sim.finish('a', 'success');
    expect(sim.running()).toEqual(['c']);
  });
});

describe('decide: dynamic matrices and determinism', () => {
  const yaml = [
    'jobs:',
    '  gen: {outputs: {v: "${{ steps.s.outputs.v }}"}, steps: [{id: s, run: echo}]}',
    '  test:',
    '    needs: gen',
    '    strategy: {matrix: {pg: "${{ fromJson(needs.gen.outputs.v) }}", exclude: [{pg: 18}]}}',
    `    ${steps}`,
  ].join('\n');

  it('expands a matrix from job outputs when the job becomes ready', () => {
    const sim = new Simulation(yaml);
    expect(sim.state.jobs.test?.phase).toBe('pending');
    sim.finish('gen', 'success', { outputs: { v: '[ 16,17,18, ]' } });
    expect(sim.running()).toEqual(['test{"pg":16}', 'test{"pg":17}']);
    expect(sim.state.instances['test{"pg":16}']?.instance.displayName).toBe('test (16)');
  });

  it('fails the job, not the engine, when the matrix expression is bad', () => {
    const sim = new Simulation(yaml);
    sim.finish('gen', 'success', { outputs: { v: 'not json' } });
    expect(sim.status('test')).toBe('job:failed:expansion_error');
    expect(sim.state.jobs.test?.message).toMatch(/fromJSON/);
  });

  it('returns the same decision for the same state and time', () => {
    const sim = new Simulation(yaml);
    expect(decide(sim.state, 123)).toEqual(decide(sim.state, 123));
  });
});
