import { Type } from 'class-transformer';
import { EgressNarrowingDto } from 'src/policies/dto/egress-narrowing.dto';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { IsScalarMap, IsStringMap } from 'src/common/validators/is-string-map';
import { CLEANUP_POLICIES, CleanupPolicy, ENV_MAP, IMAGE_REF, SECRETS_MAP, MAX_TIMEOUT_SECONDS, NETWORK_MODES, NetworkMode, PULL_POLICIES, PullPolicy } from 'src/domain/container-spec';
import { JobResourcesDto } from 'src/domain/resources.dto';

export class JobStepDto {
  /** A label for the step (shown in run records). */
  @IsOptional() @IsString() @Length(1, 100)
  name?: string;

  /** Shell command, run with /bin/sh -c. Give `command` or `args`. */
  @IsOptional() @IsString() @Length(1, 65_536)
  command?: string;

  /** argv run without a shell. Give `command` or `args`. */
  @IsOptional() @IsArray() @ArrayMinSize(1) @ArrayMaxSize(256) @IsString({ each: true }) @MaxLength(32_768, { each: true })
  args?: string[];

  /** Working directory inside the container (default /workspace). */
  @IsOptional() @IsString() @Matches(/^\/[^\0]{0,254}$/, { message: 'cwd must be an absolute path' })
  cwd?: string;

  @IsOptional() @IsStringMap(ENV_MAP)
  env?: Record<string, string>;

  /** Step time limit in seconds; the step's whole process group is killed when it expires. */
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMEOUT_SECONDS)
  timeout_seconds?: number;

  /** Keep going with the next step when this one fails. */
  @IsOptional() @IsBoolean()
  continue_on_error?: boolean;
}

export class CreateJobDto {
  /**
   * An image reference: a standard image (orcaops/python, orcaops/busybox), a registry image
   * (`registry.example.com/team/app:1.2`, `ghcr.io/org/tool@sha256:…`) or a Docker Hub short name
   * (`python:3.12-slim`). Registry images are pulled when the policy allows their registry (docs/images.md).
   */
  @IsString() @Matches(IMAGE_REF, { message: 'image must be an image reference like name[:tag][@sha256:digest]' }) @MaxLength(256)
  image!: string;

  /** Steps run in order in one container; the job stops at the first failing step. */
  @IsOptional() @IsArray() @ArrayMinSize(1) @ArrayMaxSize(64) @ValidateNested({ each: true }) @Type(() => JobStepDto)
  steps?: JobStepDto[];

  /** Shorthand for a single step with this shell command. */
  @IsOptional() @IsString() @Length(1, 65_536)
  command?: string;

  @IsOptional() @IsStringMap(ENV_MAP)
  env?: Record<string, string>;

  /**
   * Secrets as environment variables: `{ENV_NAME: SECRET_NAME}` (workspace secrets, then inherited
   * organisation ones). Set in the container when it starts; the job keeps only this mapping, and the
   * values are masked (***) in its output.
   */
  @IsOptional() @IsStringMap(SECRETS_MAP)
  secrets?: Record<string, string>;

  @IsOptional() @ValidateNested() @Type(() => JobResourcesDto)
  resources?: JobResourcesDto;

  /** `none` (default) or `egress` (only where the workspace allows it). */
  @IsOptional() @IsIn(NETWORK_MODES)
  network?: NetworkMode;

  /** With network `egress`: this job's own destinations, which can only narrow the policy's. */
  @IsOptional() @ValidateNested() @Type(() => EgressNarrowingDto)
  egress?: EgressNarrowingDto;

  /** Whole-job time limit in seconds (default 1800; at most the policy's resources.max_timeout_seconds: 1800 unless the organisation allows up to 86400). */
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMEOUT_SECONDS)
  timeout_seconds?: number;

  /** Files to collect after the steps: paths or globs, relative to /workspace or absolute; expanded inside the container. */
  @IsOptional() @IsArray() @ArrayMaxSize(32) @IsString({ each: true }) @Length(1, 255, { each: true })
  @Matches(/^[^\0\n]+$/, { each: true, message: 'artifact patterns must be single-line paths' })
  artifacts?: string[];

  @IsOptional() @IsIn(CLEANUP_POLICIES)
  cleanup_policy?: CleanupPolicy;

  /** `if_not_present` (default): pull only when the image is missing (or not yet pulled by this workspace); `always`; `never`. */
  @IsOptional() @IsIn(PULL_POLICIES)
  pull_policy?: PullPolicy;

  @IsOptional() @IsArray() @ArrayMaxSize(20) @IsString({ each: true }) @Matches(/^[A-Za-z0-9][A-Za-z0-9_.:\-/]{0,63}$/, { each: true, message: 'tags are short words (letters, digits, _ . : - /)' })
  tags?: string[];

  /** Why this job runs, in the caller's words (kept with the run record). */
  @IsOptional() @IsString() @MaxLength(2000)
  intent?: string;

  /** Who or what submitted it (e.g. ci, claude-code). */
  @IsOptional() @IsString() @Length(1, 64)
  triggered_by?: string;

  @IsOptional() @IsScalarMap(32)
  metadata?: Record<string, string | number | boolean>;

  /** Links the job to an open agent session of this workspace (wins over the X-OrcaOps-Session header). */
  @IsOptional() @IsUUID()
  session_id?: string;

  /** A retried submit with the same key returns the same job (the Idempotency-Key header works too). */
  @IsOptional() @IsString() @Length(1, 128)
  idempotency_key?: string;
}
