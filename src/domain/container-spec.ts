/**
 * What any request for a container may ask for, whichever kind it is (job, sandbox, workflow service)
 * and whichever layer checks it (request DTOs, sandbox profiles, policies, the workflow runner). A
 * neutral leaf: it imports nothing, so every layer can use it.
 */

export const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
/** Bounds of a request's environment map (IsStringMap options). */
export const ENV_MAP = { maxKeys: 64, keyPattern: ENV_KEY, maxValueLength: 32_768 };
/**
 * A secret's name: like an environment variable, upper case (names are compared exactly, so one
 * spelling), and not in the namespaces OrcaOps and GitHub reserve.
 */
export const SECRET_NAME = /^(?!ORCAOPS_|GITHUB_)[A-Z_][A-Z0-9_]{0,63}$/;
/** A request's `secrets`: environment variable → secret name (IsStringMap options). */
export const SECRETS_MAP = { maxKeys: 32, keyPattern: ENV_KEY, maxValueLength: 64, valuePattern: SECRET_NAME };
// An optional registry host[:port]/ first (`127.0.0.1:5000/app:v1`); src/runtime/image-reference.ts normalises it.
export const IMAGE_REF = /^(?:[a-zA-Z0-9.-]+(?::[0-9]{1,5})?\/)?[a-z0-9][a-z0-9._\-/]*(:[A-Za-z0-9._-]{1,128})?(@sha256:[a-f0-9]{64})?$/;

export const NETWORK_MODES = ['none', 'egress'] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];

export const CLEANUP_POLICIES = [
  'always_remove',
  'remove_on_completion',
  'keep_on_completion',
  'remove_on_timeout',
  'never_remove',
] as const;
export type CleanupPolicy = (typeof CLEANUP_POLICIES)[number];

export interface ResourceLimits {
  cpu: number;
  memory_mb: number;
  pids: number;
  disk_mb: number;
}

export const DEFAULT_RESOURCES: ResourceLimits = { cpu: 1, memory_mb: 512, pids: 128, disk_mb: 256 };
/** What one container may ask for at most (the DTOs' bounds; policies may lower them, never raise). */
export const RESOURCE_BOUNDS: { [K in keyof ResourceLimits]: { min: number; max: number } } = {
  cpu: { min: 0.1, max: 4 },
  memory_mb: { min: 16, max: 8192 },
  pids: { min: 16, max: 512 },
  disk_mb: { min: 1, max: 1024 },
};
export const DEFAULT_TIMEOUT_SECONDS = 1800;
/**
 * The longest whole-job limit any policy may allow (24 h, issue 13: long jobs). A request is checked
 * against the effective policy's `resources.max_timeout_seconds`, which is DEFAULT_MAX_TIMEOUT_SECONDS
 * unless the organisation policy raises it.
 */
export const MAX_TIMEOUT_SECONDS = 24 * 3600;
/** The policy maximum of a job's timeout when no organisation policy sets one (the former fixed ceiling). */
export const DEFAULT_MAX_TIMEOUT_SECONDS = 1800;
/** A sandbox's longest lifetime. */
export const MAX_TTL_SECONDS = 24 * 3600;

/** When an image is pulled from its registry: only when missing (default), on every use, or never. docs/images.md */
export const PULL_POLICIES = ['if_not_present', 'always', 'never'] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];
