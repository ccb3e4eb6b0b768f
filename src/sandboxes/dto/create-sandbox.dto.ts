import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, IsUUID, Length, Matches, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import { IsScalarMap, IsStringMap } from 'src/common/validators/is-string-map';
import { ENV_MAP, IMAGE_REF, NETWORK_MODES, NetworkMode, PULL_POLICIES, PullPolicy, SECRETS_MAP } from 'src/domain/container-spec';
import { JobResourcesDto } from 'src/domain/resources.dto';
import { EgressNarrowingDto } from 'src/policies/dto/egress-narrowing.dto';
import { MAX_TTL_SECONDS } from 'src/sandboxes/sandbox-model';

export const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,62}$/;
export const LABEL_MAP = { maxKeys: 32, keyPattern: LABEL_KEY, maxValueLength: 256 };

export class CreateSandboxDto {
  /**
   * An image on this engine (orcaops/python, orcaops/busybox) or from a registry the policy allows,
   * pulled with the workspace's own credentials. Give `image` or `profile`.
   */
  @IsOptional() @IsString() @Matches(IMAGE_REF, { message: 'image must be an image reference like name[:tag][@sha256:digest]' }) @MaxLength(256)
  image?: string;

  /** `if_not_present` (default, or the profile's): pull only when missing or not yet pulled by this workspace; `always`; `never`. */
  @IsOptional() @IsIn(PULL_POLICIES)
  pull_policy?: PullPolicy;

  /** A profile from sandboxes.yml (GET /v1/sandbox-profiles); its image, resources and env are the defaults. */
  @IsOptional() @IsString() @Matches(/^[a-z0-9][a-z0-9_-]{0,62}$/, { message: 'profile must be a profile name' })
  profile?: string;

  /** A human-friendly name (not unique). */
  @IsOptional() @IsString() @Length(1, 100)
  name?: string;

  @IsOptional() @ValidateNested() @Type(() => JobResourcesDto)
  resources?: JobResourcesDto;

  /** Applied to every exec, shell and background process in the sandbox. */
  @IsOptional() @IsStringMap(ENV_MAP)
  env?: Record<string, string>;

  /**
   * Secrets as environment variables of every exec, shell and process: `{ENV_NAME: SECRET_NAME}`
   * (workspace secrets, then inherited organisation ones; over the profile's). The sandbox keeps only
   * this mapping; the values are masked (***) in every output.
   */
  @IsOptional() @IsStringMap(SECRETS_MAP)
  secrets?: Record<string, string>;

  /** `none` (default) or `egress` (only where the workspace allows it). */
  @IsOptional() @IsIn(NETWORK_MODES)
  network?: NetworkMode;

  /** With network `egress`: this sandbox's own destinations, which can only narrow the policy's. */
  @IsOptional() @ValidateNested() @Type(() => EgressNarrowingDto)
  egress?: EgressNarrowingDto;

  /** Filterable key/value labels (list ?label=k=v). */
  @IsOptional() @IsStringMap(LABEL_MAP)
  labels?: Record<string, string>;

  @IsOptional() @IsScalarMap(32)
  metadata?: Record<string, string | number | boolean>;

  /** Maximum lifetime in seconds (default 3600, max 86400); extend it with extendSandbox. */
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TTL_SECONDS)
  ttl_seconds?: number;

  /** Expires after this long with no API call and no running process (default 600). */
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TTL_SECONDS)
  idle_timeout_seconds?: number;

  /** Links the sandbox to an open agent session of this workspace (wins over the X-OrcaOps-Session header). */
  @IsOptional() @IsUUID()
  session_id?: string;
}

export class ExtendSandboxDto {
  /** The sandbox now expires this many seconds from now (max 86400). */
  @IsInt() @Min(10) @Max(MAX_TTL_SECONDS)
  ttl_seconds!: number;
}

export class RunSandboxProfileDto {
  /** Extra or overriding environment variables for this run. */
  @IsOptional() @IsStringMap(ENV_MAP)
  env?: Record<string, string>;

  /** Why this runs (kept with the job). */
  @IsOptional() @IsString() @MaxLength(2000)
  intent?: string;
}
