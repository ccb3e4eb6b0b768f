import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { ENVIRONMENT_STATUSES, EnvironmentStatus } from 'src/environments/environment-model';
import { MAX_TTL_SECONDS } from 'src/domain/container-spec';

export class CreateEnvironmentDto {
  /** A template from sandboxes.yml (GET /v1/environment-templates): web-dev, python-ml, api-testing... Give `template` or `compose`. */
  @IsOptional() @IsString() @Matches(/^[a-z0-9][a-z0-9_-]{0,62}$/, { message: 'template must be a template name' })
  template?: string;

  /**
   * A project file's text (`orcaops.yml`, `compose.yml`) in the compose subset of docs/environments.md:
   * services (image, command, entrypoint, environment, healthcheck, depends_on, volumes, ports/expose),
   * named volumes, and `sandbox` / `x-orcaops-sandbox`. Any other key is refused naming it and its line.
   */
  @IsOptional() @IsString() @MaxLength(65_536)
  compose?: string;

  /** The project file's name, for messages (default compose.yml). */
  @IsOptional() @IsString() @MaxLength(200)
  file_name?: string;

  /** A name (not unique); defaults to the file's `name:` or the template's. */
  @IsOptional() @IsString() @Matches(/^[a-z0-9][a-z0-9_-]{0,62}$/, { message: 'name must be lower-case letters, digits, - and _ (max 63)' })
  name?: string;

  /** The sandbox's maximum lifetime in seconds (default 3600); when the sandbox ends, the environment ends. */
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TTL_SECONDS)
  ttl_seconds?: number;

  /** The sandbox's idle timeout in seconds (default 600). */
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TTL_SECONDS)
  idle_timeout_seconds?: number;
}

export class ListEnvironmentsQueryDto {
  @IsOptional() @IsIn(ENVIRONMENT_STATUSES)
  status?: EnvironmentStatus;
}
