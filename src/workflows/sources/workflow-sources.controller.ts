import { Body, Controller, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiConsumes, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequirePermission, Tenant, UploadBody } from 'src/tenancy/route-metadata';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import { TenantContext } from 'src/tenancy/tenant-context';
import { WorkflowSourceResponseDto } from 'src/workflows/dto/workflow-outputs-response.dto';
import { SOURCE_LIMITS, WorkflowSourcesService } from 'src/workflows/sources/workflow-sources.service';

@ApiTags('workflows')
@ApiBearerAuth()
@Controller('v1/workflows/sources')
export class WorkflowSourcesController {
  constructor(private readonly sources: WorkflowSourcesService) {}

  @Post()
  @RequirePermission('workflow:create')
  @UploadBody(SOURCE_LIMITS.maxBytes)
  @ApiConsumes('application/x-tar', 'application/octet-stream')
  @ApiOperation({
    operationId: 'uploadWorkflowSource',
    summary: 'Upload a source directory (uncompressed tar) for actions/checkout; submit the run with its source_id',
    description: 'Only regular files and directories with relative names (else 400, listing the entries); at most 64 MiB. Kept 7 days unless a running run uses it.',
  })
  upload(@Tenant() ctx: TenantContext, @Body() body: unknown): Promise<WorkflowSourceResponseDto> {
    if (!Buffer.isBuffer(body)) throw new OrcaOpsError('unsupported_media_type', 'send the source as an uncompressed tar with Content-Type application/x-tar');
    return this.sources.upload(ctx, body);
  }
}
