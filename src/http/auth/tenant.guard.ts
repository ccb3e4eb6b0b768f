import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AuthGuard } from '@nestjs/passport';
import { AuditService } from 'src/audit/audit.service';
import { AuthFailureAudit } from 'src/audit/auth-failure-audit';
import { IS_PUBLIC_KEY, PERMISSION_KEY, RequestWithTenant, SCRAPE_TOKEN_KEY } from 'src/tenancy/route-metadata';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import { API_TOKEN_STRATEGY, bearerToken } from 'src/http/auth/api-token.strategy';
import { ScrapeToken } from 'src/http/auth/scrape-token';
import { Permission } from 'src/tenancy/permissions';
import { buildTenantContext } from 'src/tenancy/tenant-context.factory';
import { Principal } from 'src/tenancy/tenant-context';

/**
 * The one global guard. Default deny: a route is reachable only if it is @Public() or declares a
 * permission that the caller's token grants. Failures are audited. The HTTP edge
 * (src/http/edge) has normally verified the token already, before the body was read, and left the
 * principal on the request: then it is not verified twice.
 */
@Injectable()
export class TenantGuard extends AuthGuard(API_TOKEN_STRATEGY) {
  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
    private readonly authFailures: AuthFailureAudit,
    private readonly scrapeToken: ScrapeToken,
  ) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, targets)) return true;
    const request = context.switchToHttp().getRequest<RequestWithTenant>();
    if (this.reflector.get<boolean>(SCRAPE_TOKEN_KEY, context.getHandler())) return this.checkScrapeToken(request);
    const required = this.reflector.getAllAndOverride<Permission | 'authenticated' | undefined>(PERMISSION_KEY, targets);
    if (!required) {
      throw new OrcaOpsError('forbidden', 'This route declares no permission and is denied by default');
    }
    const principal = request.principal ?? (await this.authenticate(context, request));
    const ctx = buildTenantContext(principal, request.id, request.ip, 'rest');
    request.tenant = ctx;
    if (required !== 'authenticated' && !ctx.permissions.has(required)) {
      await this.audit.record(ctx, {
        action: 'auth.forbidden',
        outcome: 'denied',
        details: { required, route: routeOf(request) },
      });
      throw new OrcaOpsError('forbidden', `This token lacks the permission "${required}"`, { required });
    }
    return true;
  }

  /** The scrape route takes only the metrics token; a wrong one is an audited authentication failure. */
  private async checkScrapeToken(request: RequestWithTenant): Promise<boolean> {
    try {
      this.scrapeToken.verify(bearerToken(request.headers.authorization));
      return true;
    } catch (error) {
      if (error instanceof OrcaOpsError && error.code === 'unauthenticated') {
        await this.authFailures.record({ requestId: request.id, clientIp: request.ip, route: routeOf(request), code: error.code, via: 'rest' });
      }
      throw error;
    }
  }

  private async authenticate(context: ExecutionContext, request: RequestWithTenant): Promise<Principal> {
    try {
      await super.canActivate(context);
    } catch (error) {
      await this.authFailures.record({
        requestId: request.id,
        clientIp: request.ip,
        route: routeOf(request),
        code: error instanceof OrcaOpsError ? error.code : 'unauthenticated',
        via: 'rest',
      });
      throw error;
    }
    return request.user as Principal;
  }

  override handleRequest<T>(error: unknown, user: T): T {
    if (error instanceof Error) throw error;
    if (error) throw new OrcaOpsError('unauthenticated', 'Authentication failed');
    if (!user) throw new OrcaOpsError('unauthenticated', 'Missing bearer token');
    return user;
  }
}

export function routeOf(request: FastifyRequest): string {
  return `${request.method} ${request.routeOptions?.url ?? request.url}`;
}

declare module 'fastify' {
  interface FastifyRequest {
    user?: unknown;
    /** Set by the HTTP edge's onRequest hook once the bearer token is verified. */
    principal?: Principal;
  }
}
