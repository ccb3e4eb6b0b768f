import { ArrayMaxSize, IsArray, IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';

/**
 * A job's, sandbox's or workflow job's own egress destinations (network `egress` only). They can only
 * NARROW the effective policy: a destination must match these and the policy; an entry reaching beyond
 * the policy refuses the request (policy_denied, naming the entry).
 */
export class EgressNarrowingDto {
  /** Names this work may reach: exact (`pypi.org`) or `*.example.com`, each within the policy's allow_domains. */
  @IsOptional() @IsArray() @ArrayMaxSize(64) @IsString({ each: true }) @Length(1, 253, { each: true })
  allow_domains?: string[];

  /** Address ranges this work may reach, each within the policy's allow_cidrs. */
  @IsOptional() @IsArray() @ArrayMaxSize(64) @IsString({ each: true }) @Length(1, 64, { each: true })
  allow_cidrs?: string[];

  /** Destination ports, each among the policy's allow_ports. */
  @IsOptional() @IsArray() @ArrayMaxSize(32) @IsInt({ each: true }) @Min(1, { each: true }) @Max(65535, { each: true })
  ports?: number[];
}
