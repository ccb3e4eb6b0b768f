/**
 * Bounds of preview traffic (docs/security.md, "Preview URLs"). Each proxied TCP connection is one
 * relay exec in the sandbox, so connections are counted per sandbox and per workspace in this
 * server's memory and refused (429) past the limit instead of queued.
 */
export const PREVIEW_LIMITS = {
  connectionsPerSandbox: 16,
  connectionsPerWorkspace: 64,
  /** Bytes read from the relay and not yet taken by the client; past it the connection is cut. */
  bufferedBytes: 8 * 1024 * 1024,
  /** A connection with no byte either way for this long is closed (HTTP waiting for an answer, or an idle WebSocket). */
  idleMs: 5 * 60_000,
  /** Preview URLs: default and longest lifetime, and how many live ones a sandbox may have. */
  defaultTtlSeconds: 3600,
  maxTtlSeconds: 7 * 24 * 3600,
  livePerSandbox: 32,
  /** Request bodies of proxied requests (octet-stream and other binary types; JSON and text keep ORCAOPS_MAX_BODY_BYTES). */
  uploadMaxBytes: 32 * 1024 * 1024,
} as const;
