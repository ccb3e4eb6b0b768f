/**
 * Caps the rate at which the server reads container output streams (attach, exec). A container can write
 * faster than the server could ever use (`cat /dev/zero`): read flat out, demultiplexing and discarding it
 * keeps the event loop, and the engine that copies it, busy at every tenant's expense. Past its budget for
 * a window a stream is paused until the window ends; the engine's socket buffer fills and the container's
 * writes block for that moment (TCP backpressure), so nothing is lost and memory stays flat.
 *
 * Two budgets apply: one per stream, and one for all streams of the process together, so that a handful of
 * floods cannot add up to a busy server either. Every stream may read a small allowance per window even
 * when the shared budget is spent: a command printing ordinary amounts of output is never held up by
 * somebody else's flood.
 */
export const OUTPUT_BYTES_PER_SECOND = 16 * 1024 * 1024;
export const SERVER_OUTPUT_BYTES_PER_SECOND = 48 * 1024 * 1024;
const WINDOW_MS = 100;
/** Per stream and window, read even when the shared budget is spent (640 KiB/s per stream). */
const FAIR_SHARE_BYTES = 64 * 1024;

interface PausableStream {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  once(event: 'close', listener: () => void): unknown;
  pause(): unknown;
  resume(): unknown;
}

/** A byte budget per fixed window of time. */
export class WindowBudget {
  private windowStart = 0;
  private used = 0;

  constructor(
    readonly bytesPerWindow: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts bytes read now; true while the window's budget is not exhausted. */
  charge(bytes: number): boolean {
    this.roll();
    this.used += bytes;
    return this.used < this.bytesPerWindow;
  }

  spent(): number {
    this.roll();
    return this.used;
  }

  /** Milliseconds until the current window ends (at least 1). */
  msLeft(): number {
    this.roll();
    return Math.max(1, WINDOW_MS - (this.now() - this.windowStart));
  }

  private roll(): void {
    const now = this.now();
    if (now - this.windowStart >= WINDOW_MS) {
      this.windowStart = now;
      this.used = 0;
    }
  }
}

const perWindow = (bytesPerSecond: number): number => (bytesPerSecond * WINDOW_MS) / 1000;

/** The process-wide budget every throttled stream draws on. */
export const serverOutputBudget = new WindowBudget(perWindow(SERVER_OUTPUT_BYTES_PER_SECOND));

export function throttleStream(stream: PausableStream, bytesPerSecond = OUTPUT_BYTES_PER_SECOND, shared: WindowBudget = serverOutputBudget): void {
  const own = new WindowBudget(perWindow(bytesPerSecond));
  let timer: NodeJS.Timeout | undefined;
  const pauseFor = (ms: number): void => {
    stream.pause();
    timer = setTimeout(() => {
      timer = undefined;
      stream.resume();
    }, ms);
  };
  stream.on('data', (chunk: Buffer) => {
    const withinOwn = own.charge(chunk.length);
    const withinShared = shared.charge(chunk.length) || own.spent() <= FAIR_SHARE_BYTES;
    if (timer) return;
    if (!withinOwn) pauseFor(own.msLeft());
    else if (!withinShared) pauseFor(shared.msLeft());
  });
  stream.once('close', () => clearTimeout(timer));
}
