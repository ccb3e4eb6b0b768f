import { Type } from 'class-transformer';
import { IsDateString, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

/** Keyset pagination shared by the list endpoints: `next_cursor` of the previous page and a page size. */
export class PageQueryDto {
  /** `next_cursor` of the previous page. */
  @IsOptional() @IsString() @MaxLength(200)
  cursor?: string;

  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(200)
  limit?: number;
}

/** A page of resources created in a time range. */
export class TimeRangePageQueryDto extends PageQueryDto {
  /** Created at or after (ISO 8601). */
  @IsOptional() @IsDateString()
  since?: string;

  /** Created before (ISO 8601). */
  @IsOptional() @IsDateString()
  until?: string;
}
