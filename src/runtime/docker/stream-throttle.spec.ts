import { PassThrough } from 'node:stream';
import { throttleStream } from 'src/runtime/docker/stream-throttle';

describe('throttleStream', () => {
  it('delivers everything, no faster than the budget', async () => {
    const stream = new PassThrough();
    throttleStream(stream, 1024 * 1024); // 1 MiB/s: 100 KiB per 100 ms window
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
});
