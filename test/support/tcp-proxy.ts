import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { Transform } from 'node:stream';

/**
 * A TCP proxy in front of a server the test owns (e.g. PostgreSQL): `cut()` drops every connection and
 * refuses new ones, as a database outage or a managed-Postgres failover looks to a client; `restore()`
 * lets connections through again. Listens on 127.0.0.1 on a free port.
 */
export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private open = true;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
    /** Caps what each connection receives from the target (a slow link: a large pull takes long enough to interrupt). */
    private readonly downstreamBytesPerSecond?: number,
  ) {}

  async start(port = 0): Promise<void> {
    this.server = createServer((client) => {
      if (!this.open) {
        client.destroy();
        return;
      }
      const upstream = connect(this.targetPort, this.targetHost);
      this.track(client);
      this.track(upstream);
      client.pipe(upstream);
      if (this.downstreamBytesPerSecond) upstream.pipe(throttle(this.downstreamBytesPerSecond)).pipe(client);
      else upstream.pipe(client);
      const close = (): void => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close);
      // Throttled, what the target sent before closing is still queued: the pipe ends the client after it.
      if (!this.downstreamBytesPerSecond) upstream.on('close', close);
    });
    this.server.listen(port, '127.0.0.1');
    await once(this.server, 'listening');
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }

  /** Every open connection is reset and new ones are refused until restore(). */
  cut(): void {
    this.open = false;
    for (const socket of this.sockets) socket.resetAndDestroy();
  }

  restore(): void {
    this.open = true;
  }

  async stop(): Promise<void> {
    this.cut();
    if (!this.server) return;
    const closed = once(this.server, 'close');
    this.server.close();
    await closed;
  }
}

/** Passes each chunk on no sooner than the rate allows after the ones before it. */
function throttle(bytesPerSecond: number): Transform {
  let freeAt = Date.now();
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const now = Date.now();
      freeAt = Math.max(freeAt, now) + (chunk.length / bytesPerSecond) * 1000;
      setTimeout(() => done(null, chunk), freeAt - now);
    },
  });
}
