import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { idOf } from 'src/common/pipes/resource-id.pipe';
import { ListSandboxCommandsQueryDto, SandboxCommandListResponseDto } from 'src/sandboxes/history/dto/sandbox-commands.dto';
import { SandboxHistoryService } from 'src/sandboxes/history/sandbox-history.service';
import { RequirePermission, Tenant } from 'src/tenancy/route-metadata';
import { TenantContext } from 'src/tenancy/tenant-context';

@ApiTags('sandboxes')
@ApiBearerAuth()
@Controller('v1/sandboxes/:id/commands')
export class SandboxHistoryController {
  constructor(private readonly history: SandboxHistoryService) {}

  @Get()
  @RequirePermission('sandbox:read')
  @ApiOperation({
    operationId: 'listSandboxCommands',
    summary: "A sandbox's command history (exec and shell commands), newest first",
    description:
      'Each command once it ended: text (secrets masked, at most 4096 characters), status, exit code, start, duration and ' +
      'output bytes. Filters: kind, shell, exit_code, failed=true, since/until (started, ISO 8601), contains (text, ' +
      'case-insensitive). Keyset pages of at most 200 (next_cursor). Also for stopped sandboxes; the newest 10 000 per sandbox are kept.',
  })
  list(@Tenant() ctx: TenantContext, @Param('id', idOf('sandbox')) id: string, @Query() q: ListSandboxCommandsQueryDto): Promise<SandboxCommandListResponseDto> {
    return this.history.list(ctx, id, {
      kind: q.kind,
      shell: q.shell,
      exitCode: q.exit_code,
      failed: q.failed,
      since: q.since ? new Date(q.since) : undefined,
      until: q.until ? new Date(q.until) : undefined,
      contains: q.contains,
      cursor: q.cursor,
      limit: q.limit,
    });
  }
}
