import { Type } from 'class-transformer';
import { IsDateString, IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';

/** Filters shared by the list and the export. */
export class AuditFilterDto {
  /** Action name; `*` matches any run of characters (e.g. `token.*`). */
  @IsOptional() @IsString() @MaxLength(64)
  action?: string;

  /** Actor token id. */
  @IsOptional() @IsString() @MaxLength(64)
  actor?: string;

  @IsOptional() @IsString() @MaxLength(32)
  resource_type?: string;

  @IsOptional() @IsString() @MaxLength(64)
  resource_id?: string;

  /** Events of one agent session. */
  @IsOptional() @IsUUID()
  session_id?: string;

  /** Organisation admins only: one workspace's events. Ignored for workspace tokens. */
  @IsOptional() @IsUUID()
  workspace_id?: string;

  /** ISO 8601 time; events at or after it. */
  @IsOptional() @IsDateString()
  since?: string;

  /** ISO 8601 time; events before it. */
  @IsOptional() @IsDateString()
  until?: string;

}

export class AuditQueryDto extends AuditFilterDto {
  /** `next_cursor` of the previous page. */
  @IsOptional() @IsString() @MaxLength(200)
  cursor?: string;

  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500)
  limit?: number;
}
