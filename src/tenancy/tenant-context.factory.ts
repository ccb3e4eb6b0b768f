import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import { ALL_PERMISSIONS, ROLE_PERMISSIONS } from 'src/tenancy/permissions';
import type { Principal, TenantContext, WorkspacePrincipal } from 'src/tenancy/tenant-context';

export function buildTenantContext(
  principal: Principal,
  requestId: string,
  clientIp: string | undefined,
  via: TenantContext['via'],
): TenantContext {
  const permissions = principal.kind === 'organisation' ? ALL_PERMISSIONS : ROLE_PERMISSIONS[principal.role];
  return { principal, permissions, requestId, clientIp, via };
}

/** Work (jobs, sandboxes, workflows) belongs to a workspace: only workspace tokens may create it. */
export function requireWorkspace(ctx: TenantContext): WorkspacePrincipal {
  if (ctx.principal.kind !== 'workspace') {
    throw new OrcaOpsError(
      'workspace_token_required',
      'This operation acts inside a workspace; use a workspace token (orcaops tokens create)',
    );
  }
  return ctx.principal;
}
