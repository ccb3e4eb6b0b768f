import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { EvaluatePolicyDto } from 'src/approvals/dto/evaluate-policy.dto';
import { RequirePermission, Tenant } from 'src/tenancy/route-metadata';
import { invalidField } from 'src/common/errors/orcaops.error';
import { JobsService } from 'src/jobs/jobs.service';
import { PolicyDecisionResponseDto } from 'src/policies/dto/policy-response.dto';
import { SandboxesService } from 'src/sandboxes/sandboxes.service';
import { TenantContext } from 'src/tenancy/tenant-context';

/** Lives in the approvals module because that module sits above jobs and sandboxes, which build the request. */
@ApiTags('policies')
@ApiBearerAuth()
@Controller('v1/policies')
export class PolicyEvaluationController {
  constructor(
    private readonly jobs: JobsService,
    private readonly sandboxes: SandboxesService,
  ) {}

  @Post('evaluate')
  @HttpCode(200)
  @RequirePermission('workspace:read')
  @ApiOperation({
    operationId: 'evaluatePolicy',
    summary: 'Dry run: the policy decision (allowed, denied, requires_approval) with every violation for a job or sandbox spec; creates nothing',
  })
  evaluate(@Tenant() ctx: TenantContext, @Body() dto: EvaluatePolicyDto): Promise<PolicyDecisionResponseDto> {
    if (dto.job && !dto.sandbox) return this.jobs.evaluatePolicy(ctx, dto.job);
    if (dto.sandbox && !dto.job) return this.sandboxes.evaluatePolicy(ctx, dto.sandbox);
    throw invalidField('job', 'give exactly one of job or sandbox');
  }
}
