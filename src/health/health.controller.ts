import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from 'src/tenancy/route-metadata';
import { LivenessResponseDto, ReadinessResponseDto } from 'src/health/dto/health-response.dto';
import { HealthService } from 'src/health/health.service';

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get('health')
  @Public()
  @ApiOperation({ operationId: 'health', summary: 'Liveness: the process answers' })
  live(): LivenessResponseDto {
    return { status: 'ok' };
  }

  @Get('ready')
  @Public()
  @ApiOperation({ operationId: 'ready', summary: 'Readiness: database and Docker engine (503 when not ready)' })
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<ReadinessResponseDto> {
    const report = await this.health.readiness();
    if (!report.ready) void reply.status(503).header('retry-after', '5');
    return report;
  }
}
