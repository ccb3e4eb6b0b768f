import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiConsumes, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiContentResponse } from 'src/common/decorators/api-content';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import { clientGone, openEventStream, wantsEventStream } from 'src/common/http/event-stream';
import { idOf } from 'src/common/pipes/resource-id.pipe';
import {
  ImageBuildListResponseDto,
  ImageBuildLogQueryDto,
  ImageBuildLogResponseDto,
  ImageBuildResponseDto,
  ListImageBuildsQueryDto,
  StartImageBuildQueryDto,
} from 'src/image-builds/dto/image-build.dto';
import { IMAGE_BUILD_LIMITS } from 'src/image-builds/image-builds.limits';
import { ImageBuildsService } from 'src/image-builds/image-builds.service';
import { CountsAsStream } from 'src/streams/stream-slots';
import { RequirePermission, Tenant, UploadBody } from 'src/tenancy/route-metadata';
import { TenantContext } from 'src/tenancy/tenant-context';

@ApiTags('images')
@ApiBearerAuth()
@Controller('v1/images/builds')
export class ImageBuildsController {
  constructor(private readonly builds: ImageBuildsService) {}

  @Post()
  @HttpCode(202)
  @RequirePermission('image:build')
  @UploadBody(IMAGE_BUILD_LIMITS.contextBytes)
  @ApiConsumes('application/x-tar', 'application/octet-stream')
  @ApiOperation({
    operationId: 'startImageBuild',
    summary: "Build a workspace image from a Dockerfile and its context (uncompressed tar, at most 64 MiB); 202 with the queued build",
    description:
      "The image is named orcaops-ws-<workspace>/<name>:<tag> and only this workspace's jobs, sandboxes, profiles and workflows may use it. " +
      'Base images (FROM, COPY --from) are checked against the policy before anything runs (403 naming the line), then made usable like any ' +
      'image a job names (pull rules, registry credentials) and pinned. RUN steps have no network and bounded CPU, memory and time. ' +
      'Follow the output with getImageBuildLog.',
  })
  start(@Tenant() ctx: TenantContext, @Query() q: StartImageBuildQueryDto, @Body() body: unknown): Promise<ImageBuildResponseDto> {
    if (!Buffer.isBuffer(body)) throw new OrcaOpsError('unsupported_media_type', 'send the build context as an uncompressed tar with Content-Type application/x-tar');
    return this.builds.start(ctx, q, body);
  }

  @Get()
  @RequirePermission('image:read')
  @ApiOperation({ operationId: 'listImageBuilds', summary: "This workspace's image builds, newest first (the succeeded ones are its images)" })
  async list(@Tenant() ctx: TenantContext, @Query() q: ListImageBuildsQueryDto): Promise<ImageBuildListResponseDto> {
    return { items: await this.builds.list(ctx, q) };
  }

  @Get(':buildId')
  @RequirePermission('image:read')
  @ApiOperation({ operationId: 'getImageBuild', summary: 'One image build: status, image, digest, size, error' })
  get(@Tenant() ctx: TenantContext, @Param('buildId', idOf('image build')) id: string): Promise<ImageBuildResponseDto> {
    return this.builds.get(ctx, id);
  }

  @Get(':buildId/log')
  @RequirePermission('image:read')
  @CountsAsStream('event_stream')
  @ApiContentResponse(200, 'The output so far (JSON), or a live event stream', ImageBuildLogResponseDto, {
    'text/event-stream': { kind: 'text', description: 'Server-Sent Events: "output" ({data}; id = characters so far) events, then one "end" event with the build' },
  })
  @ApiOperation({
    operationId: 'getImageBuildLog',
    summary: "An image build's output (secrets masked, capped at 1 MiB): JSON, or a live Server-Sent Events stream until the build ends",
  })
  async log(
    @Tenant() ctx: TenantContext,
    @Param('buildId', idOf('image build')) id: string,
    @Query() q: ImageBuildLogQueryDto,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (!wantsEventStream(request, q.follow)) {
      const body: ImageBuildLogResponseDto = await this.builds.readLog(ctx, id);
      await reply.send(body);
      return;
    }
    await this.builds.get(ctx, id); // a missing build answers 404 before the stream starts
    const header = request.headers['last-event-id'];
    const after = Number(typeof header === 'string' ? header : (q.after ?? 0)) || 0;
    const sse = openEventStream(request, reply);
    try {
      for await (const event of this.builds.streamLog(ctx, id, after, clientGone(reply))) {
        await sse.send(event.event, event.data, event.id);
        if (sse.closed) break;
      }
    } finally {
      sse.end();
    }
  }

  @Delete(':buildId')
  @HttpCode(204)
  @RequirePermission('image:delete')
  @ApiOperation({ operationId: 'deleteImageBuild', summary: "Delete a finished build and remove its image from the engine (409 while a running container uses it)" })
  async remove(@Tenant() ctx: TenantContext, @Param('buildId', idOf('image build')) id: string): Promise<void> {
    await this.builds.remove(ctx, id);
  }
}
