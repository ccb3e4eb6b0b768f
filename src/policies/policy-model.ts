/**
 * The security policy model: one document shape for the organisation default and for a workspace's
 * own policy. Every field is optional; an absent field adds no constraint at that level. There are no
 * fields for privileged mode, host mounts or the Docker socket: those are never allowed, so no policy
 * can ask for them.
 */
import type { NetworkMode, PullPolicy, ResourceLimits } from 'src/domain/container-spec';
import type { EffectiveEgress, EgressDestinationRules, EgressNarrowing } from 'src/policies/egress-rules';
import type { Role } from 'src/tenancy/permissions';

/** What happens to a request that needs something beyond the plain rules. */
export const EGRESS_RULES = ['deny', 'require_approval', 'allow'] as const;
export type EgressRule = (typeof EGRESS_RULES)[number];

export const OUTSIDE_ALLOW_RULES = ['deny', 'require_approval'] as const;
export type OutsideAllowRule = (typeof OUTSIDE_ALLOW_RULES)[number];

export interface ImagePolicy {
  /** Globs (picomatch) on the image reference or its repository name; an image must match one. */
  allow?: string[];
  /** Globs; a match is always refused (deny wins over allow). */
  deny?: string[];
  /** Images must be pinned by digest (`name@sha256:…`). */
  require_digest?: boolean;
  /** An image outside `allow`: refused (default) or held for approval. */
  outside_allow?: OutsideAllowRule;
  /**
   * Globs on registry hosts (`ghcr.io`, `registry.example.com:5000`, `*.corp.example`) images may be
   * pulled from. Absent at both levels: nothing is pulled, only images already on the engine (the
   * standard images OrcaOps builds) run. Each level that sets a list must match (like `allow`).
   */
  registries?: string[];
  /** A request that may pull from a registry (reference naming a registry host, or pull policy `always`) waits for an approval. */
  pull_approval?: boolean;
  /** Largest image (uncompressed size on the engine) a request may run, in MiB. */
  max_size_mb?: number;
  /**
   * Image bytes (MiB) this workspace's pulled images may take on the engine, each image counted whole
   * for every workspace holding a pull grant for it (shared layers are not split); checked at pull time.
   */
  max_cache_mb?: number;
}

export { PULL_POLICIES } from 'src/domain/container-spec';
export type { PullPolicy } from 'src/domain/container-spec';

export interface CommandPolicy {
  /** Refused when a command (trimmed, argv joined by spaces) equals one of these. */
  deny?: string[];
  /** Refused when a command matches one of these regular expressions (validated on save). */
  deny_patterns?: string[];
}

export interface NetworkPolicy extends EgressDestinationRules {
  /** Network `egress` requests: refused (default), held for approval, or allowed. */
  egress?: EgressRule;
  /** Publishing container ports (the server does not publish ports yet; default false). */
  published_ports?: boolean;
}

export const RESOURCE_MAXIMUMS = [
  'max_cpu',
  'max_memory_mb',
  'max_pids',
  'max_disk_mb',
  'max_timeout_seconds',
  'max_ttl_seconds',
] as const;
export type ResourceMaximum = (typeof RESOURCE_MAXIMUMS)[number];

export const APPROVAL_THRESHOLDS = ['cpu', 'memory_mb', 'timeout_seconds'] as const;
export type ApprovalThreshold = (typeof APPROVAL_THRESHOLDS)[number];

export type ResourcePolicy = Partial<Record<ResourceMaximum, number>> & {
  /** Jobs asking for more than these (but within the maximums) wait for approval. */
  approval_above?: Partial<Record<ApprovalThreshold, number>>;
};

export interface IsolationPolicy {
  /**
   * The hardening profile's knobs an admin may loosen. Requests cannot ask for a writable root yet,
   * so today this is only a ceiling (false, the default, keeps every root read-only).
   */
  writable_root_fs?: boolean;
}

export interface ApprovalPolicy {
  /** A pending approval request expires after this many seconds (default 3600). */
  expire_after_seconds?: number;
  /**
   * May the token that submitted a held job approve it? Default false (four eyes). Only the organisation
   * policy can allow it; a workspace policy can only keep it off.
   */
  allow_self_approval?: boolean;
}

/** One per-name rule: secrets whose name matches one of `names` (exact, or `*` globs like `DEPLOY_*`) only these roles may use. */
export interface SecretRule {
  names: string[];
  roles: Role[];
}

export interface SecretsPolicy {
  /** Roles whose tokens may use secrets at all in jobs, sandboxes and workflows (default: every role). */
  allowed_roles?: Role[];
  /** Narrower rules per secret name; every rule whose names match must list the role. */
  rules?: SecretRule[];
}

export interface PolicyDocument {
  images?: ImagePolicy;
  commands?: CommandPolicy;
  network?: NetworkPolicy;
  resources?: ResourcePolicy;
  isolation?: IsolationPolicy;
  approvals?: ApprovalPolicy;
  secrets?: SecretsPolicy;
}

/** The policy a request is decided against: organisation default ∩ workspace policy. */
export interface EffectivePolicy {
  images: {
    /** Every list must match (one per level that sets one); empty = any image. */
    allow: string[][];
    deny: string[];
    require_digest: boolean;
    outside_allow: OutsideAllowRule;
    /** Every list must match (one per level that sets one); none: no pulls at all. */
    registries: string[][];
    pull_approval: boolean;
    max_size_mb?: number;
    max_cache_mb?: number;
  };
  commands: { deny: string[]; deny_patterns: string[] };
  network: { egress: EgressRule; published_ports: boolean; destinations: EffectiveEgress };
  resources: Partial<Record<ResourceMaximum, number>> & { approval_above: Partial<Record<ApprovalThreshold, number>> };
  isolation: { writable_root_fs: boolean };
  approvals: { expire_after_seconds: number; allow_self_approval: boolean };
  /** Every level's allowed_roles applies (empty: any role), and every level's rules. */
  secrets: { allowed_roles: Role[][]; rules: SecretRule[] };
}

export const DEFAULT_APPROVAL_EXPIRY_SECONDS = 3600;

/** What a request asks for, whichever front end or resource kind it came from. */
export interface PolicyRequest {
  /** `workflow_service`: a workflow job's service container (cannot wait for approval, like a sandbox). */
  kind: 'job' | 'sandbox' | 'workflow_service';
  image: string;
  /** Default `if_not_present`. */
  pull_policy?: PullPolicy;
  /** Each command with the request field it came from (shell strings, or argv joined by spaces). */
  commands: Array<{ field: string; command: string }>;
  network: NetworkMode;
  resources: ResourceLimits;
  timeout_seconds?: number;
  ttl_seconds?: number;
  published_ports?: number;
  /** Names of the secrets the work asks for (decided per token role: policy `secrets`). */
  secrets?: string[];
  /** The request's own egress destinations: may only narrow the policy's (network `egress` only). */
  egress?: EgressNarrowing;
}

export type PolicyRule = 'images' | 'commands' | 'network' | 'resources' | 'isolation' | 'secrets';

export interface PolicyViolation {
  rule: PolicyRule;
  /** The request field at fault, e.g. `image`, `steps.1.command`, `resources.memory_mb`. */
  field: string;
  message: string;
  /** deny: refused outright; require_approval: allowed once an approver says yes. */
  effect: 'deny' | 'require_approval';
}

export type PolicyOutcome = 'allowed' | 'denied' | 'requires_approval';

export interface PolicyDecision {
  decision: PolicyOutcome;
  violations: PolicyViolation[];
}
