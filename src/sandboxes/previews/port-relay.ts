import { Duplex, PassThrough } from 'node:stream';
import type { ContainerRuntime, ExecResult } from 'src/runtime/container-runtime.port';
import { PREVIEW_LIMITS } from 'src/sandboxes/previews/preview.limits';

/**
 * The relay for images without nc: copies stdin to the port and the port to stdout, half-closing the
 * socket at stdin's EOF so a request/response exchange ends normally.
 */
const PYTHON_RELAY = [
  'import os,socket,sys,threading',
  "s=socket.create_connection(('127.0.0.1',int(sys.argv[1])))",
  'def up():',
  '  while True:',
  '    d=os.read(0,65536)',
  '    if not d:',
  '      s.shutdown(socket.SHUT_WR);return',
  '    s.sendall(d)',
  'threading.Thread(target=up,daemon=True).start()',
  'o=sys.stdout.buffer',
  'while True:',
  '  d=s.recv(65536)',
  '  if not d:break',
  '  o.write(d);o.flush()',
].join('\n');

/**
 * argv of the relay: busybox/netcat `nc` when the image has it, else python3; an image with neither
 * exits 127 with a message (the proxy answers 502 saying so). It connects to 127.0.0.1 inside the
 * container's own network namespace, so it works with network none as with any other mode.
 */
export function relayCommand(port: number): string[] {
  const script =
    'if command -v nc >/dev/null 2>&1; then exec nc 127.0.0.1 "$1"; fi; ' +
    'if command -v python3 >/dev/null 2>&1; then exec python3 -c "$2" "$1"; fi; ' +
    'echo "no nc or python3 in this image to relay the port" >&2; exit 127';
  return ['/bin/sh', '-c', script, 'orcaops-relay', String(port), PYTHON_RELAY];
}

export interface RelayTarget {
  containerId: string;
  user: string;
  port: number;
}

/**
 * One TCP connection to a port inside a sandbox, as a Duplex: one `docker exec` of the relay with
 * stdin and stdout attached. Bytes from the relay are not a log: nothing is kept besides the stream
 * buffer, which is bounded (a client that stops reading has its connection cut). Destroying the
 * Duplex kills the relay's process group; the relay ending (the server closed, or nothing listens)
 * ends the Duplex. `activity` is called on every chunk either way (the sandbox's idle timer).
 */
export class PortRelay extends Duplex {
  private readonly input = new PassThrough();
  private readonly abort = new AbortController();
  private stderr = '';
  /** Settles when the exec ended: its result, or the engine error. */
  readonly ended: Promise<ExecResult | Error>;

  constructor(runtime: ContainerRuntime, target: RelayTarget, private readonly activity: () => void) {
    super({ allowHalfOpen: true });
    this.ended = runtime
      .exec(target.containerId, {
        command: relayCommand(target.port),
        user: target.user,
        stdin: this.input,
        signal: this.abort.signal,
        onOutput: (stream, chunk) => this.fromRelay(stream, chunk),
      })
      .then(
        (result) => {
          this.push(null);
          return result;
        },
        (error: unknown) => {
          const failure = error instanceof Error ? error : new Error(String(error));
          this.destroy(failure);
          return failure;
        },
      );
  }

  /** What the relay said on stderr (why it could not connect), cut to 512 characters. */
  get diagnostics(): string {
    return this.stderr.trim();
  }

  override _read(): void {
    // Data is pushed as the exec delivers it; the buffer bound is checked there.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.activity();
    if (this.input.write(chunk)) callback();
    else this.input.once('drain', () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.input.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.abort.abort();
    this.input.destroy();
    callback(error);
  }

  private fromRelay(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    if (stream === 'stderr') {
      if (this.stderr.length < 512) this.stderr = (this.stderr + chunk.toString('utf8')).slice(0, 512);
      return;
    }
    this.activity();
    if (this.destroyed) return;
    this.push(chunk);
    if (this.readableLength > PREVIEW_LIMITS.bufferedBytes) {
      this.destroy(new Error(`the client read too slowly (more than ${PREVIEW_LIMITS.bufferedBytes} bytes waiting)`));
    }
  }
}
