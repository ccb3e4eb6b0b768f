import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, IsNull } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { notFound } from 'src/common/errors/orcaops.error';
import { TenantContext } from 'src/tenancy/tenant-context';
import { TokenAuthService } from 'src/tenancy/token-auth.service';
import { issueToken } from 'src/tenancy/token-secret';
import { AdminTokenEntity } from 'src/tenancy/entities/admin-token.entity';

export interface AdminTokenView {
  id: string;
  name: string;
  display_prefix: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

const toView = (t: AdminTokenEntity): AdminTokenView => ({
  id: t.id,
  name: t.name,
  display_prefix: t.displayPrefix,
  created_at: t.createdAt.toISOString(),
  expires_at: t.expiresAt?.toISOString() ?? null,
  revoked_at: t.revokedAt?.toISOString() ?? null,
  last_used_at: t.lastUsedAt?.toISOString() ?? null,
});

/** Organisation admin tokens, managed by the operator (`orcaops admin ...`) on the server's host. */
@Injectable()
export class AdminTokensService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly tokenAuth: TokenAuthService,
  ) {}

  async create(ctx: TenantContext, name: string, expiresInDays?: number): Promise<AdminTokenView & { token: string }> {
    const issued = issueToken('org');
    const row = await this.dataSource.transaction(async (manager) => {
      const repository = manager.getRepository(AdminTokenEntity);
      const saved = await repository.save(
        repository.create({
          id: randomUUID(),
          name,
          keyId: issued.keyId,
          secretHash: issued.hash,
          displayPrefix: issued.displayPrefix,
          expiresAt: expiresInDays ? new Date(Date.now() + expiresInDays * 86_400_000) : null,
          revokedAt: null,
          lastUsedAt: null,
        }),
      );
      await this.audit.record(ctx, { action: 'admin_token.create', resourceType: 'admin_token', resourceId: saved.id, details: { name } }, manager);
      return saved;
    });
    return { ...toView(row), token: issued.token };
  }

  async list(): Promise<AdminTokenView[]> {
    const rows = await this.dataSource.getRepository(AdminTokenEntity).find({ order: { createdAt: 'ASC' } });
    return rows.map(toView);
  }

  async revoke(ctx: TenantContext, id: string): Promise<AdminTokenView> {
    const repository = this.dataSource.getRepository(AdminTokenEntity);
    const row = await repository.findOne({ where: { id } });
    if (!row) throw notFound('admin token', id);
    if (!row.revokedAt) {
      row.revokedAt = new Date();
      await this.dataSource.transaction(async (manager) => {
        await manager.getRepository(AdminTokenEntity).update({ id, revokedAt: IsNull() }, { revokedAt: row.revokedAt });
        await this.audit.record(ctx, { action: 'admin_token.revoke', resourceType: 'admin_token', resourceId: id }, manager);
      });
    }
    this.tokenAuth.invalidate(row.keyId);
    return toView(row);
  }
}
