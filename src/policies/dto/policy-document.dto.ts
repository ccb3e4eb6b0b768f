import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { MAX_TIMEOUT_SECONDS, MAX_TTL_SECONDS, RESOURCE_BOUNDS } from 'src/domain/container-spec';
import { ROLES, Role } from 'src/tenancy/permissions';
import { EGRESS_RULES, EgressRule, OUTSIDE_ALLOW_RULES, OutsideAllowRule } from 'src/policies/policy-model';

// The same bounds as the job and sandbox request DTOs.
const { cpu: CPU, memory_mb: MEMORY, pids: PIDS, disk_mb: DISK } = RESOURCE_BOUNDS;

/*
 * The policy document as the API accepts it. Unknown fields are rejected (400), and there is on
 * purpose no field for privileged mode, host mounts, the Docker socket or added capabilities.
 */

export class ImagePolicyDto {
  /** Globs on the image reference or its repository name (e.g. `orcaops/*`); an image must match one. */
  @IsOptional() @IsArray() @ArrayMaxSize(100) @IsString({ each: true }) @Length(1, 256, { each: true })
  allow?: string[];

  /** Globs that are always refused; deny wins over allow. */
  @IsOptional() @IsArray() @ArrayMaxSize(100) @IsString({ each: true }) @Length(1, 256, { each: true })
  deny?: string[];

  /** Images must be pinned by digest (`name@sha256:…`). */
  @IsOptional() @IsBoolean()
  require_digest?: boolean;

  /** An image outside `allow`: `deny` (default) or `require_approval`. */
  @IsOptional() @IsIn(OUTSIDE_ALLOW_RULES)
  outside_allow?: OutsideAllowRule;

  /** Globs on registry hosts images may be pulled from (e.g. `ghcr.io`, `*.corp.example`); absent: no pulls. */
  @IsOptional() @IsArray() @ArrayMaxSize(100) @IsString({ each: true }) @Length(1, 256, { each: true })
  registries?: string[];

  /** A request that may pull from a registry waits for an approval. */
  @IsOptional() @IsBoolean()
  pull_approval?: boolean;

  /** Largest image a request may run (uncompressed, MiB); checked on the engine's size after a pull and before every use. */
  @IsOptional() @IsInt() @Min(1) @Max(1_048_576)
  max_size_mb?: number;

  /**
   * Image bytes this workspace may hold on the engine (MiB): the sum of the sizes of the pulled images it
   * has a grant for, each image counted whole for every workspace that pulled it; checked at pull time.
   */
  @IsOptional() @IsInt() @Min(1) @Max(16_777_216)
  max_cache_mb?: number;
}

export class CommandPolicyDto {
  /** Exact commands (trimmed; argv joined by spaces) that are refused. */
  @IsOptional() @IsArray() @ArrayMaxSize(200) @IsString({ each: true }) @Length(1, 1000, { each: true })
  deny?: string[];

  /** Regular expressions (JavaScript syntax, searched anywhere in the command); checked on save. */
  @IsOptional() @IsArray() @ArrayMaxSize(100) @IsString({ each: true }) @Length(1, 256, { each: true })
  deny_patterns?: string[];
}

export class NetworkPolicyDto {
  /** Requests for network `egress`: `deny` (default), `require_approval` or `allow`. */
  @IsOptional() @IsIn(EGRESS_RULES)
  egress?: EgressRule;

  /** Publishing container ports (default false). */
  @IsOptional() @IsBoolean()
  published_ports?: boolean;

  /** Names egress may reach: exact (`pypi.org`) or `*.example.com` (names below it). Absent: any public name. */
  @IsOptional() @IsArray() @ArrayMaxSize(500) @IsString({ each: true }) @Length(1, 253, { each: true })
  allow_domains?: string[];

  /** Address ranges egress may reach (`203.0.113.0/24`, one address, IPv6 ranges). */
  @IsOptional() @IsArray() @ArrayMaxSize(500) @IsString({ each: true }) @Length(1, 64, { each: true })
  allow_cidrs?: string[];

  /** Destination ports egress may reach (default 80 and 443). */
  @IsOptional() @IsArray() @ArrayMaxSize(100) @IsInt({ each: true }) @Min(1, { each: true }) @Max(65535, { each: true })
  allow_ports?: number[];

  /** Names always refused (exact or `*.` wildcard); deny wins. */
  @IsOptional() @IsArray() @ArrayMaxSize(500) @IsString({ each: true }) @Length(1, 253, { each: true })
  deny_domains?: string[];

  /** Address ranges always refused; deny wins. */
  @IsOptional() @IsArray() @ArrayMaxSize(500) @IsString({ each: true }) @Length(1, 64, { each: true })
  deny_cidrs?: string[];

  /** Organisation policy only: ranges inside the always-denied classes (private, loopback, link-local, host, Docker, OrcaOps) that the rules above may still allow. */
  @IsOptional() @IsArray() @ArrayMaxSize(100) @IsString({ each: true }) @Length(1, 64, { each: true })
  allow_protected_cidrs?: string[];
}

export class ApprovalThresholdsDto {
  @IsOptional() @IsNumber({ maxDecimalPlaces: 2 }) @Min(CPU.min) @Max(CPU.max)
  cpu?: number;

  @IsOptional() @IsInt() @Min(MEMORY.min) @Max(MEMORY.max)
  memory_mb?: number;

  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMEOUT_SECONDS)
  timeout_seconds?: number;
}

export class ResourcePolicyDto {
  @IsOptional() @IsNumber({ maxDecimalPlaces: 2 }) @Min(CPU.min) @Max(CPU.max)
  max_cpu?: number;

  @IsOptional() @IsInt() @Min(MEMORY.min) @Max(MEMORY.max)
  max_memory_mb?: number;

  @IsOptional() @IsInt() @Min(PIDS.min) @Max(PIDS.max)
  max_pids?: number;

  /** Size of the writable /workspace, which also bounds the artifacts a job can leave. */
  @IsOptional() @IsInt() @Min(DISK.min) @Max(DISK.max)
  max_disk_mb?: number;

  /**
   * A job's longest timeout (whole job, workflow jobs included). 1800 when the organisation policy sets
   * none; only the organisation policy can raise it, up to 86400 (24 h).
   */
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMEOUT_SECONDS)
  max_timeout_seconds?: number;

  /** Sandbox lifetime. */
  @IsOptional() @IsInt() @Min(60) @Max(MAX_TTL_SECONDS)
  max_ttl_seconds?: number;

  /** Jobs asking for more than these (within the maximums) wait for an approval. */
  @IsOptional() @ValidateNested() @Type(() => ApprovalThresholdsDto)
  approval_above?: ApprovalThresholdsDto;
}

export class IsolationPolicyDto {
  /** May the hardening profile's read-only root be loosened (default false; no request can ask for it yet). */
  @IsOptional() @IsBoolean()
  writable_root_fs?: boolean;
}

export class ApprovalPolicyDto {
  /** A pending approval expires after this many seconds (1 s – 7 days; default 3600). */
  @IsOptional() @IsInt() @Min(1) @Max(7 * 24 * 3600)
  expire_after_seconds?: number;

  /** May a job's submitter approve it (default false: four eyes; a workspace can only keep it off). */
  @IsOptional() @IsBoolean()
  allow_self_approval?: boolean;
}

export class SecretRuleDto {
  /** Secret names, exact or with `*` (e.g. `DEPLOY_*`). */
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(100) @IsString({ each: true }) @Matches(/^[A-Z0-9_*]{1,128}$/, { each: true, message: 'secret name patterns are upper-case letters, digits, _ and *' })
  names!: string[];
  /** The roles that may use the matching secrets. */
  @IsArray() @ArrayMaxSize(4) @IsIn(ROLES, { each: true })
  roles!: Role[];
}

export class SecretsPolicyDto {
  /** Roles whose tokens may use secrets at all (default: every role). */
  @IsOptional() @IsArray() @ArrayMaxSize(4) @IsIn(ROLES, { each: true })
  allowed_roles?: Role[];
  /** Per-name rules: every rule whose names match a secret must list the role. */
  @IsOptional() @IsArray() @ArrayMaxSize(50) @ValidateNested({ each: true }) @Type(() => SecretRuleDto)
  rules?: SecretRuleDto[];
}

export class PolicyDocumentDto {
  @IsOptional() @ValidateNested() @Type(() => ImagePolicyDto)
  images?: ImagePolicyDto;

  @IsOptional() @ValidateNested() @Type(() => CommandPolicyDto)
  commands?: CommandPolicyDto;

  @IsOptional() @ValidateNested() @Type(() => NetworkPolicyDto)
  network?: NetworkPolicyDto;

  @IsOptional() @ValidateNested() @Type(() => ResourcePolicyDto)
  resources?: ResourcePolicyDto;

  @IsOptional() @ValidateNested() @Type(() => IsolationPolicyDto)
  isolation?: IsolationPolicyDto;

  @IsOptional() @ValidateNested() @Type(() => ApprovalPolicyDto)
  approvals?: ApprovalPolicyDto;

  @IsOptional() @ValidateNested() @Type(() => SecretsPolicyDto)
  secrets?: SecretsPolicyDto;
}
