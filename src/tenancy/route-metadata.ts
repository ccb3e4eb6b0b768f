import type { ExecutionContext} from '@nestjs/common';
import { createParamDecorator, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Permission } from 'src/tenancy/permissions';
import type { TenantContext } from 'src/tenancy/tenant-context';

export const IS_PUBLIC_KEY = 'orcaops:public';
export const PERMISSION_KEY = 'orcaops:permission';
export const UPLOAD_BODY_KEY = 'orcaops:upload-body';
export const SCRAPE_TOKEN_KEY = 'orcaops:scrape-token';

/** The only opt-out of authentication (health, docs). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC_KEY, true);

/**
 * The Prometheus scrape route: it takes the metrics token (ORCAOPS_METRICS_TOKEN), not an API token,
 * and does not exist (404) while no metrics token is configured. No API token reaches it.
 */
export const ScrapeTokenRoute = (): MethodDecorator => SetMetadata(SCRAPE_TOKEN_KEY, true);

/** Every non-public route declares the permission it needs; the guard denies routes that do not. */
export const RequirePermission = (permission: Permission | 'authenticated'): MethodDecorator =>
  SetMetadata(PERMISSION_KEY, permission);

/**
 * A raw upload route (application/octet-stream, application/x-tar): the HTTP edge accepts a body of up
 * to `maxBytes` within ORCAOPS_UPLOAD_TIMEOUT_MS. Every other route takes JSON within ORCAOPS_MAX_BODY_BYTES.
 */
export const UploadBody = (maxBytes: number): MethodDecorator => SetMetadata(UPLOAD_BODY_KEY, maxBytes);

export interface RequestWithTenant extends FastifyRequest {
  tenant?: TenantContext;
}

/** The authenticated caller's context, set by the global guard. */
export const Tenant = createParamDecorator((_data: unknown, ctx: ExecutionContext): TenantContext => {
  const request = ctx.switchToHttp().getRequest<RequestWithTenant>();
  if (!request.tenant) throw new Error('Tenant context missing: route is public or guard did not run');
  return request.tenant;
});
