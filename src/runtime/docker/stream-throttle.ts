/**
 * Caps the rate at which the server reads one container output stream (attach, exec). A container can
 * write faster than the server could ever use (`cat /dev/zero`): read flat out, demultiplexing and
 * discarding it would keep the event loop busy for every tenant. Past the budget of a window the stream
 * is paused until the window ends; the engine's socket buffer fills and the container's writes block
 * for that moment (TCP backpressure), so nothing is lost and memory stays flat.
 */
export const OUTPUT_BYTES_PER_SECOND = 64 * 1024 * 1024;
const WINDOW_MS = 100;

interface PausableStream {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  once(event: 'close', listener: () => void): unknown;
  pause(): unknown;
  resume(): unknown;
}

export function throttleStream(stream: PausableStream, bytesPerSecond = OUTPUT_BYTES_PER_SECOND): void {
  const budget = (bytesPerSecond * WINDOW_MS) / 1000;
  let windowStart = Date.now();
  let used = 0;
  let timer: NodeJS.Timeout | undefined;
  stream.on('data', (chunk: Buffer) => {
    const now = Date.now();
    if (now - windowStart >= WINDOW_MS) {
      windowStart = now;
      used = 0;
    }
    used += chunk.length;
    if (used < budget || timer) return;
    stream.pause();
    timer = setTimeout(
      () => {
        timer = undefined;
        windowStart = Date.now();
        used = 0;
        stream.resume();
      },
      Math.max(1, WINDOW_MS - (now - windowStart)),
    );
  });
  stream.once('close', () => clearTimeout(timer));
}
