import type { Server, Socket } from 'node:net';
import { createConnection, createServer } from 'node:net';
import { rmSync } from 'node:fs';

/** One client connection and, once forwarded, its connection to the engine. */
interface Link {
  client: Socket;
  engine?: Socket;
}

/**
 * A unix-socket proxy in front of the Docker engine that a test can take down and bring back: the
 * engine "stops" for the app under test only, without disturbing anything else on the machine.
 * `hang()` simulates a hung dockerd instead: connections are accepted but nothing is forwarded either
 * way (open ones stall mid-response, new ones get no answer) until `resume()`, which forwards what
 * was held, as an engine that comes back late would answer.
 */
export class EngineProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private readonly links = new Set<Link>();
  private hanging = false;

  constructor(
    readonly path: string,
    private readonly upstream = '/var/run/docker.sock',
  ) {}

  /** Does nothing when already up (a second server would leave the first listening: a leaked handle). */
  async up(): Promise<void> {
    if (this.server) return;
    rmSync(this.path, { force: true });
    // Half-open like the engine's own socket: a hijacked exec half-closes to send EOF to stdin.
    this.server = createServer({ allowHalfOpen: true }, (client) => {
      const link: Link = { client };
      this.track(client, link);
      if (this.hanging) client.pause();
      else this.forward(link);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.path, resolve));
  }

  /** Stops forwarding on every connection, open or new, without closing any. */
  hang(): void {
    this.hanging = true;
    for (const { client, engine } of this.links) {
      client.unpipe();
      engine?.unpipe();
      client.pause();
      engine?.pause();
    }
  }

  /** Forwards again: stalled connections continue, held ones reach the engine now. */
  resume(): void {
    if (!this.hanging) return;
    this.hanging = false;
    for (const link of this.links) {
      if (link.engine) {
        link.client.pipe(link.engine);
        link.engine.pipe(link.client);
      } else this.forward(link);
    }
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.hanging = false;
    for (const s of this.sockets) s.destroy();
    this.links.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(this.path, { force: true });
  }

  private forward(link: Link): void {
    const engine = createConnection({ path: this.upstream, allowHalfOpen: true });
    link.engine = engine;
    this.track(engine, link);
    link.client.pipe(engine).pipe(link.client);
  }

  private track(socket: Socket, link: Link): void {
    this.sockets.add(socket);
    this.links.add(link);
    socket.on('close', () => {
      this.sockets.delete(socket);
      // Either end closing ends the link: the other side is closed with it, as a plain proxy would.
      this.links.delete(link);
      if (socket === link.client) link.engine?.destroy();
      else link.client.destroy();
    });
    socket.on('error', () => socket.destroy());
  }
}
