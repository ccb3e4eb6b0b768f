import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';

export class EgressEventsQueryDto {
  /** One job's connections. */
  @IsOptional() @IsUUID()
  job_id?: string;

  /** One sandbox's connections. */
  @IsOptional() @IsUUID()
  sandbox_id?: string;

  /** `allowed` or `denied`. */
  @IsOptional() @IsIn(['allowed', 'denied'])
  decision?: 'allowed' | 'denied';

  /** How many, newest first (default 100, max 1000). */
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1000)
  limit?: number;
}

export class EgressEventResponseDto {
  /** When the connection was asked for (ISO 8601). */
  at!: string;
  /** job | sandbox */
  subject_kind!: string;
  subject_id!: string;
  /** CONNECT (a tunnel, e.g. HTTPS) or HTTP (one forwarded http:// request). */
  method!: string;
  /** The name (or IP literal) the workload asked for. */
  host!: string;
  /** The address the gateway connected to (null when refused before connecting). */
  address!: string | null;
  port!: number;
  /** allowed | denied */
  decision!: string;
  /** The rule that decided. */
  rule!: string;
  bytes_up!: number;
  bytes_down!: number;
  duration_ms!: number;
}

export class EgressEventsResponseDto {
  items!: EgressEventResponseDto[];
}
