import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { IMAGE_BUILD_STATUSES, ImageBuildStatus } from 'src/image-builds/entities/image-build.entity';

export class StartImageBuildQueryDto {
  /** Image name inside the workspace's namespace (lower case, e.g. `tools` or `team/app`). */
  @IsString() @MaxLength(100)
  @Matches(/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)?$/, { message: 'name is lower-case letters, digits and . _ - (one / at most), e.g. tools or team/app' })
  name!: string;

  /** Tag (default `latest`). */
  @IsOptional() @IsString() @Matches(/^\w[\w.-]{0,127}$/, { message: 'tag is letters, digits, _ . - (at most 128, not starting with . or -)' })
  tag?: string;

  /** Path of the Dockerfile inside the context (default `Dockerfile`). */
  @IsOptional() @IsString() @MaxLength(255)
  dockerfile?: string;
}

export class ListImageBuildsQueryDto {
  @IsOptional() @IsIn(IMAGE_BUILD_STATUSES)
  status?: ImageBuildStatus;

  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500)
  limit?: number;
}

export class ImageBuildLogQueryDto {
  /** Stream over Server-Sent Events (same as Accept: text/event-stream). */
  @IsOptional() @IsIn(['true', 'false'])
  follow?: 'true' | 'false';

  /** With a stream: start after this many characters (the id of the last event received). */
  @IsOptional() @Type(() => Number) @IsInt() @Min(0)
  after?: number;
}

export class ImageBuildResponseDto {
  id!: string;
  /** The reference this workspace's jobs, sandboxes, profiles and workflows use. */
  image!: string;
  name!: string;
  tag!: string;
  dockerfile!: string;
  status!: ImageBuildStatus;
  context_bytes!: number;
  /** The engine's image id (sha256:…) once built. */
  digest!: string | null;
  size_bytes!: number | null;
  /** Why the build failed. */
  error!: string | null;
  log_truncated!: boolean;
  created_by!: string;
  created_at!: string;
  started_at!: string | null;
  finished_at!: string | null;
}

export class ImageBuildListResponseDto {
  items!: ImageBuildResponseDto[];
}

export class ImageBuildLogResponseDto {
  status!: ImageBuildStatus;
  /** The output so far (secrets masked). */
  log!: string;
  truncated!: boolean;
}
