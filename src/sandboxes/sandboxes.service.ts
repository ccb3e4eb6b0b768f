import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { Brackets, DataSource, In } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { notFound, OrcaOpsError } from 'src/common/errors/orcaops.error';
import { decodeCursor, encodeCursor } from 'src/common/pagination/keyset-cursor';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { JobResponseDto } from 'src/jobs/dto/job-response.dto';
import { PoliciesService } from 'src/policies/policies.service';
import type { PolicyDecision } from 'src/policies/policy-model';
import { EngineHealth } from 'src/runtime/engine-health.service';
import { CreateSandboxDto, RunSandboxProfileDto } from 'src/sandboxes/dto/create-sandbox.dto';
import { SandboxListResponseDto, SandboxProfileResponseDto, SandboxResponseDto } from 'src/sandboxes/dto/sandbox-response.dto';
import { SandboxEntity } from 'src/sandboxes/entities/sandbox.entity';
import { LiveSandbox } from 'src/sandboxes/live-sandbox';
import { SandboxActivity } from 'src/sandboxes/sandbox-activity';
import { SANDBOX_USER, SANDBOX_WORKDIR } from 'src/sandboxes/sandbox-container';
import { SandboxLifecycle } from 'src/sandboxes/sandbox-lifecycle.service';
import { SANDBOX_TERMINAL, SandboxSpec, SandboxStatus } from 'src/sandboxes/sandbox-model';
import { SandboxNode } from 'src/sandboxes/sandbox-node';
import { sandboxPolicyRequest } from 'src/sandboxes/sandbox-policy';
import { SandboxProfilesService } from 'src/sandboxes/sandbox-profiles.service';
import { toSandboxResponse } from 'src/sandboxes/sandboxes.mappers';
import { Permission } from 'src/tenancy/permissions';
import { assertPermission } from 'src/tenancy/assert-permission';
import { TenantContext } from 'src/tenancy/tenant-context';
import { requireWorkspace } from 'src/tenancy/tenant-context.factory';
import { QuotasService } from 'src/quotas/quotas.service';
import { SessionLinks } from 'src/session-links/session-links.service';
import { SecretMasker } from 'src/common/masking/secret-masker';
import { SecretsService } from 'src/secrets/secrets.service';

export interface ListSandboxesFilter {
  status?: SandboxStatus;
  /** key=value pairs; a sandbox must carry all of them. */
  labels: string[];
  sessionId?: string;
  cursor?: string;
  limit: number;
}

/** Sandboxes as every front end sees them: create, read, keep alive, delete; and the live handle for exec. */
@Injectable()
export class SandboxesService {
  // Twelve: create admits a sandbox in one transaction (session, secrets, policy, engine, quotas, warm pool, node, audit), one call each.
  constructor(
    @InjectScopedRepository(SandboxEntity) private readonly sandboxes: TenantScopedRepository<SandboxEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly lifecycle: SandboxLifecycle,
    private readonly activity: SandboxActivity,
    private readonly audit: AuditService,
    private readonly engine: EngineHealth,
    private readonly profiles: SandboxProfilesService,
    private readonly node: SandboxNode,
    private readonly quotas: QuotasService,
    private readonly policies: PoliciesService,
    private readonly sessions: SessionLinks,
    private readonly secrets: SecretsService,
  ) {}

  /**
   * Reserves a slot (the concurrent limit and the daily sandbox-seconds quota are counted in Postgres
   * under a per-workspace lock, so concurrent creates on any server cannot overshoot) and records the
   * sandbox with its audit event: `ready` at once with a warm pool container, else `starting`, after
   * which the container is created and started and the sandbox returned ready.
   */
  async create(ctx: TenantContext, dto: CreateSandboxDto, internal: { attach?: SandboxSpec['attach'] } = {}): Promise<SandboxResponseDto> {
    assertPermission(ctx, 'sandbox:create');
    const { workspaceId } = requireWorkspace(ctx);
    const spec: SandboxSpec = { ...this.profiles.specFor(dto), ...(internal.attach ? { attach: internal.attach, network: 'none' as const } : {}) };
    const sessionId = await this.sessions.resolveForCreate(ctx, workspaceId, dto.session_id);
    // Secrets by name: 400 naming unknown ones, 403 when the policy keeps this role from one; before anything runs.
    await this.secrets.admitUse(ctx, workspaceId, spec.secrets);
    // Security policy (issue 5): denial (or a rule asking for approval, which sandboxes cannot wait
    // for) is audited and thrown as 403 policy_denied with every violation, before any container.
    await this.policies.admit(ctx, workspaceId, sandboxPolicyRequest(spec));
    await this.engine.assertAvailable();
    // Checked before the transaction (it reads the engine and the pull grants); no image, no warm container.
    const warmImage = spec.attach ? undefined : await this.lifecycle.warmImage(workspaceId, spec);
    const id = randomUUID();
    const now = Date.now();
    // Set inside the transaction once the limits passed; removed again if the transaction fails.
    let warm: string | undefined;
    let sandbox: SandboxEntity;
    try {
      // Quotas (live sandboxes, sandbox-seconds per day and month) are checked in the inserting transaction.
      sandbox = await this.quotas.admitSandbox(ctx, workspaceId, async (manager) => {
        await this.sessions.lockOpen(manager, workspaceId, sessionId);
        const scoped = this.sandboxes.withManager(manager);
        // A warm container is already running: the sandbox is recorded ready with it in this one commit.
        warm = this.lifecycle.takeWarm(id, spec, warmImage !== undefined);
        const readyAt = warm ? new Date() : null;
        const saved = await scoped.insert(workspaceId, {
          id,
          name: dto.name ?? null,
          status: warm ? 'ready' : 'starting',
          exitReason: null,
          message: null,
          image: spec.image,
          imageDigest: (warm && warmImage?.digest) || null,
          spec,
          createdBy: ctx.principal.tokenId,
          sessionId,
          containerId: warm ?? null,
          pooled: !!warm,
          runnerId: this.node.id,
          readyAt,
          expiresAt: new Date(now + spec.ttl_seconds * 1000),
          lastActivityAt: readyAt ?? new Date(now),
          stoppedAt: null,
        });
        await this.audit.record(
          ctx,
          { action: 'sandbox.create', resourceType: 'sandbox', resourceId: id, sessionId, details: { image: spec.image, profile: spec.profile, pooled: !!warm } },
          manager,
        );
        await this.secrets.recordUse(ctx, { resourceType: 'sandbox', resourceId: id, names: Object.values(spec.secrets ?? {}) }, manager);
        return saved;
      });
    } catch (error) {
      if (warm) await this.lifecycle.discard(warm);
      throw error;
    }
    if (warm) {
      this.activity.touch(id);
      return toSandboxResponse(sandbox);
    }
    await this.lifecycle.provision(sandbox);
    // Deleted while it started: answer with the row as it is now.
    return sandbox.status === 'ready' ? toSandboxResponse(sandbox) : this.get(ctx, id);
  }

  /** The dry run behind POST /v1/policies/evaluate for a sandbox spec: nothing created or recorded. */
  async evaluatePolicy(ctx: TenantContext, dto: CreateSandboxDto): Promise<PolicyDecision> {
    const { workspaceId } = requireWorkspace(ctx);
    return this.policies.evaluate(ctx, workspaceId, sandboxPolicyRequest(this.profiles.specFor(dto)));
  }

  async get(ctx: TenantContext, id: string): Promise<SandboxResponseDto> {
    const sandbox = await this.find(ctx, id, 'sandbox:read');
    this.activity.touch(id);
    return toSandboxResponse(sandbox);
  }

  async list(ctx: TenantContext, filter: ListSandboxesFilter): Promise<SandboxListResponseDto> {
    assertPermission(ctx, 'sandbox:read');
    const { workspaceId } = requireWorkspace(ctx);
    const qb = this.sandboxes.queryBuilder(workspaceId, 's');
    if (filter.status) qb.andWhere('s.status = :status', { status: filter.status });
    if (filter.sessionId) qb.andWhere('s.session_id = :sessionId', { sessionId: filter.sessionId.toLowerCase() });
    if (filter.labels.length) {
      const labels = Object.fromEntries(filter.labels.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      qb.andWhere(`s.spec -> 'labels' @> :labels::jsonb`, { labels: JSON.stringify(labels) });
    }
    if (filter.cursor) {
      const [at, cid] = decodeCursor(filter.cursor);
      qb.andWhere(new Brackets((w) => w.where('s.created_at < :at', { at }).orWhere('s.created_at = :at AND s.id < :cid', { at, cid })));
    }
    const rows = await qb.orderBy('s.created_at', 'DESC').addOrderBy('s.id', 'DESC').take(filter.limit + 1).getMany();
    const page = rows.slice(0, filter.limit);
    const last = page[page.length - 1];
    return { items: page.map(toSandboxResponse), next_cursor: rows.length > filter.limit && last ? encodeCursor(last.createdAt, last.id) : null };
  }

  /** Keep-alive: the sandbox now expires ttl_seconds from now (each extension at most 24 h ahead). */
  async extend(ctx: TenantContext, id: string, ttlSeconds: number): Promise<SandboxResponseDto> {
    const sandbox = await this.find(ctx, id, 'sandbox:create');
    // Security policy (issue 5): a keep-alive is admitted again under today's policy (max_ttl_seconds bounds each extension).
    await this.policies.admit(ctx, sandbox.workspaceId, sandboxPolicyRequest({ ...sandbox.spec, ttl_seconds: ttlSeconds }));
    const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
    const changed = await this.dataSource.transaction(async (manager) => {
      const n = await this.sandboxes.withManager(manager).update(sandbox.workspaceId, { id, status: In(['starting', 'ready']) }, { expiresAt });
      if (n) await this.audit.record(ctx, { action: 'sandbox.extend', resourceType: 'sandbox', resourceId: id, details: { ttl_seconds: ttlSeconds, expires_at: expiresAt.toISOString() } }, manager);
      return n;
    });
    if (!changed) throw new OrcaOpsError('conflict', `sandbox ${id} is ${sandbox.status}; only a live sandbox can be extended`, { status: sandbox.status });
    return this.get(ctx, id);
  }

  /** stopping → container removed → stopped. Deleting an ended sandbox returns it unchanged. */
  async delete(ctx: TenantContext, id: string): Promise<SandboxResponseDto> {
    const sandbox = await this.find(ctx, id, 'sandbox:delete');
    if (!SANDBOX_TERMINAL.has(sandbox.status)) await this.lifecycle.stop(sandbox, 'deleted', ctx);
    return toSandboxResponse(await this.find(ctx, id, 'sandbox:read'));
  }

  /** Stops a live sandbox as the system (its environment ended); an ended or missing one is left as is. */
  async stopAsSystem(workspaceId: string, id: string, message: string): Promise<void> {
    const sandbox = await this.sandboxes.findOne(workspaceId, { id });
    if (sandbox && !SANDBOX_TERMINAL.has(sandbox.status)) await this.lifecycle.stop(sandbox, 'deleted', 'system', message);
  }

  /**
   * Stops a session's live sandboxes (exit reason session_ended); returns how many. The caller checked
   * the session; 'system' is the idle reaper (audited as the system).
   */
  async stopForSession(actor: TenantContext | 'system', workspaceId: string, sessionId: string): Promise<number> {
    if (actor !== 'system') assertPermission(actor, 'sandbox:delete');
    const live = await this.sandboxes.find(workspaceId, { where: { sessionId, status: In(['starting', 'ready']) } });
    let stopped = 0;
    for (const sandbox of live) {
      if (await this.lifecycle.stop(sandbox, 'session_ended', actor, `its session ${sessionId} ended`)) stopped++;
    }
    return stopped;
  }

  /** Stops every live sandbox of a workspace, or only one token's (src/governance); returns how many. */
  async stopAllFor(workspaceId: string, reason: 'workspace_suspended' | 'token_revoked', createdBy?: string): Promise<number> {
    const live = await this.sandboxes.find(workspaceId, { where: { status: In(['starting', 'ready']), ...(createdBy ? { createdBy } : {}) } });
    let stopped = 0;
    for (const sandbox of live) {
      if (await this.lifecycle.stop(sandbox, reason, 'system', reason === 'token_revoked' ? 'the token that created it was revoked' : 'its workspace was suspended')) stopped++;
    }
    return stopped;
  }

  /**
   * The interaction layer's entry (exec, shells, processes, files): access and state checked, activity
   * touched. Another tenant's sandbox answers exactly like a missing one.
   */
  async requireLive(ctx: TenantContext, id: string, permission: Permission, options: { openSecrets?: boolean } = {}): Promise<LiveSandbox> {
    return this.liveOf(await this.find(ctx, id, permission), options);
  }

  /**
   * requireLive for a signed preview URL: no caller token, the workspace comes from the preview the URL
   * names (PreviewsService checked its secret, expiry and revocation). No secrets are opened.
   */
  async requireLiveIn(workspaceId: string, id: string): Promise<LiveSandbox> {
    const sandbox = await this.sandboxes.findOne(workspaceId, { id });
    if (!sandbox) throw notFound('sandbox', id);
    return this.liveOf(sandbox, {});
  }

  private async liveOf(sandbox: SandboxEntity, options: { openSecrets?: boolean }): Promise<LiveSandbox> {
    const id = sandbox.id;
    if (sandbox.status !== 'ready' || !sandbox.containerId) {
      throw new OrcaOpsError('conflict', `sandbox ${id} is ${sandbox.status}, not ready`, { status: sandbox.status, exit_reason: sandbox.exitReason });
    }
    // Every interaction is an engine call: with the engine down or hung, 503 now (cached check) instead
    // of after the engine call's deadline.
    await this.engine.assertAvailable();
    this.activity.touch(id);
    // Secrets are opened per command started (exec, shell, process), never kept with the sandbox: a value
    // replaced meanwhile is the new one, a secret deleted meanwhile fails the call naming it.
    const opened = options.openSecrets && sandbox.spec.secrets ? await this.secrets.resolve(sandbox.workspaceId, sandbox.spec.secrets) : undefined;
    return {
      id,
      workspaceId: sandbox.workspaceId,
      containerId: sandbox.containerId,
      user: SANDBOX_USER,
      workdir: SANDBOX_WORKDIR,
      env: { ...sandbox.spec.env, ...opened?.env },
      masker: opened?.masker ?? SecretMasker.none,
    };
  }

  /** Access check for a sandbox's sub-resources (previews): 404 for a missing or another tenant's sandbox, in any state. */
  async assertAccess(ctx: TenantContext, id: string, permission: Permission): Promise<void> {
    await this.find(ctx, id, permission);
  }

  listProfiles(ctx: TenantContext): SandboxProfileResponseDto[] {
    return this.profiles.listProfiles(ctx);
  }

  /** A one-shot run of a profile, as a job (SandboxProfilesService.runProfile). */
  runProfile(ctx: TenantContext, name: string, dto: RunSandboxProfileDto): Promise<JobResponseDto> {
    return this.profiles.runProfile(ctx, name, dto);
  }

  private async find(ctx: TenantContext, id: string, permission: Permission): Promise<SandboxEntity> {
    assertPermission(ctx, permission);
    const { workspaceId } = requireWorkspace(ctx);
    const sandbox = await this.sandboxes.findOne(workspaceId, { id });
    if (!sandbox) throw notFound('sandbox', id);
    return sandbox;
  }
}
