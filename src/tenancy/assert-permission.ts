import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import type { Permission } from 'src/tenancy/permissions';
import type { TenantContext } from 'src/tenancy/tenant-context';

/** Services check permissions too: MCP tools and operator commands reach them without the HTTP guard. */
export function assertPermission(ctx: TenantContext, permission: Permission): void {
  if (!ctx.permissions.has(permission)) {
    throw new OrcaOpsError('forbidden', `This token lacks the permission "${permission}"`, { required: permission });
  }
}
