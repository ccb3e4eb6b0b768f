import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { EgressEventsQueryDto, EgressEventsResponseDto } from 'src/egress/dto/egress-events.dto';
import { EgressEventLog } from 'src/egress/egress-event-log';
import { requireWorkspace } from 'src/tenancy/tenant-context.factory';
import { RequirePermission, Tenant } from 'src/tenancy/route-metadata';
import { TenantContext } from 'src/tenancy/tenant-context';

@ApiTags('egress')
@ApiBearerAuth()
@Controller('v1/egress')
export class EgressController {
  constructor(private readonly log: EgressEventLog) {}

  @Get('events')
  @RequirePermission('job:read')
  @ApiOperation({
    operationId: 'listEgressEvents',
    summary: "The workspace's recent egress decisions (newest first): destination name and address, port, allowed or denied, the rule, bytes, duration",
  })
  async list(@Tenant() ctx: TenantContext, @Query() q: EgressEventsQueryDto): Promise<EgressEventsResponseDto> {
    return { items: await this.log.forWorkspace(requireWorkspace(ctx).workspaceId, q) };
  }
}
