import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Never forwarded either way: connection-level (hop-by-hop) headers. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/**
 * Not sent to the sandbox: the caller's OrcaOps token and the API origin's cookies are the caller's,
 * not the sandboxed program's; OrcaOps' own headers are for OrcaOps.
 */
const CALLER_ONLY = new Set(['authorization', 'cookie', 'host', 'x-orcaops-session', 'x-request-id']);

/**
 * Not passed back from the sandbox: headers that would act on the API's origin as a whole rather than
 * on the preview (docs/security.md, "Preview URLs"): cookies for the origin, a service worker scope
 * wider than the preview, wiping the origin's storage, HSTS/Alt-Svc pins for the API host.
 */
const ORIGIN_WIDE = new Set(['set-cookie', 'service-worker-allowed', 'clear-site-data', 'strict-transport-security', 'alt-svc', 'public-key-pins', 'nel', 'report-to']);

/**
 * Every preview response is a sandboxed document: an opaque origin (no `allow-same-origin`), so its
 * scripts cannot read the API origin's storage, register a service worker or send credentialed
 * same-origin requests; the URL's token is not sent on as a Referer.
 */
export const PREVIEW_RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': 'sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'cache-control': 'private, no-store',
};

/** Headers of a request forwarded to a sandbox port (`upgrade` keeps Connection/Upgrade for a WebSocket). */
export function upstreamRequestHeaders(headers: IncomingHttpHeaders, port: number, prefix: string, upgrade = false): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || CALLER_ONLY.has(name)) continue;
    if (HOP_BY_HOP.has(name) && !(upgrade && (name === 'connection' || name === 'upgrade'))) continue;
    out[name] = value;
  }
  out.host = `localhost:${port}`;
  out['x-forwarded-prefix'] = prefix;
  if (!upgrade) out.connection = 'close';
  return out;
}

/** Headers of a sandbox's response as the client gets them. */
export function clientResponseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || ORIGIN_WIDE.has(name)) continue;
    out[name] = value;
  }
  // The sandbox's own CSP still applies; ours is added (browsers enforce both).
  const own = out['content-security-policy'];
  const csp = PREVIEW_RESPONSE_HEADERS['content-security-policy']!;
  Object.assign(out, PREVIEW_RESPONSE_HEADERS);
  // Comma-separated policies are each enforced (CSP3 §3.1).
  if (own !== undefined) out['content-security-policy'] = [...(Array.isArray(own) ? own.map(String) : [String(own)]), csp].join(', ');
  return out;
}

/** A WebSocket handshake answer (the 101 head) with the origin-wide headers dropped, as raw text. */
export function filterResponseHead(head: string): string {
  const lines = head.split('\r\n');
  return lines.filter((line, i) => i === 0 || !ORIGIN_WIDE.has(line.slice(0, line.indexOf(':')).trim().toLowerCase())).join('\r\n');
}
