/**
 * Bounds of workspace image builds (docs/images.md, "Workspace images"). A build is heavy (CPU, memory,
 * disk, minutes of engine time), so builds are few at once per workspace and server-wide, each is
 * limited and timed out, and what the server holds for one (its context, its log) is capped.
 */
export const IMAGE_BUILD_LIMITS = {
  /** The uploaded context (uncompressed tar). Held in memory until the build starts. */
  contextBytes: 64 * 1024 * 1024,
  contextEntries: 20_000,
  dockerfileBytes: 256 * 1024,
  /** Builds of one workspace running at once; the rest of its builds wait, queued. */
  perWorkspaceRunning: 1,
  /** Builds of one workspace queued or running; beyond that a new one is refused (429). */
  perWorkspacePending: 3,
  /** Builds running at once on this server (fair between workspaces). */
  globalRunning: 2,
  /** Builds queued or running on this server (bounds the contexts held in memory: 8 × 64 MiB). */
  globalPending: 8,
  /** A build still running after this is cancelled and fails. */
  timeoutMs: 30 * 60_000,
  /** Limits of every RUN step's container. */
  cpus: 1,
  memoryBytes: 2 * 1024 * 1024 * 1024,
  shmBytes: 64 * 1024 * 1024,
  /** The stored (and streamed) output; the head is kept. */
  logBytes: 1024 * 1024,
} as const;
