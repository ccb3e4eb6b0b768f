/**
 * Bounds of the interaction layer. Everything here lives in this server's memory, so every buffer and
 * every count is capped; a restart loses shells and background process handles (their processes are
 * killed with the shell's or process's exec when the connection drops, or with the container).
 */
export const INTERACTION_LIMITS = {
  /** One-shot exec: collected bytes per stream. */
  execOutputCapBytes: 1024 * 1024,
  execDefaultTimeoutSeconds: 60,
  execMaxTimeoutSeconds: 3600,
  shellsPerSandbox: 8,
  /** Unread output kept per shell command. */
  shellOutputCapBytes: 1024 * 1024,
  shellDefaultSoftTimeoutSeconds: 30,
  shellMaxWaitSeconds: 300,
  interruptGraceMs: 1_000,
  /** Background processes per sandbox, running or kept after exit. */
  processesPerSandbox: 32,
  /** Output ring per background process. */
  processOutputCapBytes: 1024 * 1024,
  fileMaxBytes: 64 * 1024 * 1024,
  /** content in a JSON body (base64 grows it by 4/3, within the JSON body limit). */
  jsonContentMaxBytes: 16 * 1024 * 1024,
  archiveMaxBytes: 128 * 1024 * 1024,
  archiveMaxEntries: 10_000,
  listMaxEntries: 10_000,
  fileOpTimeoutMs: 120_000,
} as const;
