import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiExcludeEndpoint, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { idOf } from 'src/common/pipes/resource-id.pipe';
import { CreatePreviewDto } from 'src/sandboxes/previews/dto/preview.dto';
import { PreviewListResponseDto, PreviewResponseDto } from 'src/sandboxes/previews/dto/preview-response.dto';
import { previewRequestOf } from 'src/sandboxes/previews/preview-body';
import { PreviewProxy } from 'src/sandboxes/previews/preview-proxy.service';
import { SIGNED_ROUTE_SEGMENTS, splitPreviewUrl, TOKEN_ROUTE_SEGMENTS } from 'src/sandboxes/previews/preview-url';
import { PREVIEW_LIMITS } from 'src/sandboxes/previews/preview.limits';
import { PreviewsService, type PreviewTarget } from 'src/sandboxes/previews/previews.service';
import { Public, RequirePermission, Tenant, UploadBody } from 'src/tenancy/route-metadata';
import { TenantContext } from 'src/tenancy/tenant-context';

const TOKEN_PATHS = ['ports/:port', 'ports/:port/*'];
const SIGNED_PATHS = [':token', ':token/*'];

/** Streams a proxied request to its target; the reply is hijacked once the sandbox answers. */
async function proxy(proxy: PreviewProxy, target: PreviewTarget, segments: number, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const { headers, body } = previewRequestOf(request);
  const { prefix, path } = splitPreviewUrl(request.raw.url ?? '/', segments);
  await proxy.forward(target, { method: request.raw.method ?? 'GET', path, headers, prefix, body }, reply.raw, () => {
    reply.hijack();
    reply.raw.setHeader('x-request-id', request.id);
  });
}

/**
 * Preview URLs of sandbox ports (docs/sandboxes.md#preview-urls): issue, list, revoke, and the proxy
 * through the caller's token (sandbox:exec: a port is as open to it as an exec of `nc` would be).
 * The proxy handlers are one per verb (HEAD comes with GET) so the route table stays explicit.
 */
@ApiTags('sandboxes')
@ApiBearerAuth()
@Controller('v1/sandboxes/:id')
export class PreviewsController {
  constructor(
    private readonly previews: PreviewsService,
    private readonly proxy: PreviewProxy,
  ) {}

  @Post('previews')
  @RequirePermission('sandbox:exec')
  @ApiOperation({
    operationId: 'createPreview',
    summary: 'Issue a signed, expiring URL that serves a sandbox port to any browser or HTTP client',
    description: 'The URL (shown once) carries an unguessable token; anyone holding it reaches the port until it expires or is revoked. HTTP and WebSocket.',
  })
  create(@Tenant() ctx: TenantContext, @Param('id', idOf('sandbox')) id: string, @Body() dto: CreatePreviewDto): Promise<PreviewResponseDto> {
    return this.previews.issue(ctx, id, dto.port, dto.ttl_seconds);
  }

  @Get('previews')
  @RequirePermission('sandbox:read')
  @ApiOperation({ operationId: 'listPreviews', summary: 'Preview URLs issued for a sandbox (without their secrets), newest first' })
  async list(@Tenant() ctx: TenantContext, @Param('id', idOf('sandbox')) id: string): Promise<PreviewListResponseDto> {
    return { items: await this.previews.list(ctx, id) };
  }

  @Delete('previews/:previewId')
  @RequirePermission('sandbox:exec')
  @ApiOperation({ operationId: 'revokePreview', summary: 'Revoke a preview URL: the next request on it is a 404' })
  revoke(@Tenant() ctx: TenantContext, @Param('id', idOf('sandbox')) id: string, @Param('previewId', idOf('preview')) previewId: string): Promise<PreviewResponseDto> {
    return this.previews.revoke(ctx, id, previewId);
  }

  @Get(TOKEN_PATHS)
  @RequirePermission('sandbox:exec')
  @UploadBody(PREVIEW_LIMITS.uploadMaxBytes)
  @ApiExcludeEndpoint()
  get(@Tenant() ctx: TenantContext, @Param('id', idOf('sandbox')) id: string, @Param('port') port: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.forward(ctx, id, port, request, reply);
  }

  @Post(TOKEN_PATHS)
  @HttpCode(200)
  @RequirePermission('sandbox:exec')
  @UploadBody(PREVIEW_LIMITS.uploadMaxBytes)
  @ApiExcludeEndpoint()
  post(@Tenant() ctx: TenantContext, @Param('id', idOf('sandbox')) id: string, @Param('port') port: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.forward(ctx, id, port, request, reply);
  }

  @Put(TOKEN_PATHS)
  @RequirePermission('sandbox:exec')
  @UploadBody(PREVIEW_LIMITS.uploadMaxBytes)
  @ApiExcludeEndpoint()
  put(@Tenant() ctx: TenantContext, @Param('id', idOf('sandbox')) id: string, @Param('port') port: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.forward(ctx, id, port, request, reply);
  }

  @Patch(TOKEN_PATHS)
  @RequirePermission('sandbox:exec')
  @UploadBody(PREVIEW_LIMITS.uploadMaxBytes)
  @ApiExcludeEndpoint()
  patch(@Tenant() ctx: TenantContext, @Param('id', idOf('sandbox')) id: string, @Param('port') port: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.forward(ctx, id, port, request, reply);
  }

  @Delete(TOKEN_PATHS)
  @RequirePermission('sandbox:exec')
  @UploadBody(PREVIEW_LIMITS.uploadMaxBytes)
  @ApiExcludeEndpoint()
  remove(@Tenant() ctx: TenantContext, @Param('id', idOf('sandbox')) id: string, @Param('port') port: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.forward(ctx, id, port, request, reply);
  }

  private async forward(ctx: TenantContext, id: string, port: string, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    await proxy(this.proxy, await this.previews.resolveForCaller(ctx, id, Number(port)), TOKEN_ROUTE_SEGMENTS, request, reply);
  }
}

/**
 * The signed form: public (the URL is the credential), checked on every request by
 * PreviewsService.resolveSigned (secret, expiry, revocation, live sandbox).
 */
@ApiTags('sandboxes')
@Controller('v1/previews')
export class PreviewGatewayController {
  constructor(
    private readonly previews: PreviewsService,
    private readonly proxy: PreviewProxy,
  ) {}

  @Get(SIGNED_PATHS)
  @Public()
  @UploadBody(PREVIEW_LIMITS.uploadMaxBytes)
  @ApiExcludeEndpoint()
  get(@Param('token') token: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.forward(token, request, reply);
  }

  @Post(SIGNED_PATHS)
  @HttpCode(200)
  @Public()
  @UploadBody(PREVIEW_LIMITS.uploadMaxBytes)
  @ApiExcludeEndpoint()
  post(@Param('token') token: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.forward(token, request, reply);
  }

  @Put(SIGNED_PATHS)
  @Public()
  @UploadBody(PREVIEW_LIMITS.uploadMaxBytes)
  @ApiExcludeEndpoint()
  put(@Param('token') token: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.forward(token, request, reply);
  }

  @Patch(SIGNED_PATHS)
  @Public()
  @UploadBody(PREVIEW_LIMITS.uploadMaxBytes)
  @ApiExcludeEndpoint()
  patch(@Param('token') token: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.forward(token, request, reply);
  }

  @Delete(SIGNED_PATHS)
  @Public()
  @UploadBody(PREVIEW_LIMITS.uploadMaxBytes)
  @ApiExcludeEndpoint()
  remove(@Param('token') token: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.forward(token, request, reply);
  }

  private async forward(token: string, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    await proxy(this.proxy, await this.previews.resolveSigned(token), SIGNED_ROUTE_SEGMENTS, request, reply);
  }
}
