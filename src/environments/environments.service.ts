import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { invalidField, notFound, OrcaOpsError } from 'src/common/errors/orcaops.error';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { CreateEnvironmentDto } from 'src/environments/dto/create-environment.dto';
import type { EnvironmentListResponseDto, EnvironmentResponseDto, EnvironmentTemplateResponseDto } from 'src/environments/dto/environment-response.dto';
import { EnvironmentEntity } from 'src/environments/entities/environment.entity';
import type { EnvironmentDefinition } from 'src/environments/environment-definition';
import { EnvironmentDefinitionError, parseEnvironmentFile } from 'src/environments/environment-definition';
import { EnvironmentLifecycle } from 'src/environments/environment-lifecycle.service';
import type { EnvironmentStatus } from 'src/environments/environment-model';
import { EnvironmentTemplateCatalog } from 'src/environments/environment-templates';
import { toEnvironmentResponse, toTemplateResponse } from 'src/environments/environments.mappers';
import { DEFAULT_IDLE_TIMEOUT_SECONDS, DEFAULT_TTL_SECONDS } from 'src/sandboxes/sandbox-model';
import { assertPermission } from 'src/tenancy/assert-permission';
import type { Permission } from 'src/tenancy/permissions';
import type { TenantContext } from 'src/tenancy/tenant-context';
import { requireWorkspace } from 'src/tenancy/tenant-context.factory';

const LIST_LIMIT = 100;

/** Environments as every front end (REST, MCP, CLI) sees them: create, list, get, delete, templates. */
@Injectable()
export class EnvironmentsService {
  constructor(
    @InjectScopedRepository(EnvironmentEntity) private readonly environments: TenantScopedRepository<EnvironmentEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly lifecycle: EnvironmentLifecycle,
    private readonly catalog: EnvironmentTemplateCatalog,
    private readonly audit: AuditService,
  ) {}

  templates(ctx: TenantContext): EnvironmentTemplateResponseDto[] {
    assertPermission(ctx, 'environment:read');
    return this.catalog.templates.map(toTemplateResponse);
  }

  /**
   * Records the environment `starting` and starts it in the background: services in dependency order
   * (each admitted by the policy, counted in the service quotas, ready by its health check), then the
   * sandbox on their network. Poll get() (the CLI prints the progress lines) or use waitSettled().
   */
  async create(ctx: TenantContext, dto: CreateEnvironmentDto): Promise<EnvironmentResponseDto> {
    assertPermission(ctx, 'environment:create');
    // The environment's sandbox is a sandbox: the caller must be allowed to create one.
    assertPermission(ctx, 'sandbox:create');
    const { workspaceId } = requireWorkspace(ctx);
    const { definition, template } = this.definitionOf(dto);
    const id = randomUUID();
    const environment = await this.dataSource.transaction(async (manager) => {
      const saved = await this.environments.withManager(manager).insert(workspaceId, {
        id,
        name: dto.name ?? definition.name ?? template ?? null,
        template,
        status: 'starting',
        message: null,
        definition,
        services: definition.services.map((s) => ({ name: s.id, image: s.image, status: 'pending' as const })),
        events: [],
        engineObjects: { containers: [], volumes: [] },
        sandboxId: null,
        serviceContainers: 0,
        serviceMemoryMb: 0,
        createdBy: ctx.principal.tokenId,
        ttlSeconds: dto.ttl_seconds ?? DEFAULT_TTL_SECONDS,
        idleTimeoutSeconds: dto.idle_timeout_seconds ?? DEFAULT_IDLE_TIMEOUT_SECONDS,
        stoppedAt: null,
      });
      await this.audit.record(
        ctx,
        { action: 'environment.create', resourceType: 'environment', resourceId: id, details: { template, services: definition.services.map((s) => `${s.id}=${s.image}`) } },
        manager,
      );
      return saved;
    });
    this.lifecycle.begin(ctx, environment);
    return toEnvironmentResponse(environment);
  }

  async get(ctx: TenantContext, id: string): Promise<EnvironmentResponseDto> {
    return toEnvironmentResponse(await this.find(ctx, id, 'environment:read'));
  }

  /** Waits (bounded) until the environment is no longer starting; the MCP tool's "create and wait". */
  async waitSettled(ctx: TenantContext, id: string, timeoutMs: number): Promise<EnvironmentResponseDto> {
    await this.find(ctx, id, 'environment:read');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.lifecycle.settled(id), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    return this.get(ctx, id);
  }

  async list(ctx: TenantContext, filter: { status?: EnvironmentStatus }): Promise<EnvironmentListResponseDto> {
    assertPermission(ctx, 'environment:read');
    const { workspaceId } = requireWorkspace(ctx);
    const rows = await this.environments.find(workspaceId, { where: filter.status ? { status: filter.status } : {}, order: { createdAt: 'DESC', id: 'DESC' }, take: LIST_LIMIT });
    return { items: rows.map(toEnvironmentResponse) };
  }

  /** Stops the sandbox and removes every service container, the network and the volumes; returns it stopped. */
  async delete(ctx: TenantContext, id: string): Promise<EnvironmentResponseDto> {
    const environment = await this.find(ctx, id, 'environment:delete');
    if (await this.lifecycle.beginStop(environment.workspaceId, id, ctx, 'deleted')) {
      await this.lifecycle.settled(id, true);
      await this.lifecycle.finish(environment.workspaceId, id, ctx, 'stopped');
    }
    return this.get(ctx, id);
  }

  private definitionOf(dto: CreateEnvironmentDto): { definition: EnvironmentDefinition; template: string | null } {
    if ((dto.template === undefined) === (dto.compose === undefined)) throw invalidField('template', 'give a template or a compose file (one of them)');
    if (dto.template !== undefined) {
      const template = this.catalog.get(dto.template);
      if (!template) throw invalidField('template', `no environment template "${dto.template}" (GET /v1/environment-templates lists them)`);
      const { name: _name, ...definition } = template;
      return { definition, template: template.name };
    }
    try {
      return { definition: parseEnvironmentFile(dto.compose!, dto.file_name ?? 'compose.yml'), template: null };
    } catch (error) {
      if (!(error instanceof EnvironmentDefinitionError)) throw error;
      throw new OrcaOpsError('validation_failed', `The environment definition is invalid:\n  - ${error.problems.join('\n  - ')}`, {
        fields: [{ field: 'compose', messages: error.problems }],
      });
    }
  }

  private async find(ctx: TenantContext, id: string, permission: Permission): Promise<EnvironmentEntity> {
    assertPermission(ctx, permission);
    const { workspaceId } = requireWorkspace(ctx);
    const environment = await this.environments.findOne(workspaceId, { id });
    if (!environment) throw notFound('environment', id);
    return environment;
  }
}
