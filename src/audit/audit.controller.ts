import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiContentResponse } from 'src/common/decorators/api-content';
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import { RequirePermission, Tenant } from 'src/tenancy/route-metadata';
import { AuditEventView, AuditQuery, AuditService } from 'src/audit/audit.service';
import { AuditPageResponseDto } from 'src/audit/dto/audit-event-response.dto';
import { AuditFilterDto, AuditQueryDto } from 'src/audit/dto/audit-query.dto';
import { TenantContext } from 'src/tenancy/tenant-context';

function filters(q: AuditFilterDto): Omit<AuditQuery, 'cursor' | 'limit'> {
  return {
    workspaceId: q.workspace_id,
    action: q.action,
    actor: q.actor,
    resourceType: q.resource_type,
    resourceId: q.resource_id,
    sessionId: q.session_id?.toLowerCase(),
    since: q.since ? new Date(q.since) : undefined,
    until: q.until ? new Date(q.until) : undefined,
  };
}

async function* jsonLines(events: AsyncIterable<AuditEventView>): AsyncGenerator<string> {
  for await (const event of events) yield `${JSON.stringify(event)}\n`;
}

@ApiTags('audit')
@ApiBearerAuth()
@Controller('v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @RequirePermission('audit:read')
  @ApiOperation({ operationId: 'listAuditEvents', summary: 'Audit events, newest first' })
  list(@Tenant() ctx: TenantContext, @Query() q: AuditQueryDto): Promise<AuditPageResponseDto> {
    return this.audit.list(ctx, { ...filters(q), cursor: q.cursor, limit: q.limit ?? 50 });
  }

  @Get('export')
  @RequirePermission('audit:read')
  @ApiContentResponse(200, 'JSON lines, one audit event per line', undefined, {
    'application/x-ndjson': { kind: 'text', description: 'One AuditEventResponseDto as JSON per line' },
  })
  @ApiOperation({
    operationId: 'exportAuditEvents',
    summary: 'Every matching audit event as JSON lines (newest first), streamed',
    description: 'Same filters and event shape as listAuditEvents, one event per line; read in pages on the server, so any size streams in bounded memory.',
  })
  async export(@Tenant() ctx: TenantContext, @Query() q: AuditFilterDto, @Res() reply: FastifyReply): Promise<void> {
    const lines = Readable.from(jsonLines(this.audit.export(ctx, filters(q))));
    await reply.type('application/x-ndjson; charset=utf-8').send(lines);
  }
}
