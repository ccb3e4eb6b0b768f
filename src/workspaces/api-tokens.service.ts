import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { notFound, OrcaOpsError } from 'src/common/errors/orcaops.error';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { assertPermission } from 'src/tenancy/assert-permission';
import { TenantContext } from 'src/tenancy/tenant-context';
import { TokenAuthService } from 'src/tenancy/token-auth.service';
import { issueToken } from 'src/tenancy/token-secret';
import { CreateTokenDto, IssuedTokenResponseDto, TokenResponseDto, UpdateTokenDto } from 'src/workspaces/dto/token.dto';
import { ApiTokenEntity } from 'src/tenancy/entities/api-token.entity';
import { WorkspaceLifecycle } from 'src/workspaces/workspace-lifecycle';
import { toIssuedTokenResponse, toTokenResponse } from 'src/workspaces/workspaces.mappers';
import { WorkspacesService } from 'src/workspaces/workspaces.service';

const DAY_MS = 86_400_000;

/** Workspace API tokens: issue (secret shown once), list, rename, revoke, rotate. */
@Injectable()
export class ApiTokensService {
  constructor(
    @InjectScopedRepository(ApiTokenEntity) private readonly tokens: TenantScopedRepository<ApiTokenEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly workspaces: WorkspacesService,
    private readonly audit: AuditService,
    private readonly tokenAuth: TokenAuthService,
    private readonly lifecycle: WorkspaceLifecycle,
  ) {}

  async create(ctx: TenantContext, workspaceId: string, dto: CreateTokenDto): Promise<IssuedTokenResponseDto> {
    assertPermission(ctx, 'token:admin');
    const workspace = await this.workspaces.findAccessible(ctx, workspaceId);
    if (workspace.status === 'archived') {
      throw new OrcaOpsError('conflict', `workspace ${workspaceId} is archived; it cannot get new tokens`);
    }
    const issued = issueToken('ws');
    const row = await this.dataSource.transaction(async (manager) => {
      const saved = await this.tokens.withManager(manager).insert(workspaceId, {
        id: randomUUID(),
        name: dto.name,
        role: dto.role,
        keyId: issued.keyId,
        secretHash: issued.hash,
        displayPrefix: issued.displayPrefix,
        createdBy: ctx.principal.tokenId,
        expiresAt: dto.expires_in_days ? new Date(Date.now() + dto.expires_in_days * DAY_MS) : null,
        revokedAt: null,
        lastUsedAt: null,
      });
      await this.recordEvent(ctx, manager, 'token.create', saved, { name: dto.name, role: dto.role });
      return saved;
    });
    return toIssuedTokenResponse(row, issued.token);
  }

  async list(ctx: TenantContext, workspaceId: string): Promise<TokenResponseDto[]> {
    assertPermission(ctx, 'token:admin');
    await this.workspaces.findAccessible(ctx, workspaceId);
    const rows = await this.tokens.find(workspaceId, { order: { createdAt: 'ASC' } });
    return rows.map(toTokenResponse);
  }

  async get(ctx: TenantContext, workspaceId: string, tokenId: string): Promise<TokenResponseDto> {
    return toTokenResponse(await this.findToken(ctx, workspaceId, tokenId));
  }

  async update(ctx: TenantContext, workspaceId: string, tokenId: string, dto: UpdateTokenDto): Promise<TokenResponseDto> {
    const token = await this.findToken(ctx, workspaceId, tokenId);
    if (dto.name !== undefined) token.name = dto.name;
    if (dto.role !== undefined) token.role = dto.role;
    const saved = await this.dataSource.transaction(async (manager) => {
      await this.tokens.withManager(manager).update(workspaceId, { id: tokenId }, { name: token.name, role: token.role });
      await this.recordEvent(ctx, manager, 'token.update', token, { ...dto });
      return token;
    });
    this.tokenAuth.invalidate(token.keyId);
    return toTokenResponse(saved);
  }

  /** Revocation is a timestamp, not a delete: the audit trail keeps naming the token. */
  async revoke(ctx: TenantContext, workspaceId: string, tokenId: string): Promise<TokenResponseDto> {
    const token = await this.findToken(ctx, workspaceId, tokenId);
    const revokedNow = !token.revokedAt;
    if (!token.revokedAt) {
      token.revokedAt = new Date();
      await this.dataSource.transaction(async (manager) => {
        await this.tokens.withManager(manager).update(workspaceId, { id: tokenId }, { revokedAt: token.revokedAt });
        await this.recordEvent(ctx, manager, 'token.revoke', token, {});
      });
    }
    this.tokenAuth.invalidate(token.keyId);
    // What the token started stops with it (docs/security.md, "Revoked tokens"): a leaked token's runs do not go on.
    if (revokedNow) await this.lifecycle.emit({ kind: 'token_revoked', workspaceId, tokenId, actor: ctx });
    return toTokenResponse(token);
  }

  /** A new secret for the same token (same id, name and role); the old secret stops working at once. */
  async rotate(ctx: TenantContext, workspaceId: string, tokenId: string): Promise<IssuedTokenResponseDto> {
    const token = await this.findToken(ctx, workspaceId, tokenId);
    if (token.revokedAt) throw new OrcaOpsError('conflict', `token ${tokenId} is revoked; create a new one`);
    const oldKeyId = token.keyId;
    const issued = issueToken('ws');
    Object.assign(token, { keyId: issued.keyId, secretHash: issued.hash, displayPrefix: issued.displayPrefix });
    await this.dataSource.transaction(async (manager) => {
      await this.tokens
        .withManager(manager)
        .update(workspaceId, { id: tokenId }, { keyId: issued.keyId, secretHash: issued.hash, displayPrefix: issued.displayPrefix });
      await this.recordEvent(ctx, manager, 'token.rotate', token, {});
    });
    this.tokenAuth.invalidate(oldKeyId);
    return toIssuedTokenResponse(token, issued.token);
  }

  private async findToken(ctx: TenantContext, workspaceId: string, tokenId: string): Promise<ApiTokenEntity> {
    assertPermission(ctx, 'token:admin');
    await this.workspaces.findAccessible(ctx, workspaceId);
    const token = await this.tokens.findOne(workspaceId, { id: tokenId });
    if (!token) throw notFound('token', tokenId);
    return token;
  }

  private recordEvent(
    ctx: TenantContext,
    manager: EntityManager,
    action: string,
    token: ApiTokenEntity,
    details: Record<string, unknown>,
  ): Promise<void> {
    return this.audit.record(
      ctx,
      { action, resourceType: 'token', resourceId: token.id, workspaceId: token.workspaceId, details },
      manager,
    );
  }
}
