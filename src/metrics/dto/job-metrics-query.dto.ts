import { IsDateString, IsIn, IsOptional, IsString, MaxLength } from 'class-validator';

export const METRIC_BUCKETS = ['5m', 'hour', 'day', 'week'] as const;
export type MetricBucket = (typeof METRIC_BUCKETS)[number];

export class JobMetricsQueryDto {
  /** ISO 8601; jobs submitted at or after it. Default: `to` minus 7 days. */
  @IsOptional() @IsDateString()
  from?: string;

  /** ISO 8601; jobs submitted before it. Default: now. */
  @IsOptional() @IsDateString()
  to?: string;

  /** Bucket width (UTC-aligned). Default `day`. At most 1000 buckets per range; the range is at most 90 days. */
  @IsOptional() @IsIn(METRIC_BUCKETS)
  bucket?: MetricBucket;

  /** `image`: one row per image in each bucket and in the totals. */
  @IsOptional() @IsIn(['image'])
  group_by?: 'image';

  /** Only jobs of this image reference (exact, as submitted). */
  @IsOptional() @IsString() @MaxLength(256)
  image?: string;

  /** Only jobs carrying this tag. */
  @IsOptional() @IsString() @MaxLength(64)
  tag?: string;
}
