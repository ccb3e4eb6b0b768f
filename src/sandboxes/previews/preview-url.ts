/**
 * Splits a proxied request's URL into the preview prefix (its first `segments` path segments, e.g.
 * `/v1/previews/<token>`) and the path and query the sandbox sees (at least `/`).
 */
export function splitPreviewUrl(url: string, segments: number): { prefix: string; path: string } {
  let at = 0;
  for (let i = 0; i < segments; i++) {
    const next = url.indexOf('/', at + 1);
    const query = url.indexOf('?', at + 1);
    if (next < 0 || (query >= 0 && query < next)) {
      at = query >= 0 ? query : url.length;
      break;
    }
    at = next;
  }
  const prefix = url.slice(0, at);
  const rest = url.slice(at);
  return { prefix, path: rest.startsWith('/') ? rest : `/${rest}` };
}

/** Path segments before the sandbox's path: /v1/sandboxes/:id/ports/:port and /v1/previews/:token. */
export const TOKEN_ROUTE_SEGMENTS = 5;
export const SIGNED_ROUTE_SEGMENTS = 3;
