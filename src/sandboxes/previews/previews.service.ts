import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { randomUUID } from 'node:crypto';
import { IsNull, MoreThan } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { invalidField, notFound, OrcaOpsError } from 'src/common/errors/orcaops.error';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import type { LiveSandbox } from 'src/sandboxes/live-sandbox';
import { formatPreviewToken, hashPreviewSecret, mintPreviewSecret, parsePreviewToken, secretMatches } from 'src/sandboxes/previews/preview-token';
import { PREVIEW_LIMITS } from 'src/sandboxes/previews/preview.limits';
import { SandboxPreviewEntity } from 'src/sandboxes/previews/sandbox-preview.entity';
import { sandboxesConfig } from 'src/sandboxes/sandboxes.config';
import { SandboxesService } from 'src/sandboxes/sandboxes.service';
import { TenantContext } from 'src/tenancy/tenant-context';
import { requireWorkspace } from 'src/tenancy/tenant-context.factory';

/** Where the public preview route lives; the token is the next path segment. */
export const PREVIEW_PATH_PREFIX = '/v1/previews/';

export interface PreviewView {
  id: string;
  sandbox_id: string;
  port: number;
  expires_at: string;
  revoked_at: string | null;
  created_at: string;
  /** Only when issued: the URL is not stored and cannot be shown again. */
  url?: string;
  path?: string;
}

/** What a proxied request reaches: a live sandbox's port. */
export interface PreviewTarget {
  live: LiveSandbox;
  port: number;
}

export function assertPort(port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalidField('port', 'must be an integer from 1 to 65535');
}

function toView(row: SandboxPreviewEntity): PreviewView {
  return {
    id: row.id,
    sandbox_id: row.sandboxId,
    port: row.port,
    expires_at: row.expiresAt.toISOString(),
    revoked_at: row.revokedAt?.toISOString() ?? null,
    created_at: row.createdAt.toISOString(),
  };
}

/**
 * Signed preview URLs of sandbox ports: issue, list, revoke (audited), and the check every request on
 * a signed URL goes through (secret, expiry, revocation, live sandbox), which the proxy calls.
 */
@Injectable()
export class PreviewsService {
  constructor(
    @InjectScopedRepository(SandboxPreviewEntity) private readonly previews: TenantScopedRepository<SandboxPreviewEntity>,
    private readonly sandboxes: SandboxesService,
    private readonly audit: AuditService,
    @Inject(sandboxesConfig.KEY) private readonly config: ConfigType<typeof sandboxesConfig>,
  ) {}

  async issue(ctx: TenantContext, sandboxId: string, port: number, ttlSeconds: number = PREVIEW_LIMITS.defaultTtlSeconds): Promise<PreviewView> {
    assertPort(port);
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > PREVIEW_LIMITS.maxTtlSeconds) {
      throw invalidField('ttl_seconds', `must be an integer from 1 to ${PREVIEW_LIMITS.maxTtlSeconds}`);
    }
    const live = await this.sandboxes.requireLive(ctx, sandboxId, 'sandbox:exec');
    const now = new Date();
    const active = await this.previews.count(live.workspaceId, { sandboxId, revokedAt: IsNull(), expiresAt: MoreThan(now) });
    if (active >= PREVIEW_LIMITS.livePerSandbox) {
      throw new OrcaOpsError('conflict', `sandbox ${sandboxId} already has ${active} live preview URLs (the limit); revoke one first`, { limit: PREVIEW_LIMITS.livePerSandbox });
    }
    const secret = mintPreviewSecret();
    const row = await this.previews.insert(live.workspaceId, {
      id: randomUUID(),
      sandboxId,
      port,
      secretHash: hashPreviewSecret(secret),
      expiresAt: new Date(now.getTime() + ttlSeconds * 1000),
      revokedAt: null,
      createdBy: ctx.principal.tokenId,
    });
    await this.audit.record(ctx, { action: 'sandbox.preview.issue', resourceType: 'sandbox', resourceId: sandboxId, details: { preview_id: row.id, port, ttl_seconds: ttlSeconds } });
    const path = `${PREVIEW_PATH_PREFIX}${formatPreviewToken({ workspaceId: live.workspaceId, previewId: row.id, secret })}/`;
    return { ...toView(row), path, url: `${this.config.publicUrl}${path}` };
  }

  async list(ctx: TenantContext, sandboxId: string): Promise<PreviewView[]> {
    const { workspaceId } = requireWorkspace(ctx);
    await this.sandboxes.assertAccess(ctx, sandboxId, 'sandbox:read');
    const rows = await this.previews.find(workspaceId, { where: { sandboxId }, order: { createdAt: 'DESC' }, take: 200 });
    return rows.map(toView);
  }

  /** Revoked at once: the next request on the URL (and every open connection's next one) is refused. */
  async revoke(ctx: TenantContext, sandboxId: string, previewId: string): Promise<PreviewView> {
    const { workspaceId } = requireWorkspace(ctx);
    await this.sandboxes.assertAccess(ctx, sandboxId, 'sandbox:exec');
    const row = await this.previews.findOne(workspaceId, { id: previewId, sandboxId });
    if (!row) throw notFound('preview', previewId);
    if (!row.revokedAt) {
      row.revokedAt = new Date();
      await this.previews.update(workspaceId, { id: previewId }, { revokedAt: row.revokedAt });
      await this.audit.record(ctx, { action: 'sandbox.preview.revoke', resourceType: 'sandbox', resourceId: sandboxId, details: { preview_id: previewId, port: row.port } });
    }
    return toView(row);
  }

  /**
   * The check of a signed URL, on every request: an unknown, mangled or revoked token is a 404 (the
   * same answer: nothing tells a guesser which); an expired one is a 401 saying so.
   */
  async resolveSigned(token: string): Promise<PreviewTarget & { previewId: string }> {
    const parsed = parsePreviewToken(token);
    const missing = new OrcaOpsError('not_found', 'preview URL not found (unknown or revoked)', { resource: 'preview' });
    if (!parsed) throw missing;
    const row = await this.previews.findOne(parsed.workspaceId, { id: parsed.previewId });
    if (!row || !secretMatches(parsed.secret, row.secretHash) || row.revokedAt) throw missing;
    if (row.expiresAt.getTime() <= Date.now()) {
      throw new OrcaOpsError('unauthenticated', `this preview URL expired at ${row.expiresAt.toISOString()}; issue a new one`, { expired_at: row.expiresAt.toISOString() });
    }
    return { live: await this.sandboxes.requireLiveIn(parsed.workspaceId, row.sandboxId), port: row.port, previewId: row.id };
  }

  /** The token route: the caller's token needs sandbox:exec on the sandbox. */
  async resolveForCaller(ctx: TenantContext, sandboxId: string, port: number): Promise<PreviewTarget> {
    assertPort(port);
    return { live: await this.sandboxes.requireLive(ctx, sandboxId, 'sandbox:exec'), port };
  }
}
