import { isLoopHold, LoopHoldWatchdog, type LoopClock } from 'src/common/loop-hold';

describe('isLoopHold', () => {
  it('counts a late timer as a hold only when the process was busy for most of it', () => {
    expect(isLoopHold({ wallMs: 120, cpuMs: 118 }, 50)).toBe(true);
    expect(isLoopHold({ wallMs: 200, cpuMs: 80 }, 50)).toBe(true); // busy on a loaded machine: a share of a core
    expect(isLoopHold({ wallMs: 120, cpuMs: 20 }, 50)).toBe(false); // descheduled, not busy
    expect(isLoopHold({ wallMs: 30, cpuMs: 30 }, 50)).toBe(false);
  });
});

describe('LoopHoldWatchdog', () => {
  function fakeClock(): LoopClock & { advance(wallMs: number, cpuMs: number): void } {
    let now = 0;
    let cpu = 0;
    return {
      nowMs: () => now,
      cpuMs: () => cpu,
      advance(wallMs, cpuMs) {
        now += wallMs;
        cpu += cpuMs;
      },
    };
  }

  it('reports holds, at most one per interval, counting the ones in between', () => {
    const clock = fakeClock();
    const reports: Array<[number, number]> = [];
    const dog = new LoopHoldWatchdog(50, (hold, suppressed) => reports.push([hold.cpuMs, suppressed.count]), 10, 1_000, clock);
    dog.start();
    dog.stop(); // ticks are driven by hand below
    clock.advance(10, 1);
    dog.tick(); // on time
    clock.advance(210, 200);
    dog.tick(); // held for 200 ms
    clock.advance(90, 85);
    dog.tick(); // held for 80 ms, within the report interval: counted
    clock.advance(300, 10);
    dog.tick(); // late but idle: not a hold
    clock.advance(1_000, 0);
    dog.tick();
    clock.advance(70, 65);
    dog.tick(); // held for 60 ms: reported with the one counted before
    expect(reports).toEqual([
      [200, 0],
      [65, 1],
    ]);
    expect(dog.holds).toBe(3);
    expect(dog.longestMs).toBe(200);
  });
});
