import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { from, Observable, switchMap } from 'rxjs';
import type { RequestWithTenant } from 'src/tenancy/route-metadata';
import { SESSION_HEADER } from 'src/session-links/session-model';
import { SessionLinks } from 'src/session-links/session-links.service';

/**
 * A request carrying `X-OrcaOps-Session` touches that session (it is not idle) after the guard has
 * authenticated it. An unknown or other workspace's session is a 404 before the handler runs. The id
 * is put on the TenantContext, so services and audit rows (AuditService.record) see the session.
 * An ended session is still accepted here (it can be viewed); creating work in it is refused later.
 * Touches are throttled per process (SessionLinks.touchThrottled): interactive calls such as shell
 * commands carrying the header pay for one database write per second at most, not one per request.
 */
@Injectable()
export class SessionHeaderInterceptor implements NestInterceptor {
  constructor(private readonly links: SessionLinks) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const request = context.switchToHttp().getRequest<RequestWithTenant>();
    const header = request.headers?.[SESSION_HEADER];
    const ctx = request.tenant;
    if (typeof header !== 'string' || !header || !ctx || ctx.principal.kind !== 'workspace') return next.handle();
    const workspaceId = ctx.principal.workspaceId;
    return from(this.links.touchThrottled(workspaceId, header)).pipe(
      switchMap(() => {
        ctx.sessionId = header.toLowerCase();
        return next.handle();
      }),
    );
  }
}
