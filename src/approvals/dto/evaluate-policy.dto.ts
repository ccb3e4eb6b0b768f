import { Type } from 'class-transformer';
import { IsOptional, ValidateNested } from 'class-validator';
import { CreateJobDto } from 'src/jobs/dto/create-job.dto';
import { CreateSandboxDto } from 'src/sandboxes/dto/create-sandbox.dto';

/** A dry run: the decision for a job or sandbox spec, without creating anything. Give `job` or `sandbox`. */
export class EvaluatePolicyDto {
  /** The body you would POST to /v1/jobs. */
  @IsOptional() @ValidateNested() @Type(() => CreateJobDto)
  job?: CreateJobDto;

  /** The body you would POST to /v1/sandboxes (image or profile). */
  @IsOptional() @ValidateNested() @Type(() => CreateSandboxDto)
  sandbox?: CreateSandboxDto;
}
