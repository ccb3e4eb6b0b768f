import type { IssuedTokenResponseDto, TokenResponseDto } from 'src/workspaces/dto/token.dto';
import type { WorkspaceResponseDto } from 'src/workspaces/dto/workspace.dto';
import type { ApiTokenEntity } from 'src/tenancy/entities/api-token.entity';
import type { WorkspaceEntity } from 'src/tenancy/entities/workspace.entity';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function toWorkspaceResponse(w: WorkspaceEntity): WorkspaceResponseDto {
  return {
    id: w.id,
    name: w.name,
    status: w.status,
    settings: w.settings,
    created_at: w.createdAt.toISOString(),
    updated_at: w.updatedAt.toISOString(),
    archived_at: iso(w.archivedAt),
  };
}

export function tokenState(t: Pick<ApiTokenEntity, 'revokedAt' | 'expiresAt'>, now = Date.now()): string {
  if (t.revokedAt) return 'revoked';
  if (t.expiresAt && t.expiresAt.getTime() <= now) return 'expired';
  return 'active';
}

export function toTokenResponse(t: ApiTokenEntity): TokenResponseDto {
  return {
    id: t.id,
    workspace_id: t.workspaceId,
    name: t.name,
    role: t.role,
    display_prefix: t.displayPrefix,
    created_at: t.createdAt.toISOString(),
    expires_at: iso(t.expiresAt),
    revoked_at: iso(t.revokedAt),
    last_used_at: iso(t.lastUsedAt),
    state: tokenState(t),
  };
}

export function toIssuedTokenResponse(t: ApiTokenEntity, token: string): IssuedTokenResponseDto {
  return { ...toTokenResponse(t), token };
}
