import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { isInitializeRequest, isJSONRPCRequest, isJSONRPCResultResponse } from '@modelcontextprotocol/sdk/types.js';
import type { Readable, Writable } from 'node:stream';
import { SESSION_HEADER } from 'src/session-links/session-model';

export interface StdioRelayOptions {
  /** OrcaOps API base URL; the relay talks to `${url}/mcp`. */
  url: string;
  token?: string;
  /** An agent session (ORCAOPS_SESSION): sent as X-OrcaOps-Session, so work the tools create is linked to it. */
  session?: string;
  stdin?: Readable;
  stdout?: Writable;
  /** Diagnostics; never stdout (stdout carries only protocol). */
  log?: (line: string) => void;
}

/** JSON-RPC error code for failures of the relay's upstream (server-defined range). */
export const RELAY_ERROR = -32000;

/** A readable reason for an upstream failure, naming the fix for the common ones. */
export function describeUpstreamError(error: unknown, url: string): string {
  if (error instanceof StreamableHTTPError) {
    const body = /\{.*\}/s.exec(error.message)?.[0];
    let detail = error.message;
    try {
      const parsed = body ? (JSON.parse(body) as { error?: { code?: string; message?: string } }) : undefined;
      if (parsed?.error?.message) detail = `${parsed.error.code}: ${parsed.error.message}`;
    } catch {
      // not our JSON error shape: keep the transport's message
    }
    if (error.code === 401) return `OrcaOps at ${url} refused the token (${detail}). Set ORCAOPS_TOKEN to a valid workspace token, or run "orcaops login".`;
    if (error.code === 403) return `OrcaOps at ${url} refused the request (${detail}).`;
    if (error.code === 404) return `OrcaOps at ${url} has no such MCP session (it expired or the server restarted); reconnect (${detail}).`;
    return `OrcaOps at ${url} answered HTTP ${error.code} (${detail}).`;
  }
  const cause = (error as { cause?: { code?: string } })?.cause?.code;
  if (cause === 'ECONNREFUSED' || cause === 'ENOTFOUND') return `Cannot reach OrcaOps at ${url} (${cause}). Is "orcaops serve" running, and is ORCAOPS_URL right?`;
  return `OrcaOps at ${url}: ${error instanceof Error ? error.message : String(error)}`;
}

/**
 * `orcaops mcp`: MCP over stdio for local agents, relayed message by message to the server's
 * Streamable HTTP endpoint with the workspace token. One server owns containers, shells and the
 * warm pool; tools, auth and policy are the server's by construction. Resolves when stdin ends.
 */
export async function runStdioRelay(options: StdioRelayOptions): Promise<void> {
  const stdin = options.stdin ?? process.stdin;
  const log = options.log ?? ((line: string) => void process.stderr.write(`orcaops mcp: ${line}\n`));
  const local = new StdioServerTransport(stdin, options.stdout ?? process.stdout);
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  if (options.session) headers[SESSION_HEADER] = options.session;
  const remote = new StreamableHTTPClientTransport(new URL(`${options.url}/mcp`), { requestInit: { headers } });
  const initializing = new Set<RequestId>();

  local.onmessage = (message: JSONRPCMessage) => {
    if (isJSONRPCRequest(message) && isInitializeRequest(message)) initializing.add(message.id);
    remote.send(message).catch((error: unknown) => {
      const reason = describeUpstreamError(error, options.url);
      log(reason);
      // A request must get an answer, or the agent waits forever.
      if (isJSONRPCRequest(message)) void local.send({ jsonrpc: '2.0', id: message.id, error: { code: RELAY_ERROR, message: reason } });
    });
  };
  remote.onmessage = (message: JSONRPCMessage) => {
    if (isJSONRPCResultResponse(message) && initializing.delete(message.id)) {
      // Later requests must carry the negotiated version (the SDK client does this itself; a relay has to).
      const version = (message.result as { protocolVersion?: unknown }).protocolVersion;
      if (typeof version === 'string') remote.setProtocolVersion(version);
    }
    local.send(message).catch((error: unknown) => log(`stdout: ${String(error)}`));
  };
  remote.onerror = (error: Error) => log(describeUpstreamError(error, options.url));
  local.onerror = (error: Error) => log(`stdin: ${error.message}`);

  const ended = new Promise<void>((resolve) => {
    stdin.once('end', resolve);
    stdin.once('close', resolve);
    local.onclose = resolve;
  });
  await remote.start();
  await local.start();
  await ended;
  // The server frees the session now instead of at its idle timeout.
  await remote.terminateSession().catch(() => undefined);
  await remote.close();
  await local.close();
}
