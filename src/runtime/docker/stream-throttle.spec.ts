import { PassThrough } from 'node:stream';
import { throttleStream, WindowBudget } from 'src/runtime/docker/stream-throttle';

describe('throttleStream', () => {
  it('delivers everything, no faster than the budget', async () => {
    const stream = new PassThrough();
    throttleStream(stream, 1024 * 1024, new WindowBudget(Number.MAX_SAFE_INTEGER)); // 1 MiB/s: 100 KiB per 100 ms window
    let received = 0;
    const done = new Promise<void>((resolve) => stream.on('end', resolve));
    stream.on('data', (chunk: Buffer) => (received += chunk.length));
    const started = Date.now();
    for (let i = 0; i < 40; i++) stream.write(Buffer.alloc(16 * 1024));
    stream.end();
    await done;
    expect(received).toBe(40 * 16 * 1024);
    // 640 KiB at 1 MiB/s: at least ~5 windows of pause.
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
  });

  it('leaves a slow stream alone', async () => {
    const stream = new PassThrough();
    throttleStream(stream, 64 * 1024 * 1024);
    const done = new Promise<void>((resolve) => stream.on('end', resolve));
    stream.on('data', () => undefined);
    const started = Date.now();
    stream.end(Buffer.alloc(1024));
    await done;
    expect(Date.now() - started).toBeLessThan(100);
  });

  it('pauses a stream once the shared budget is spent, but not below its fair share', async () => {
    const shared = new WindowBudget(1); // spent by the first byte
    const stream = new PassThrough();
    throttleStream(stream, 1024 * 1024 * 1024, shared);
    const paused: number[] = [];
    let received = 0;
    stream.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (stream.isPaused()) paused.push(received);
    });
    const done = new Promise<void>((resolve) => stream.on('end', resolve));
    for (let i = 0; i < 20; i++) stream.write(Buffer.alloc(16 * 1024));
    stream.end();
    await done;
    expect(received).toBe(20 * 16 * 1024);
    // The fair share (64 KiB per window) is read before the first pause.
    expect(paused[0]).toBeGreaterThan(64 * 1024);
  });
});

describe('WindowBudget', () => {
  it('resets at each window', () => {
    let now = 1_000;
    const budget = new WindowBudget(100, () => now);
    expect(budget.charge(60)).toBe(true);
    expect(budget.charge(60)).toBe(false);
    expect(budget.msLeft()).toBe(100);
    now += 40;
    expect(budget.msLeft()).toBe(60);
    now += 60;
    expect(budget.charge(60)).toBe(true);
  });
});
