import type { Logger } from '@nestjs/common';

export interface PeriodicPassOptions<T> {
  /** For the log line of a failed pass ("<name> failed"). */
  name: string;
  intervalMs: number;
  pass: () => Promise<T>;
  /** What a failed pass yields (it is logged, never thrown to the timer). */
  fallback: T;
  logger: Logger;
}

/**
 * A background pass run on an interval and on demand (tests call run() instead of waiting for the
 * timer), never two at once: a call while one runs joins it. The timer never keeps the process alive.
 */
export class PeriodicPass<T> {
  private timer?: NodeJS.Timeout;
  private running?: Promise<T>;

  constructor(private readonly options: PeriodicPassOptions<T>) {}

  start(): void {
    this.timer = setInterval(() => void this.run(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a pass in flight. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  run(): Promise<T> {
    this.running ??= this.options
      .pass()
      .catch((error: unknown) => {
        this.options.logger.warn({ msg: `${this.options.name} failed`, err: String(error) });
        return this.options.fallback;
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }
}
