import type { Permission, Role } from 'src/tenancy/permissions';

export interface OrganisationPrincipal {
  kind: 'organisation';
  tokenId: string;
  tokenName: string;
}

export interface WorkspacePrincipal {
  kind: 'workspace';
  tokenId: string;
  tokenName: string;
  workspaceId: string;
  role: Role;
}

export type Principal = OrganisationPrincipal | WorkspacePrincipal;

/**
 * Who is calling, for which workspace, through which front end. Every service method takes it as its
 * first argument; services never read tenant ids from request bodies.
 */
export interface TenantContext {
  principal: Principal;
  permissions: ReadonlySet<Permission>;
  requestId: string;
  clientIp?: string;
  /** rest | mcp | cli */
  via: 'rest' | 'mcp' | 'cli';
  /** The agent session the request carries (X-OrcaOps-Session, checked and touched by SessionHeaderInterceptor). */
  sessionId?: string;
}

export function hasPermission(ctx: TenantContext, permission: Permission): boolean {
  return ctx.permissions.has(permission);
}

export function actorId(ctx: TenantContext): string {
  return ctx.principal.tokenId;
}
