import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { SecretBox } from 'src/common/crypto/secret-box';
import { invalidField, notFound } from 'src/common/errors/orcaops.error';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { RegistryCredentialEntity } from 'src/registries/entities/registry-credential.entity';
import { parseImageReference } from 'src/runtime/image-reference';
import type { RegistryAuth } from 'src/runtime/container-runtime.port';
import { assertPermission } from 'src/tenancy/assert-permission';
import { requireWorkspace } from 'src/tenancy/tenant-context.factory';
import { TenantContext } from 'src/tenancy/tenant-context';

export interface RegistryCredentialView {
  id: string;
  host: string;
  username: string;
  created_by: string;
  created_at: string;
  updated_at: string;
}

/** The host as image references name it (`index.docker.io` → `docker.io`, lower case); refuses anything else. */
export function normaliseRegistryHost(host: string): string {
  const trimmed = host.trim().replace(/^https?:\/\//, '').replace(/\/+$/, '').toLowerCase();
  const invalid = invalidField('host', `"${host}" is not a registry host (e.g. ghcr.io, registry.example.com:5000)`);
  if (!trimmed || trimmed.includes('/')) throw invalid;
  try {
    // Parsed as the host of a reference (index.docker.io → docker.io); a bare word would be a Hub namespace.
    const ref = parseImageReference(`${trimmed}/app`);
    if (ref.explicitRegistry) return ref.registry;
  } catch {
    // falls through to the refusal
  }
  throw invalid;
}

/**
 * A workspace's registry credentials: write-only (password sealed with SecretBox; responses, logs and
 * audit records carry host and username only), scoped to one registry host, opened only for that
 * workspace's pulls from that host.
 */
@Injectable()
export class RegistryCredentialsService {
  constructor(
    @InjectScopedRepository(RegistryCredentialEntity) private readonly credentials: TenantScopedRepository<RegistryCredentialEntity>,
    private readonly audit: AuditService,
    @InjectDataSource() private readonly dataSource: DataSource,
    // The process's one box (SecretBoxModule), shared with src/secrets.
    private readonly box: SecretBox,
  ) {}

  /** Creates or replaces the workspace's credentials for `host`. */
  async put(ctx: TenantContext, input: { host: string; username: string; password: string }): Promise<RegistryCredentialView> {
    assertPermission(ctx, 'workspace:admin');
    const { workspaceId } = requireWorkspace(ctx);
    const host = normaliseRegistryHost(input.host);
    const sealedPassword = this.box.seal(input.password, sealContext(workspaceId, host));
    const existing = await this.credentials.findOne(workspaceId, { host });
    let row: RegistryCredentialEntity;
    if (existing) {
      await this.credentials.update(workspaceId, { id: existing.id }, { username: input.username, sealedPassword, createdBy: ctx.principal.tokenId });
      row = (await this.credentials.findOne(workspaceId, { id: existing.id }))!;
    } else {
      row = await this.credentials.insert(workspaceId, { id: randomUUID(), host, username: input.username, sealedPassword, createdBy: ctx.principal.tokenId });
    }
    await this.audit.record(ctx, { action: existing ? 'registry_credential.update' : 'registry_credential.create', resourceType: 'registry_credential', resourceId: row.id, details: { host, username: input.username } });
    return view(row);
  }

  async list(ctx: TenantContext): Promise<RegistryCredentialView[]> {
    assertPermission(ctx, 'workspace:admin');
    const { workspaceId } = requireWorkspace(ctx);
    return (await this.credentials.find(workspaceId, { order: { host: 'ASC' }, take: 500 })).map(view);
  }

  async remove(ctx: TenantContext, id: string): Promise<void> {
    assertPermission(ctx, 'workspace:admin');
    const { workspaceId } = requireWorkspace(ctx);
    const row = await this.credentials.findOne(workspaceId, { id });
    if (!row) throw notFound('registry credential', id);
    await this.credentials.delete(workspaceId, { id });
    await this.audit.record(ctx, { action: 'registry_credential.delete', resourceType: 'registry_credential', resourceId: id, details: { host: row.host } });
  }

  /**
   * Key rotation (admin rotate-secrets-key): re-seals every credential not yet under `next`'s key
   * (including the pre-unification form), in one transaction through the scoped repository.
   */
  async reseal(workspaceIds: string[], next: SecretBox): Promise<number> {
    const keyId = next.primaryKeyId;
    return this.dataSource.transaction(async (manager) => {
      const scoped = this.credentials.withManager(manager);
      let count = 0;
      for (const workspaceId of workspaceIds) {
        for (const row of await scoped.find(workspaceId)) {
          if (SecretBox.keyIdOfSealed(row.sealedPassword) === keyId) continue;
          const context = sealContext(workspaceId, row.host);
          await scoped.update(workspaceId, { id: row.id }, { sealedPassword: next.seal(this.box.open(row.sealedPassword, context), context) });
          count++;
        }
      }
      return count;
    });
  }

  /** For the puller only: the workspace's credentials for `host` (undefined: pull anonymously). */
  async authFor(workspaceId: string, host: string): Promise<{ id: string; auth: RegistryAuth } | undefined> {
    const row = await this.credentials.findOne(workspaceId, { host: host.toLowerCase() });
    if (!row) return undefined;
    const password = this.box.open(row.sealedPassword, sealContext(workspaceId, row.host));
    return { id: row.id, auth: { username: row.username, password, serveraddress: row.host } };
  }
}

function sealContext(workspaceId: string, host: string): string {
  return `registry_credential:${workspaceId}:${host}`;
}

function view(row: RegistryCredentialEntity): RegistryCredentialView {
  return {
    id: row.id,
    host: row.host,
    username: row.username,
    created_by: row.createdBy,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}
