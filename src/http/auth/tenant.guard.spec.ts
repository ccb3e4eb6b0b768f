import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { AuditService } from 'src/audit/audit.service';
import type { AuthFailureAudit } from 'src/audit/auth-failure-audit';
import { Public } from 'src/tenancy/route-metadata';
import { TenantGuard } from 'src/http/auth/tenant.guard';
import { ScrapeToken } from 'src/http/auth/scrape-token';

class Routes {
  undeclared(): void {}

  @Public()
  open(): void {}
}

function contextFor(handler: keyof Routes): ExecutionContext {
  const request = { id: 'req-1', method: 'GET', url: '/x', headers: {} };
  return {
    getHandler: () => Routes.prototype[handler],
    getClass: () => Routes,
    switchToHttp: () => ({ getRequest: () => request }),
  } as unknown as ExecutionContext;
}

describe('TenantGuard', () => {
  const audit = { record: jest.fn(), recordAnonymous: jest.fn() };
  const authFailures = { record: jest.fn() };
  const guard = new TenantGuard(new Reflector(), audit as unknown as AuditService, authFailures as unknown as AuthFailureAudit, new ScrapeToken({ scrapeToken: undefined }));

  it('should deny a route that declares nothing, before looking at any token', async () => {
    await expect(guard.canActivate(contextFor('undeclared'))).rejects.toMatchObject({ code: 'forbidden' });
    expect(audit.recordAnonymous).not.toHaveBeenCalled();
  });

  it('should let a @Public() route through without authentication', async () => {
    await expect(guard.canActivate(contextFor('open'))).resolves.toBe(true);
  });
});
