import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { EgressProbeDto, EvaluatePolicyDto } from 'src/approvals/dto/evaluate-policy.dto';
import { RequirePermission, Tenant } from 'src/tenancy/route-metadata';
import { invalidField } from 'src/common/errors/orcaops.error';
import { JobsService } from 'src/jobs/jobs.service';
import { PolicyDecisionResponseDto } from 'src/policies/dto/policy-response.dto';
import { SandboxesService } from 'src/sandboxes/sandboxes.service';
import { TenantContext } from 'src/tenancy/tenant-context';
import { EgressGateway } from 'src/egress/egress-gateway.service';
import { requireWorkspace } from 'src/tenancy/tenant-context.factory';

/** Lives in the approvals module because that module sits above jobs and sandboxes, which build the request. */
@ApiTags('policies')
@ApiBearerAuth()
@Controller('v1/policies')
export class PolicyEvaluationController {
  constructor(
    private readonly jobs: JobsService,
    private readonly sandboxes: SandboxesService,
    private readonly egress: EgressGateway,
  ) {}

  @Post('evaluate')
  @HttpCode(200)
  @RequirePermission('workspace:read')
  @ApiOperation({
    operationId: 'evaluatePolicy',
    summary:
      'Dry run: the policy decision (allowed, denied, requires_approval) with every violation for a job or sandbox spec, ' +
      'or whether egress may reach host:port and which rule decides; creates nothing',
  })
  evaluate(@Tenant() ctx: TenantContext, @Body() dto: EvaluatePolicyDto): Promise<PolicyDecisionResponseDto> {
    const given = [dto.job, dto.sandbox, dto.egress].filter((x) => x !== undefined).length;
    if (given !== 1) throw invalidField('job', 'give exactly one of job, sandbox or egress');
    if (dto.job) return this.jobs.evaluatePolicy(ctx, dto.job);
    if (dto.sandbox) return this.sandboxes.evaluatePolicy(ctx, dto.sandbox);
    return this.evaluateEgress(ctx, dto.egress!);
  }

  private async evaluateEgress(ctx: TenantContext, probe: EgressProbeDto): Promise<PolicyDecisionResponseDto> {
    const { host, port, ...narrowing } = probe;
    const verdict = await this.egress.evaluate(requireWorkspace(ctx).workspaceId, host, port, Object.keys(narrowing).length ? narrowing : undefined);
    return {
      decision: verdict.allowed ? 'allowed' : 'denied',
      violations: verdict.allowed ? [] : [{ rule: 'network', field: 'egress', effect: 'deny', message: verdict.message }],
      egress: { host, port, ...verdict },
    };
  }
}
