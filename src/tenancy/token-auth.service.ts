import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, Repository } from 'typeorm';
import { authConfig } from 'src/config/orcaops.config';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import { hashesEqual, hashToken, parseToken } from 'src/tenancy/token-secret';
import { Principal } from 'src/tenancy/tenant-context';
import { ApiTokenEntity } from 'src/tenancy/entities/api-token.entity';
import { AdminTokenEntity } from 'src/tenancy/entities/admin-token.entity';
import { WorkspaceStatus } from 'src/tenancy/entities/workspace.entity';

interface CachedCredential {
  hash: Buffer;
  principal: Principal;
  expiresAt: Date | null;
  revoked: boolean;
  workspaceStatus: WorkspaceStatus | null;
  lastUsedAt: number;
  cachedAt: number;
}

// Revocation is also applied to the cache at once in this process; other processes see it within this TTL.
const CACHE_TTL_MS = 5_000;
const LAST_USED_RESOLUTION_MS = 60_000;
const ENV_ADMIN_TOKEN_ID = '00000000-0000-0000-0000-000000000000';

/**
 * Turns a presented bearer token into a principal: parse → indexed lookup by key id → SHA-256 →
 * constant-time compare → expiry, revocation and workspace status. The only code that reads tokens
 * without a workspace scope (it is what establishes the scope).
 */
@Injectable()
export class TokenAuthService {
  private readonly logger = new Logger('TokenAuth');
  private readonly cache = new Map<string, CachedCredential>();
  private readonly envAdminHash?: Buffer;

  constructor(
    @InjectRepository(ApiTokenEntity) private readonly apiTokens: Repository<ApiTokenEntity>,
    @InjectRepository(AdminTokenEntity) private readonly adminTokens: Repository<AdminTokenEntity>,
    @Inject(authConfig.KEY) config: ConfigType<typeof authConfig>,
  ) {
    if (config.adminToken) this.envAdminHash = hashToken(config.adminToken);
  }

  async authenticate(presented: string | undefined): Promise<Principal> {
    if (!presented) throw new OrcaOpsError('unauthenticated', 'Missing bearer token (Authorization: Bearer <token>)');
    const hash = hashToken(presented);
    if (this.envAdminHash && hashesEqual(hash, this.envAdminHash)) {
      return { kind: 'organisation', tokenId: ENV_ADMIN_TOKEN_ID, tokenName: 'ORCAOPS_ADMIN_TOKEN' };
    }
    const parsed = parseToken(presented);
    if (!parsed) throw this.invalid();
    const credential = await this.lookup(parsed.kind, parsed.keyId);
    if (!credential || !hashesEqual(hash, credential.hash)) throw this.invalid();
    if (credential.revoked) throw this.invalid();
    if (credential.expiresAt && credential.expiresAt.getTime() <= Date.now()) throw this.invalid();
    if (credential.workspaceStatus === 'suspended') {
      throw new OrcaOpsError('workspace_suspended', 'This workspace is suspended; its tokens cannot be used');
    }
    if (credential.workspaceStatus === 'archived') {
      throw new OrcaOpsError('workspace_archived', 'This workspace is archived; its tokens cannot be used');
    }
    this.touch(parsed.kind, credential);
    return credential.principal;
  }

  /** Forget cached credentials (after revoke, rotate or a workspace status change). */
  invalidate(keyId?: string): void {
    if (keyId) this.cache.delete(keyId);
    else this.cache.clear();
  }

  private invalid(): OrcaOpsError {
    return new OrcaOpsError('unauthenticated', 'Invalid, expired or revoked token');
  }

  private async lookup(kind: 'ws' | 'org', keyId: string): Promise<CachedCredential | undefined> {
    const cached = this.cache.get(keyId);
    if (cached && Date.now() - cached.cachedAt < CACHE_TTL_MS) return cached;
    const fresh = kind === 'ws' ? await this.loadWorkspaceToken(keyId) : await this.loadAdminToken(keyId);
    if (fresh) this.cache.set(keyId, fresh);
    else this.cache.delete(keyId);
    return fresh;
  }

  private async loadWorkspaceToken(keyId: string): Promise<CachedCredential | undefined> {
    const row = await this.apiTokens.findOne({ where: { keyId }, relations: { workspace: true } });
    if (!row?.workspace) return undefined;
    return {
      hash: row.secretHash,
      principal: { kind: 'workspace', tokenId: row.id, tokenName: row.name, workspaceId: row.workspaceId, role: row.role },
      expiresAt: row.expiresAt,
      revoked: row.revokedAt !== null,
      workspaceStatus: row.workspace.status,
      lastUsedAt: row.lastUsedAt?.getTime() ?? 0,
      cachedAt: Date.now(),
    };
  }

  private async loadAdminToken(keyId: string): Promise<CachedCredential | undefined> {
    const row = await this.adminTokens.findOne({ where: { keyId } });
    if (!row) return undefined;
    return {
      hash: row.secretHash,
      principal: { kind: 'organisation', tokenId: row.id, tokenName: row.name },
      expiresAt: row.expiresAt,
      revoked: row.revokedAt !== null,
      workspaceStatus: null,
      lastUsedAt: row.lastUsedAt?.getTime() ?? 0,
      cachedAt: Date.now(),
    };
  }

  /** last_used_at at one-minute resolution, off the request's critical path. */
  private touch(kind: 'ws' | 'org', credential: CachedCredential): void {
    const now = Date.now();
    if (now - credential.lastUsedAt < LAST_USED_RESOLUTION_MS) return;
    credential.lastUsedAt = now;
    const repository = kind === 'ws' ? this.apiTokens : this.adminTokens;
    repository
      .update({ id: credential.principal.tokenId, revokedAt: IsNull() }, { lastUsedAt: new Date(now) })
      .catch((error: unknown) => this.logger.warn({ msg: 'last_used_at update failed', err: String(error) }));
  }
}
