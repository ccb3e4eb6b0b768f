import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { PREVIEW_LIMITS } from 'src/sandboxes/previews/preview.limits';

export class CreatePreviewDto {
  /** The TCP port a process listens on inside the sandbox (on 127.0.0.1 or 0.0.0.0). */
  @IsInt() @Min(1) @Max(65535)
  port!: number;

  /** The URL stops working this many seconds from now (default 3600, max 604800). */
  @IsOptional() @IsInt() @Min(1) @Max(PREVIEW_LIMITS.maxTtlSeconds)
  ttl_seconds?: number;
}
