import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Length, Max, Min, ValidateNested } from 'class-validator';
import { CreateJobDto } from 'src/jobs/dto/create-job.dto';
import { EgressNarrowingDto } from 'src/policies/dto/egress-narrowing.dto';
import { CreateSandboxDto } from 'src/sandboxes/dto/create-sandbox.dto';

/** May a job or sandbox of this workspace with network `egress` (and these narrowing destinations, if given) reach host:port now? */
export class EgressProbeDto extends EgressNarrowingDto {
  /** A name (`pypi.org`) or an IP literal. */
  @IsString() @Length(1, 253)
  host!: string;

  @IsInt() @Min(1) @Max(65535)
  port!: number;
}

/** A dry run: the decision for a job or sandbox spec, or for one egress destination, without creating anything. Give `job`, `sandbox` or `egress`. */
export class EvaluatePolicyDto {
  /** `{"host": "pypi.org", "port": 443}`: answered with the egress rule that decides it. */
  @IsOptional() @ValidateNested() @Type(() => EgressProbeDto)
  egress?: EgressProbeDto;

  /** The body you would POST to /v1/jobs. */
  @IsOptional() @ValidateNested() @Type(() => CreateJobDto)
  job?: CreateJobDto;

  /** The body you would POST to /v1/sandboxes (image or profile). */
  @IsOptional() @ValidateNested() @Type(() => CreateSandboxDto)
  sandbox?: CreateSandboxDto;
}
