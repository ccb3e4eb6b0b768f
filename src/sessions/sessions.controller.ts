import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequirePermission, Tenant } from 'src/tenancy/route-metadata';
import { idOf } from 'src/common/pipes/resource-id.pipe';
import {
  EndSessionDto,
  ListSessionsQueryDto,
  OpenSessionDto,
  SessionListResponseDto,
  SessionResponseDto,
  SessionViewResponseDto,
} from 'src/sessions/dto/session.dto';
import { SessionsService } from 'src/sessions/sessions.service';
import { TenantContext } from 'src/tenancy/tenant-context';

@ApiTags('sessions')
@ApiBearerAuth()
@Controller('v1/sessions')
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @Post()
  @RequirePermission('session:create')
  @ApiOperation({
    operationId: 'openSession',
    summary: 'Open an agent session',
    description:
      'Jobs and sandboxes created with its id (body session_id, or the X-OrcaOps-Session header) are linked to it. ' +
      'Any request carrying the header keeps it alive; after idle_timeout_seconds without one it ends (reason idle).',
  })
  open(@Tenant() ctx: TenantContext, @Body() dto: OpenSessionDto): Promise<SessionResponseDto> {
    return this.sessions.open(ctx, dto);
  }

  @Get()
  @RequirePermission('session:read')
  @ApiOperation({ operationId: 'listSessions', summary: 'Agent sessions of this workspace, newest first' })
  list(@Tenant() ctx: TenantContext, @Query() q: ListSessionsQueryDto): Promise<SessionListResponseDto> {
    return this.sessions.list(ctx, {
      status: q.status,
      agentType: q.agent_type,
      since: q.since ? new Date(q.since) : undefined,
      until: q.until ? new Date(q.until) : undefined,
      cursor: q.cursor,
      limit: q.limit ?? 50,
    });
  }

  @Get(':id')
  @RequirePermission('session:read')
  @ApiOperation({ operationId: 'getSession', summary: 'A session, the jobs and sandboxes it created, and what they spent' })
  get(@Tenant() ctx: TenantContext, @Param('id', idOf('session')) id: string): Promise<SessionViewResponseDto> {
    return this.sessions.get(ctx, id);
  }

  @Post(':id/end')
  @HttpCode(200)
  @RequirePermission('session:create')
  @ApiOperation({ operationId: 'endSession', summary: 'End a session; with cleanup, stop its sandboxes and cancel its unfinished jobs' })
  end(@Tenant() ctx: TenantContext, @Param('id', idOf('session')) id: string, @Body() dto: EndSessionDto): Promise<SessionViewResponseDto> {
    return this.sessions.end(ctx, id, dto.cleanup ?? false);
  }
}
