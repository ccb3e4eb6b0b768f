import type { CallHandler, ExecutionContext } from '@nestjs/common';
import { lastValueFrom, of } from 'rxjs';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import { SessionHeaderInterceptor } from 'src/session-links/session-header.interceptor';
import type { SessionLinks } from 'src/session-links/session-links.service';
import { buildTenantContext } from 'src/tenancy/tenant-context.factory';
import type { Principal, TenantContext } from 'src/tenancy/tenant-context';

const SESSION = '5c1e0000-0000-4000-8000-000000000001';
const workspace: Principal = { kind: 'workspace', tokenId: 't1', tokenName: 'dev', workspaceId: 'ws-1', role: 'developer' };
const organisation: Principal = { kind: 'organisation', tokenId: 'o1', tokenName: 'org' };

function httpContext(headers: Record<string, string>, tenant?: TenantContext): ExecutionContext {
  const request = { headers, tenant };
  return { getType: () => 'http', switchToHttp: () => ({ getRequest: () => request }) } as unknown as ExecutionContext;
}

describe('SessionHeaderInterceptor', () => {
  const handler: CallHandler = { handle: () => of('handled') };
  let touch: jest.Mock;
  let interceptor: SessionHeaderInterceptor;

  beforeEach(() => {
    touch = jest.fn().mockResolvedValue(undefined);
    interceptor = new SessionHeaderInterceptor({ touchThrottled: touch } as unknown as SessionLinks);
  });

  it('touches the session in the caller’s workspace and puts it on the context before the handler', async () => {
    const ctx = buildTenantContext(workspace, 'r1', undefined, 'rest');
    await expect(lastValueFrom(interceptor.intercept(httpContext({ 'x-orcaops-session': SESSION.toUpperCase() }, ctx), handler))).resolves.toBe('handled');
    expect(touch).toHaveBeenCalledWith('ws-1', SESSION.toUpperCase());
    expect(ctx.sessionId).toBe(SESSION);
  });

  it('lets requests without the header (or from organisation tokens) through untouched', async () => {
    const ctx = buildTenantContext(workspace, 'r2', undefined, 'rest');
    await lastValueFrom(interceptor.intercept(httpContext({}, ctx), handler));
    const org = buildTenantContext(organisation, 'r3', undefined, 'rest');
    await lastValueFrom(interceptor.intercept(httpContext({ 'x-orcaops-session': SESSION }, org), handler));
    expect(touch).not.toHaveBeenCalled();
    expect(ctx.sessionId).toBeUndefined();
    expect(org.sessionId).toBeUndefined();
  });

  it('fails the request (before the handler) when the session is not the caller’s', async () => {
    touch.mockRejectedValue(new OrcaOpsError('not_found', 'session x was not found'));
    const handle = jest.fn(() => of('handled'));
    const ctx = buildTenantContext(workspace, 'r4', undefined, 'rest');
    await expect(lastValueFrom(interceptor.intercept(httpContext({ 'x-orcaops-session': SESSION }, ctx), { handle }))).rejects.toMatchObject({ code: 'not_found' });
    expect(handle).not.toHaveBeenCalled();
    expect(ctx.sessionId).toBeUndefined();
  });
});
