import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { guardSlowReader } from 'src/common/http/event-stream';

/** A server whose handler writes as fast as write() lets it, behind the guard; the client never reads. */
async function stalledReader(limits: { bufferBytes: number; stallMs: number }, awaitWritable: boolean): Promise<{ closedAfterMs: number; written: number }> {
  let done!: (value: { closedAfterMs: number; written: number }) => void;
  const result = new Promise<{ closedAfterMs: number; written: number }>((resolve) => (done = resolve));
  const server: Server = createServer((_req, res: ServerResponse) => {
    const started = Date.now();
    const guard = guardSlowReader(res, 'test', limits);
    let written = 0;
    res.once('close', () => done({ closedAfterMs: Date.now() - started, written }));
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = 'x'.repeat(64 * 1024);
    void (async () => {
      while (!guard.closed && written < 512 * 1024 * 1024) {
        res.write(chunk);
        written += chunk.length;
        if (awaitWritable) await guard.writable();
        else await new Promise((r) => setImmediate(r));
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
  socket.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
  socket.pause();
  try {
    return await result;
  } finally {
    socket.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('guardSlowReader', () => {
  it('should drop a reader that falls more than the buffer behind a producer that cannot wait', async () => {
    const { written } = await stalledReader({ bufferBytes: 1024 * 1024, stallMs: 60_000 }, false);
    // Kernel socket buffers take some; the server itself never queues more than the buffer.
    expect(written).toBeLessThan(64 * 1024 * 1024);
  }, 30_000);

  it('should pause a producer that awaits writable() and drop the reader once it stalls', async () => {
    const { closedAfterMs, written } = await stalledReader({ bufferBytes: 64 * 1024 * 1024, stallMs: 500 }, true);
    expect(closedAfterMs).toBeGreaterThanOrEqual(450);
    expect(closedAfterMs).toBeLessThan(10_000);
    expect(written).toBeLessThan(64 * 1024 * 1024);
  }, 30_000);
});
