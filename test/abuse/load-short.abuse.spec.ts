import { SHORT_RATES, formatLoadTable, runMixedLoad, type LoadResult } from '../../bench/support/load-mixed';
import { TEST_ADMIN_TOKEN } from '../support/app';
import { startAbuseServer, type AbuseServer } from './support/abuse-server';

// The load test's short version (bench/load-mixed.ts runs it for minutes): the same code, 15 s per
// phase at low rates. A well-behaved tenant alone, then next to an abuser (floods, oversized bodies, bad
// tokens, SSE streams, submits far over its quota). The bounds are loose on purpose: this runs on a busy
// 2-core machine; the bench reports the real figures (goal: p99 within 2x).
const PHASE_SECONDS = 15;

describe('abuse: mixed load, a well-behaved tenant next to an abuser (short)', () => {
  let s: AbuseServer;
  let result: LoadResult;
  // What the harness's watcher saw (/health within 1 s every 100 ms, RSS bound, bystander served): kept,
  // not thrown, so the other assertions still report on the run.
  let watchError: Error | undefined;

  beforeAll(async () => {
    s = await startAbuseServer();
    await s
      .watch(async () => {
        result = await runMixedLoad(
          { url: s.url, pid: s.server.child.pid!, adminToken: TEST_ADMIN_TOKEN, databaseUrl: s.databaseUrl },
          {
            phaseSeconds: PHASE_SECONDS,
            rates: SHORT_RATES,
            log: (line) =>
              process.stderr.write(`load-short ${new Date().toISOString().slice(11, 19)} ${line}\n`),
          },
        );
      })
      .catch((error: unknown) => {
        watchError = error as Error;
      });
    if (!result) throw watchError ?? new Error('the load run ended without a result');
    process.stdout.write(`${formatLoadTable(result)}\n`);
  }, 150_000);
  afterAll(async () => {
    await s?.close();
  });

  it('the well-behaved tenant gets no 5xx and no dropped request, alone or next to the abuser', () => {
    for (const phase of [result.alone, result.with_abuser]) {
      expect(phase.good_all.requests).toBeGreaterThan(PHASE_SECONDS * 3);
      const failed = Object.entries(phase.good_all.non2xx).filter(
        ([status]) => status === 'error' || Number(status) >= 500,
      );
      expect(failed).toEqual([]);
    }
  });

  it('the abuser was actually abusive, and its over-quota submits and bad tokens got clear 4xx', () => {
    const abuser = result.with_abuser.abuser;
    expect(abuser.flood!.requests).toBeGreaterThan(PHASE_SECONDS * 10);
    expect(abuser.submit_flood!.non2xx['429']).toBeGreaterThan(0);
    expect(
      Object.keys(abuser.bad_token!.non2xx).every((status) => status === '401' || status === '429'),
    ).toBe(true);
    expect(
      Object.keys(abuser.oversized!.non2xx)
        .filter((status) => status !== 'error')
        .every((status) => status === '413' || status === '429'),
    ).toBe(true);
    expect(result.with_abuser.streams!.opened).toBeGreaterThan(0);
  });

  it('/health stays fast in both phases', () => {
    // The harness probed every 100 ms (1 s deadline, RSS bound, bystander); the run's own probes, per phase.
    expect(watchError?.message).toBeUndefined();
    for (const phase of [result.alone, result.with_abuser]) {
      expect(phase.health.failures).toBe(0);
      expect(phase.health.max_ms).toBeLessThan(1000);
    }
  });

  it('no container of the run outlives it', () => {
    expect(result.leaked_container_names).toEqual([]);
  });

  // The 2x goal is the benchmark's (bench/README.md, quiet machine, minutes per phase). Here, 15 s on a
  // 2-core machine that also runs the load generator and other suites, the ratio swings (1.7x to 4.5x
  // measured); what must hold is that the well-behaved tenant is served promptly, not starved.
  it("the well-behaved tenant's p99 with the abuser stays bounded (under 2 s; the ratio is logged)", () => {
    process.stdout.write(`load-short: p99 alone ${result.goal.p99_alone_ms} ms, with the abuser ${result.goal.p99_with_abuser_ms} ms\n`);
    expect(result.goal.p99_with_abuser_ms).toBeLessThan(2_000);
  });
});
