import type { EgressNarrowing } from 'src/policies/egress-rules';
/** The sandbox model's closed vocabularies, shared by entity, DTOs, services and front ends. */
import type { NetworkMode, PullPolicy, ResourceLimits } from 'src/domain/container-spec';

export const SANDBOX_STATUSES = ['starting', 'ready', 'stopping', 'stopped', 'expired', 'failed', 'lost'] as const;
export type SandboxStatus = (typeof SANDBOX_STATUSES)[number];
export const SANDBOX_TERMINAL: ReadonlySet<SandboxStatus> = new Set(['stopped', 'expired', 'failed', 'lost']);

export const SANDBOX_EXIT_REASONS = ['ttl', 'idle', 'deleted', 'oom_killed', 'engine_lost', 'quota', 'session_ended', 'workspace_suspended', 'token_revoked', 'start_failed', 'image_not_found', 'image_pull_failed', 'container_exited'] as const;
export type SandboxExitReason = (typeof SANDBOX_EXIT_REASONS)[number];

export type SandboxResources = ResourceLimits;

/** Stored with the sandbox (defaults filled in). Env is applied to every exec, shell and process. */
export interface SandboxSpec {
  image: string;
  /** When to pull the image from its registry (request, else profile; absent = if_not_present). */
  pull_policy?: PullPolicy;
  profile: string | null;
  resources: SandboxResources;
  env: Record<string, string>;
  /**
   * Secrets by name, `{ENV_NAME: SECRET_NAME}`: opened for each exec, shell and process (never stored
   * with the sandbox) and masked in their output. Absent on sandboxes created before secrets existed.
   */
  secrets?: Record<string, string>;
  network: NetworkMode;
  /** With network `egress`: the sandbox's own destinations (narrowing the policy's). */
  egress?: EgressNarrowing;
  ttl_seconds: number;
  idle_timeout_seconds: number;
  labels: Record<string, string>;
  metadata: Record<string, string | number | boolean>;
  /**
   * An environment's sandbox (src/environments): joins the environment's internal network under these
   * DNS aliases instead of `network`. Set by the server, never by a request; such a sandbox never takes
   * a warm pool container (those run without a network).
   */
  attach?: { network: string; aliases: string[] };
}

export const DEFAULT_SANDBOX_RESOURCES: SandboxResources = { cpu: 1, memory_mb: 512, pids: 128, disk_mb: 256 };
export const DEFAULT_TTL_SECONDS = 3600;
export { MAX_TTL_SECONDS } from 'src/domain/container-spec';
export const DEFAULT_IDLE_TIMEOUT_SECONDS = 600;
