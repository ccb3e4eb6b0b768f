import { Inject, Injectable } from '@nestjs/common';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import { CONTAINER_RUNTIME, type ContainerRuntime } from 'src/runtime/container-runtime.port';
import { RuntimeError, toOrcaOpsError } from 'src/runtime/runtime.errors';
import { PortRelay } from 'src/sandboxes/previews/port-relay';
import { clientResponseHeaders, filterResponseHead, upstreamRequestHeaders } from 'src/sandboxes/previews/preview-headers';
import { PREVIEW_LIMITS } from 'src/sandboxes/previews/preview.limits';
import type { PreviewTarget } from 'src/sandboxes/previews/previews.service';
import { SandboxActivity } from 'src/sandboxes/sandbox-activity';

/** What the proxy needs of the client's request. */
export interface ProxiedRequest {
  method: string;
  /** Path and query as the sandbox sees them (the preview prefix taken off), starting with '/'. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The preview's prefix on the API (X-Forwarded-Prefix). */
  prefix: string;
  body?: Readable;
}

const MAX_HANDSHAKE_HEAD_BYTES = 16 * 1024;

/**
 * Proxies HTTP requests and WebSocket connections to a port inside a sandbox: one PortRelay (one exec)
 * per connection, counted per sandbox and per workspace; each connection holds an activity lease on
 * the sandbox while it is open (so the idle reaper sees a browser using it) and touches it per chunk.
 */
@Injectable()
export class PreviewProxy {
  private readonly perSandbox = new Map<string, number>();
  private readonly perWorkspace = new Map<string, number>();

  constructor(
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
    private readonly activity: SandboxActivity,
  ) {}

  /** Connections open now (tests, metrics). */
  openConnections(sandboxId: string): number {
    return this.perSandbox.get(sandboxId) ?? 0;
  }

  /**
   * Sends one HTTP request; when the sandbox answers, `hijack` is called and the response streams to
   * `response` with headers filtered (preview-headers.ts). Before an answer, failures throw
   * (429 over the connection limits, 502 nothing listening) so the caller answers with the JSON error.
   */
  async forward(target: PreviewTarget, req: ProxiedRequest, response: ServerResponse, hijack: () => void): Promise<void> {
    const relay = this.connect(target);
    const upstream = httpRequest({
      method: req.method,
      path: req.path,
      headers: upstreamRequestHeaders(req.headers, target.port, req.prefix),
      createConnection: () => relay,
    });
    const answered = new Promise<IncomingMessage>((resolve, reject) => {
      upstream.once('response', resolve);
      upstream.once('error', reject);
    });
    response.once('close', () => upstream.destroy());
    if (req.body) req.body.pipe(upstream);
    else upstream.end();
    let answer: IncomingMessage;
    try {
      answer = await answered;
    } catch (error) {
      relay.destroy();
      throw await this.gatewayError(relay, target, error);
    }
    hijack();
    response.writeHead(answer.statusCode ?? 502, clientResponseHeaders(answer.headers));
    answer.pipe(response);
    answer.once('error', () => response.destroy());
    response.once('close', () => relay.destroy());
  }

  /**
   * A WebSocket (or any Upgrade) connection: the handshake goes to the sandbox as sent (caller-only
   * headers dropped), the answer's head comes back filtered, then bytes flow both ways untouched.
   */
  upgrade(target: PreviewTarget, req: ProxiedRequest, client: Duplex, head: Buffer): void {
    const relay = this.connect(target);
    const headers = upstreamRequestHeaders(req.headers, target.port, req.prefix, true);
    const lines = [`${req.method} ${req.path} HTTP/1.1`];
    for (const [name, value] of Object.entries(headers)) {
      for (const one of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${String(one)}`);
    }
    relay.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length) relay.write(head);
    const end = (): void => {
      relay.destroy();
      client.destroy();
    };
    client.on('error', end);
    relay.on('error', end);
    client.once('close', end);
    relay.once('close', end);
    let pending: Buffer | undefined = Buffer.alloc(0);
    relay.on('data', (chunk: Buffer) => {
      if (!pending) {
        if (!client.write(chunk)) relay.pause();
        return;
      }
      // The handshake answer's head is filtered once (no Set-Cookie on the API origin); the rest is raw.
      pending = Buffer.concat([pending, chunk]);
      const at = pending.indexOf('\r\n\r\n');
      if (at < 0) {
        if (pending.length > MAX_HANDSHAKE_HEAD_BYTES) end();
        return;
      }
      const headText = filterResponseHead(pending.subarray(0, at).toString('latin1'));
      const rest = pending.subarray(at + 4);
      pending = undefined;
      client.write(Buffer.concat([Buffer.from(`${headText}\r\n\r\n`, 'latin1'), rest]));
    });
    client.on('drain', () => relay.resume());
    client.pipe(relay);
  }

  /** A relay exec for one connection, admitted by the limits; released when it closes. */
  private connect(target: PreviewTarget): PortRelay {
    const { id: sandboxId, workspaceId } = target.live;
    const bySandbox = this.perSandbox.get(sandboxId) ?? 0;
    const byWorkspace = this.perWorkspace.get(workspaceId) ?? 0;
    if (bySandbox >= PREVIEW_LIMITS.connectionsPerSandbox || byWorkspace >= PREVIEW_LIMITS.connectionsPerWorkspace) {
      const which = bySandbox >= PREVIEW_LIMITS.connectionsPerSandbox ? `${PREVIEW_LIMITS.connectionsPerSandbox} per sandbox` : `${PREVIEW_LIMITS.connectionsPerWorkspace} per workspace`;
      throw new OrcaOpsError('rate_limited', `Too many open preview connections (${which}); retry when some have closed`, { retry_after_seconds: 1 });
    }
    this.perSandbox.set(sandboxId, bySandbox + 1);
    this.perWorkspace.set(workspaceId, byWorkspace + 1);
    const lease = this.activity.begin(sandboxId);
    const idle = setTimeout(() => relay.destroy(new Error(`no traffic for ${PREVIEW_LIMITS.idleMs} ms`)), PREVIEW_LIMITS.idleMs);
    idle.unref();
    const touched = (): void => {
      this.activity.touch(sandboxId);
      idle.refresh();
    };
    const relay = new PortRelay(this.runtime, { containerId: target.live.containerId, user: target.live.user, port: target.port }, touched);
    relay.on('error', () => undefined);
    relay.once('close', () => {
      clearTimeout(idle);
      // The exec may still be on its way down: the slot is free once it has ended.
      void relay.ended.then(() => {
        this.release(this.perSandbox, sandboxId);
        this.release(this.perWorkspace, workspaceId);
        lease();
      });
    });
    return relay;
  }

  private release(counts: Map<string, number>, key: string): void {
    const left = (counts.get(key) ?? 1) - 1;
    if (left > 0) counts.set(key, left);
    else counts.delete(key);
  }

  private async gatewayError(relay: PortRelay, target: PreviewTarget, cause: unknown): Promise<OrcaOpsError> {
    const ended = await Promise.race([relay.ended, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 2_000).unref())]);
    if (ended instanceof RuntimeError) return toOrcaOpsError(ended);
    const said = relay.diagnostics;
    return new OrcaOpsError('bad_gateway', `nothing answered on port ${target.port} in sandbox ${target.live.id}${said ? `: ${said}` : ''}`, {
      port: target.port,
      reason: said || (cause instanceof Error ? cause.message : String(cause)),
    });
  }
}
