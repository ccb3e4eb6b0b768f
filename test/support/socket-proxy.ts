import type { Server, Socket } from 'node:net';
import { createConnection, createServer } from 'node:net';
import { rmSync } from 'node:fs';

/**
 * A unix-socket proxy in front of the Docker engine that a test can take down and bring back: the
 * engine "stops" for the app under test only, without disturbing anything else on the machine.
 */
export class EngineProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly path: string,
    private readonly upstream = '/var/run/docker.sock',
  ) {}

  /** Does nothing when already up (a second server would leave the first listening: a leaked handle). */
  async up(): Promise<void> {
    if (this.server) return;
    rmSync(this.path, { force: true });
    this.server = createServer((client) => {
      const engine = createConnection(this.upstream);
      for (const s of [client, engine]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(engine).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.path, resolve));
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(this.path, { force: true });
  }
}
