/** One stretch during which the event loop did not turn, and the process was busy (not descheduled). */
export interface LoopHold {
  /** How late the watchdog's timer fired, in ms: the time no other callback could run. */
  wallMs: number;
  /** CPU the process used meanwhile (all threads), in ms. */
  cpuMs: number;
}

/**
 * A late timer is a held loop when the process spent at least the threshold of CPU time meanwhile: the
 * rule is about CPU (a handler busy for 50 ms of CPU takes far longer on a loaded machine, where the
 * process only gets a share of a core), and a process that was merely descheduled, which no request
 * caused and none could avoid, used little.
 */
export function isLoopHold(gap: LoopHold, thresholdMs: number): boolean {
  return gap.wallMs >= thresholdMs && gap.cpuMs >= thresholdMs;
}

export interface LoopClock {
  nowMs(): number;
  /** Process CPU time (user + system) so far, in ms. */
  cpuMs(): number;
}

const processClock: LoopClock = {
  nowMs: () => performance.now(),
  cpuMs: () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  },
};

/**
 * Watches the event loop with a short timer and reports every hold of at least `thresholdMs` (the rule:
 * no request may hold the loop for more than ~50 ms of CPU; docs/security.md). Reports are throttled to
 * one per `reportEveryMs`; holds in between are counted into the next report.
 */
export class LoopHoldWatchdog {
  private timer?: NodeJS.Timeout;
  private lastAt = 0;
  private lastCpu = 0;
  private lastReportAt = -Infinity;
  private unreported = { count: 0, maxCpuMs: 0 };
  /** Longest hold seen since start (ms of CPU time). */
  longestMs = 0;
  holds = 0;

  constructor(
    private readonly thresholdMs: number,
    private readonly report: (hold: LoopHold, suppressed: { count: number; maxCpuMs: number }) => void,
    private readonly tickMs = 10,
    private readonly reportEveryMs = 1_000,
    private readonly clock: LoopClock = processClock,
  ) {}

  start(): void {
    this.lastAt = this.clock.nowMs();
    this.lastCpu = this.clock.cpuMs();
    this.timer = setInterval(() => this.tick(), this.tickMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One timer turn (public for the spec). */
  tick(): void {
    const now = this.clock.nowMs();
    const cpu = this.clock.cpuMs();
    const gap = { wallMs: Math.round(now - this.lastAt - this.tickMs), cpuMs: Math.round(cpu - this.lastCpu) };
    this.lastAt = now;
    this.lastCpu = cpu;
    if (!isLoopHold(gap, this.thresholdMs)) return;
    this.holds += 1;
    this.longestMs = Math.max(this.longestMs, gap.cpuMs);
    if (now - this.lastReportAt < this.reportEveryMs) {
      this.unreported.count += 1;
      this.unreported.maxCpuMs = Math.max(this.unreported.maxCpuMs, gap.cpuMs);
      return;
    }
    this.report(gap, this.unreported);
    this.lastReportAt = now;
    this.unreported = { count: 0, maxCpuMs: 0 };
  }
}
