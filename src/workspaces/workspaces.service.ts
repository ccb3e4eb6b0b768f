import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, Repository } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { notFound, OrcaOpsError } from 'src/common/errors/orcaops.error';
import { LEGACY_SETTING_QUOTAS, LegacyQuotaSetting } from 'src/quotas/quota-model';
import { QuotasService } from 'src/quotas/quotas.service';
import { assertPermission } from 'src/tenancy/assert-permission';
import { hasPermission, TenantContext } from 'src/tenancy/tenant-context';
import { TokenAuthService } from 'src/tenancy/token-auth.service';
import { CreateWorkspaceDto, UpdateWorkspaceDto, WorkspaceResponseDto, WorkspaceSettingsDto } from 'src/workspaces/dto/workspace.dto';
import { WorkspaceEntity, WorkspaceStatus } from 'src/tenancy/entities/workspace.entity';
import { WorkspaceLifecycle } from 'src/workspaces/workspace-lifecycle';
import { toWorkspaceResponse } from 'src/workspaces/workspaces.mappers';

/** Settings only an organisation admin may change (limits and policy). */
const ORG_ADMIN_SETTINGS = ['allow_network_egress', 'max_concurrent_jobs', 'max_sandboxes', 'max_sandbox_seconds_per_day'] as const;

/**
 * Splits the pre-quota limit keys off the settings: they are still accepted here, but stored as quota
 * overrides (quota_limits is the one place limits live), not in the settings column.
 */
function splitLegacyLimits(settings: WorkspaceSettingsDto | undefined): { settings?: WorkspaceSettingsDto; limits: Partial<Record<LegacyQuotaSetting, number | null>> } {
  if (!settings) return { limits: {} };
  const rest: Record<string, unknown> = { ...settings };
  const limits: Partial<Record<LegacyQuotaSetting, number | null>> = {};
  for (const key of Object.keys(LEGACY_SETTING_QUOTAS) as LegacyQuotaSetting[]) {
    if (rest[key] !== undefined) limits[key] = rest[key] as number | null;
    delete rest[key];
  }
  return { settings: rest, limits };
}

/**
 * Workspaces are the tenants. Organisation admins see every workspace; a workspace token sees only
 * its own, and any other id answers 404 exactly like a missing one.
 */
@Injectable()
export class WorkspacesService {
  constructor(
    @InjectRepository(WorkspaceEntity) private readonly workspaces: Repository<WorkspaceEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly tokenAuth: TokenAuthService,
    private readonly quotas: QuotasService,
    private readonly lifecycle: WorkspaceLifecycle,
  ) {}

  /** The workspace `id` if the caller may see it, else not_found. Used by every workspace-scoped route. */
  async findAccessible(ctx: TenantContext, id: string): Promise<WorkspaceEntity> {
    if (ctx.principal.kind === 'workspace' && ctx.principal.workspaceId !== id) throw notFound('workspace', id);
    const workspace = await this.workspaces.findOne({ where: { id } });
    if (!workspace) throw notFound('workspace', id);
    return workspace;
  }

  /** Whether the workspace's network egress grant is on (read fresh: policy admission on every job); not_found like findAccessible. */
  async egressGranted(ctx: TenantContext, id: string): Promise<boolean> {
    if (ctx.principal.kind === 'workspace' && ctx.principal.workspaceId !== id) throw notFound('workspace', id);
    return this.egressGrantedById(id);
  }

  /** The same for server-side work that already owns the workspace (the egress gateway deciding a running job's connection). */
  async egressGrantedById(id: string): Promise<boolean> {
    const rows: Array<{ granted: boolean }> = await this.dataSource.query(
      `SELECT COALESCE(settings->'allow_network_egress' = 'true'::jsonb, false) AS granted FROM workspaces WHERE id = $1`,
      [id],
    );
    if (!rows[0]) throw notFound('workspace', id);
    return rows[0].granted;
  }

  async create(ctx: TenantContext, dto: CreateWorkspaceDto): Promise<WorkspaceResponseDto> {
    assertPermission(ctx, 'org:admin');
    const { settings, limits } = splitLegacyLimits(dto.settings);
    const workspace = await this.dataSource.transaction(async (manager) => {
      const created = await manager.getRepository(WorkspaceEntity).save(
        manager.getRepository(WorkspaceEntity).create({
          id: randomUUID(),
          name: dto.name,
          status: 'active',
          settings: { ...settings },
          archivedAt: null,
        }),
      );
      await this.quotas.applyLegacySettings(manager, ctx, created.id, limits);
      await this.audit.record(
        ctx,
        { action: 'workspace.create', resourceType: 'workspace', resourceId: created.id, workspaceId: created.id, details: { name: dto.name } },
        manager,
      );
      return created;
    });
    return toWorkspaceResponse(workspace);
  }

  async list(ctx: TenantContext): Promise<WorkspaceResponseDto[]> {
    assertPermission(ctx, 'workspace:read');
    const where = ctx.principal.kind === 'workspace' ? { id: ctx.principal.workspaceId } : {};
    const rows = await this.workspaces.find({ where, order: { createdAt: 'ASC' } });
    return rows.map(toWorkspaceResponse);
  }

  async get(ctx: TenantContext, id: string): Promise<WorkspaceResponseDto> {
    assertPermission(ctx, 'workspace:read');
    return toWorkspaceResponse(await this.findAccessible(ctx, id));
  }

  async update(ctx: TenantContext, id: string, dto: UpdateWorkspaceDto): Promise<WorkspaceResponseDto> {
    assertPermission(ctx, 'workspace:admin');
    const workspace = await this.findAccessible(ctx, id);
    if (dto.status !== undefined) await this.assertOrgAdmin(ctx, id, 'status');
    if (ORG_ADMIN_SETTINGS.some((key) => dto.settings?.[key] !== undefined)) await this.assertOrgAdmin(ctx, id, 'settings');
    if (workspace.status === 'archived') {
      throw new OrcaOpsError('conflict', `workspace ${id} is archived and can no longer change`);
    }
    const changes: Record<string, unknown> = {};
    const { settings, limits } = splitLegacyLimits(dto.settings);
    if (dto.name !== undefined) workspace.name = changes.name = dto.name;
    if (settings !== undefined) workspace.settings = { ...workspace.settings, ...settings };
    if (dto.settings !== undefined) changes.settings = dto.settings;
    if (dto.status !== undefined && dto.status !== workspace.status) {
      changes.status = { from: workspace.status, to: dto.status };
      this.applyStatus(workspace, dto.status);
    }
    // Archiving is final and stops the workspace's tokens: it gets its own action in the audit trail.
    const action = dto.status === 'archived' ? 'workspace.archive' : 'workspace.update';
    const saved = await this.dataSource.transaction(async (manager) => {
      const row = await manager.getRepository(WorkspaceEntity).save(workspace);
      await this.quotas.applyLegacySettings(manager, ctx, id, limits);
      await this.audit.record(
        ctx,
        { action, resourceType: 'workspace', resourceId: id, workspaceId: id, details: changes },
        manager,
      );
      return row;
    });
    if (changes.status) this.tokenAuth.invalidate();
    // Suspending or archiving stops the work already running, not only new requests (src/governance).
    if (changes.status && (saved.status === 'suspended' || saved.status === 'archived')) {
      await this.lifecycle.emit({ kind: 'workspace_stopped', status: saved.status, workspaceId: id, actor: ctx });
    }
    return toWorkspaceResponse(saved);
  }

  /** Archiving is final: the workspace's tokens stop working and nothing new runs in it. */
  archive(ctx: TenantContext, id: string): Promise<WorkspaceResponseDto> {
    return this.update(ctx, id, { status: 'archived' });
  }

  /** Some fields are for organisation admins; a workspace admin's attempt is denied and audited like a route denial. */
  private async assertOrgAdmin(ctx: TenantContext, id: string, field: string): Promise<void> {
    if (hasPermission(ctx, 'org:admin')) return;
    await this.audit.record(ctx, {
      action: 'auth.forbidden',
      outcome: 'denied',
      resourceType: 'workspace',
      resourceId: id,
      details: { required: 'org:admin', field },
    });
    assertPermission(ctx, 'org:admin');
  }

  private applyStatus(workspace: WorkspaceEntity, status: WorkspaceStatus): void {
    workspace.status = status;
    if (status === 'archived') workspace.archivedAt = new Date();
  }
}
