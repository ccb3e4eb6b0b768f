import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { RequirePermission, Tenant } from 'src/tenancy/route-metadata';
import { idOf } from 'src/common/pipes/resource-id.pipe';
import { clientGone } from 'src/common/http/event-stream';
import { CountsAsStream } from 'src/streams/stream-slots';
import { TenantContext } from 'src/tenancy/tenant-context';
import {
  ListWorkflowsQueryDto,
  SubmitWorkflowDto,
  WorkflowListResponseDto,
  WorkflowLogsQueryDto,
  WorkflowPlanResponseDto,
  WorkflowRunResponseDto,
  WaitWorkflowQueryDto,
  WorkflowRunWaitResponseDto,
} from 'src/workflows/dto/workflow.dto';
import { WorkflowArtifactsResponseDto, WorkflowLogsResponseDto } from 'src/workflows/dto/workflow-outputs-response.dto';
import { WorkflowsService } from 'src/workflows/workflows.service';
import { DeleteJobsByQueryDto, DeleteJobsByQueryResponseDto } from 'src/jobs/dto/search-jobs.dto';

@ApiTags('workflows')
@ApiBearerAuth()
@Controller('v1/workflows')
export class WorkflowsController {
  constructor(private readonly workflows: WorkflowsService) {}

  @Post()
  @RequirePermission('workflow:create')
  @ApiOperation({
    operationId: 'runWorkflow',
    summary: 'Run a GitHub Actions-style workflow (or plan it with dry_run)',
    description:
      'Validates the whole file first (400 with every diagnostic as file:line:column), then starts the run: each job ' +
      'instance runs as an OrcaOps job. dry_run returns the plan (jobs, instances, display names, order) instead.',
  })
  @ApiCreatedResponse({ type: WorkflowRunResponseDto, description: 'The run, started' })
  @ApiOkResponse({ type: WorkflowPlanResponseDto, description: 'dry_run: the plan; nothing was started' })
  async submit(
    @Tenant() ctx: TenantContext,
    @Body() dto: SubmitWorkflowDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WorkflowRunResponseDto | WorkflowPlanResponseDto> {
    const result = await this.workflows.submit(ctx, dto);
    void reply.status('dry_run' in result ? 200 : 201);
    return result;
  }

  @Get()
  @RequirePermission('workflow:read')
  @ApiOperation({ operationId: 'listWorkflows', summary: 'Workflow runs of this workspace, newest first' })
  list(@Tenant() ctx: TenantContext, @Query() q: ListWorkflowsQueryDto): Promise<WorkflowListResponseDto> {
    return this.workflows.list(ctx, q);
  }

  @Get(':runId')
  @RequirePermission('workflow:read')
  @ApiOperation({ operationId: 'getWorkflow', summary: 'A workflow run with the live status of every job instance' })
  get(@Tenant() ctx: TenantContext, @Param('runId', idOf('workflow run')) id: string): Promise<WorkflowRunResponseDto> {
    return this.workflows.get(ctx, id);
  }

  @Get(':runId/wait')
  @RequirePermission('workflow:read')
  @CountsAsStream()
  @ApiOperation({
    operationId: 'waitWorkflow',
    summary: 'Wait until the run changes after a version (or completes, or the timeout passes) and return it',
    description:
      'Long-poll for followers: returns the run as getWorkflow does, as soon as its version differs from `after` ' +
      '(without `after`: when it completes), or with the current state when timeout_seconds (≤ 60) passes. ' +
      '`terminal` tells whether it completed; pass the returned `version` as the next `after`.',
  })
  wait(
    @Tenant() ctx: TenantContext,
    @Param('runId', idOf('workflow run')) id: string,
    @Query() q: WaitWorkflowQueryDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WorkflowRunWaitResponseDto> {
    return this.workflows.wait(ctx, id, { timeoutMs: (q.timeout_seconds ?? 30) * 1000, after: q.after }, clientGone(reply));
  }

  @Post('delete-by-query')
  @HttpCode(200)
  @RequirePermission('workspace:admin')
  @ApiOperation({
    operationId: 'deleteWorkflowsByQuery',
    summary: 'Delete completed workflow runs matching a run query, e.g. until:30d status:failed (admins; at most 200 per call, audited)',
    description: 'Filters: until/since/created, status (succeeded, failed, timed_out, cancelled), session, fingerprint. Running runs are left. dry_run counts without deleting. more=true: call again.',
  })
  deleteByQuery(@Tenant() ctx: TenantContext, @Body() dto: DeleteJobsByQueryDto): Promise<DeleteJobsByQueryResponseDto> {
    return this.workflows.deleteByQuery(ctx, dto.q, dto.dry_run ?? false);
  }

  @Post(':runId/cancel')
  @HttpCode(200)
  @RequirePermission('workflow:cancel')
  @ApiOperation({ operationId: 'cancelWorkflow', summary: 'Cancel a run: every running job and service is stopped' })
  cancel(@Tenant() ctx: TenantContext, @Param('runId', idOf('workflow run')) id: string): Promise<WorkflowRunResponseDto> {
    return this.workflows.cancel(ctx, id);
  }

  @Delete(':runId')
  @HttpCode(204)
  @RequirePermission('workflow:delete')
  @ApiOperation({ operationId: 'deleteWorkflow', summary: 'Delete a finished run with its instance jobs, their output and artifacts' })
  async remove(@Tenant() ctx: TenantContext, @Param('runId', idOf('workflow run')) id: string): Promise<void> {
    await this.workflows.delete(ctx, id);
  }

  @Post(':runId/rerun')
  @HttpCode(200)
  @RequirePermission('workflow:create')
  @ApiOperation({ operationId: 'rerunWorkflow', summary: 'Run the failed instances of a finished run again, and the jobs after them' })
  rerun(@Tenant() ctx: TenantContext, @Param('runId', idOf('workflow run')) id: string): Promise<WorkflowRunResponseDto> {
    return this.workflows.rerunFailed(ctx, id);
  }

  @Get(':runId/logs')
  @RequirePermission('workflow:read')
  @ApiOperation({ operationId: 'getWorkflowLogs', summary: "Output of one instance (its job's logs); instance = key, display name or job id" })
  logs(@Tenant() ctx: TenantContext, @Param('runId', idOf('workflow run')) id: string, @Query() q: WorkflowLogsQueryDto): Promise<WorkflowLogsResponseDto> {
    return this.workflows.logs(ctx, id, q);
  }

  @Get(':runId/artifacts')
  @RequirePermission('workflow:read')
  @ApiOperation({ operationId: 'listWorkflowArtifacts', summary: 'Artifacts collected by the run, per instance' })
  artifacts(@Tenant() ctx: TenantContext, @Param('runId', idOf('workflow run')) id: string): Promise<WorkflowArtifactsResponseDto> {
    return this.workflows.artifacts(ctx, id);
  }
}
