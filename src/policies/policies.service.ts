import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, Repository } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { DEFAULT_MAX_TIMEOUT_SECONDS } from 'src/domain/container-spec';
import { OrganisationPolicyResponseDto, WorkspacePolicyResponseDto } from 'src/policies/dto/policy-response.dto';
import { OrganisationPolicyEntity } from 'src/policies/entities/organisation-policy.entity';
import { WorkspacePolicyEntity } from 'src/policies/entities/workspace-policy.entity';
import type { EffectivePolicy, PolicyDecision, PolicyDocument, PolicyRequest, PolicyViolation } from 'src/policies/policy-model';
import type { EffectiveEgress } from 'src/policies/egress-rules';
import { documentProblems, effectivePolicy, evaluateCommands, evaluatePolicy, FieldProblem, secretViolations, wideningProblems } from 'src/policies/policy-rules';
import { assertPermission } from 'src/tenancy/assert-permission';
import { TenantContext } from 'src/tenancy/tenant-context';
import { WorkspacesService } from 'src/workspaces/workspaces.service';

/** How long a workspace's effective policy is reused (a save here invalidates it at once; other servers within this). */
const CACHE_TTL_MS = 5_000;

/** What an admitted request learns: allowed now, or held for approval (jobs only), with the expiry to use. */
export interface Admission {
  decision: PolicyDecision;
  approvalExpirySeconds: number;
}

interface CachedDocuments {
  org: PolicyDocument;
  workspace: PolicyDocument;
  at: number;
}

function invalid(problems: FieldProblem[]): OrcaOpsError {
  return new OrcaOpsError('validation_failed', 'The policy is invalid', {
    fields: problems.map((p) => ({ field: p.field, messages: [p.message] })),
  });
}

/**
 * Security policies: the organisation default, each workspace's narrowing, and the admission decision
 * every path that creates or runs work calls before any container starts.
 */
@Injectable()
export class PoliciesService {
  private readonly cache = new Map<string, CachedDocuments>();

  constructor(
    @InjectRepository(OrganisationPolicyEntity) private readonly organisation: Repository<OrganisationPolicyEntity>,
    @InjectScopedRepository(WorkspacePolicyEntity) private readonly workspacePolicies: TenantScopedRepository<WorkspacePolicyEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly workspaces: WorkspacesService,
    private readonly audit: AuditService,
  ) {}

  async getOrganisation(ctx: TenantContext): Promise<OrganisationPolicyResponseDto> {
    assertPermission(ctx, 'workspace:read');
    const row = await this.organisation.findOne({ where: { singleton: true } });
    return { policy: row?.document ?? {}, updated_at: row?.updatedAt.toISOString() ?? null, updated_by: row?.updatedBy ?? null };
  }

  /** Replaces the organisation default (organisation admins). Existing workspace policies keep applying on top. */
  async setOrganisation(ctx: TenantContext, document: PolicyDocument): Promise<OrganisationPolicyResponseDto> {
    assertPermission(ctx, 'org:admin');
    const problems = documentProblems(document, 'organisation');
    if (problems.length) throw invalid(problems);
    await this.dataSource.transaction(async (manager) => {
      await manager.getRepository(OrganisationPolicyEntity).save({ singleton: true, document, updatedBy: ctx.principal.tokenId });
      await this.audit.record(ctx, { action: 'policy.update', resourceType: 'organisation_policy', workspaceId: null, details: { policy: document } }, manager);
    });
    this.cache.clear();
    return this.getOrganisation(ctx);
  }

  async getWorkspace(ctx: TenantContext, workspaceId: string): Promise<WorkspacePolicyResponseDto> {
    assertPermission(ctx, 'workspace:read');
    await this.workspaces.findAccessible(ctx, workspaceId);
    const [org, row] = await Promise.all([this.organisationDocument(), this.workspacePolicies.findOne(workspaceId, {})]);
    return {
      workspace_id: workspaceId,
      organisation: org,
      workspace: row?.document ?? {},
      effective: { ...(await this.effective(ctx, workspaceId, true)) },
      updated_at: row?.updatedAt.toISOString() ?? null,
      updated_by: row?.updatedBy ?? null,
    };
  }

  /**
   * Replaces a workspace's policy (its admins, or organisation admins). Refused with every field named
   * when it would allow more than the organisation default does for this workspace.
   */
  async setWorkspace(ctx: TenantContext, workspaceId: string, document: PolicyDocument): Promise<WorkspacePolicyResponseDto> {
    assertPermission(ctx, 'policy:admin');
    const workspace = await this.workspaces.findAccessible(ctx, workspaceId);
    const grant = { egressGranted: workspace.settings.allow_network_egress === true };
    const problems = [...documentProblems(document), ...wideningProblems(await this.organisationDocument(), document, grant)];
    if (problems.length) throw invalid(problems);
    await this.dataSource.transaction(async (manager) => {
      const scoped = this.workspacePolicies.withManager(manager);
      const changed = await scoped.update(workspaceId, {}, { document, updatedBy: ctx.principal.tokenId });
      if (!changed) await scoped.insert(workspaceId, { id: randomUUID(), document, updatedBy: ctx.principal.tokenId });
      await this.audit.record(ctx, { action: 'policy.update', resourceType: 'workspace_policy', resourceId: workspaceId, workspaceId, details: { policy: document } }, manager);
    });
    this.cache.delete(workspaceId);
    return this.getWorkspace(ctx, workspaceId);
  }

  /** The decision for a request in this workspace, creating nothing and recording nothing (dry run). */
  async evaluate(ctx: TenantContext, workspaceId: string, request: PolicyRequest): Promise<PolicyDecision> {
    return decide(ctx, await this.effective(ctx, workspaceId), request);
  }

  /**
   * The admission point for new work. A denial is audited (`policy.denied`) even though the request
   * fails, then thrown as 403 policy_denied with every violation. Sandboxes cannot wait for a human, so
   * for them "requires approval" is a denial too (details.approval_required = true).
   */
  async admit(ctx: TenantContext, workspaceId: string, request: PolicyRequest): Promise<Admission> {
    const policy = await this.effective(ctx, workspaceId);
    const decision = decide(ctx, policy, request);
    const refused = decision.decision === 'denied' || (decision.decision === 'requires_approval' && request.kind !== 'job');
    if (refused) await this.deny(ctx, request.kind, decision, request.image);
    return { decision, approvalExpirySeconds: policy.approvals.expire_after_seconds };
  }

  /**
   * The egress destination rules for work already running in a workspace (the egress gateway, per
   * connection): documents cached 5 s, the grant read fresh, so a policy change reaches new
   * connections within seconds.
   */
  async egressFor(workspaceId: string): Promise<EffectiveEgress> {
    const cached = this.cache.get(workspaceId);
    const documents = cached && Date.now() - cached.at < CACHE_TTL_MS ? cached : await this.loadDocuments(workspaceId);
    const egressGranted = await this.workspaces.egressGrantedById(workspaceId);
    return effectivePolicy(documents.org, documents.workspace, { egressGranted }).network.destinations;
  }

  /** Four eyes: may the token that asked for an approval decide it itself? (approvals.allow_self_approval) */
  async allowsSelfApproval(ctx: TenantContext, workspaceId: string): Promise<boolean> {
    return (await this.effective(ctx, workspaceId, false, true)).approvals.allow_self_approval;
  }

  /** The policy's `resources.max_timeout_seconds` for the workspace (30 minutes unless the organisation allows longer), which clamps workflow durations. */
  async maxTimeoutSeconds(ctx: TenantContext, workspaceId: string): Promise<number> {
    return (await this.effective(ctx, workspaceId)).resources.max_timeout_seconds ?? DEFAULT_MAX_TIMEOUT_SECONDS;
  }

  /**
   * The image rules for a workspace, for the puller (runs without a request: the job runner, a
   * workflow's services). Images need no egress grant, so none is read.
   */
  async imagePolicy(workspaceId: string): Promise<EffectivePolicy['images']> {
    const cached = this.cache.get(workspaceId);
    const documents = cached && Date.now() - cached.at < CACHE_TTL_MS ? cached : await this.loadDocuments(workspaceId);
    return effectivePolicy(documents.org, documents.workspace, { egressGranted: false }).images;
  }

  /** Policy `secrets`: may this token's role use these secrets? 403 policy_denied (audited) naming each refused one. */
  async assertSecretsAllowed(ctx: TenantContext, workspaceId: string, names: string[], kind: PolicyRequest['kind'] = 'job'): Promise<void> {
    if (!names.length) return;
    const violations = secretsDecision(ctx, (await this.effective(ctx, workspaceId, false, true)).secrets, names);
    if (violations.length) await this.deny(ctx, kind, { decision: 'denied', violations });
  }

  /** Command deny rules for commands run in a live sandbox (exec, shell run, process start). */
  async assertCommandsAllowed(ctx: TenantContext, workspaceId: string, sandboxId: string, commands: PolicyRequest['commands']): Promise<void> {
    const decision = evaluateCommands(await this.effective(ctx, workspaceId, false, true), commands);
    if (decision.decision === 'denied') await this.deny(ctx, 'sandbox', decision, undefined, sandboxId);
  }

  private async deny(ctx: TenantContext, kind: PolicyRequest['kind'], decision: PolicyDecision, image?: string, resourceId?: string): Promise<never> {
    const approvalRequired = decision.decision === 'requires_approval';
    await this.audit.record(ctx, {
      action: 'policy.denied',
      outcome: 'denied',
      resourceType: kind,
      resourceId,
      details: { violations: decision.violations, ...(image ? { image } : {}), ...(approvalRequired ? { approval_required: true } : {}) },
    });
    const message = approvalRequired
      ? `This ${kind.replace('_', ' ')} needs an approval, and only jobs can wait for one: ${decision.violations.map((v) => v.message).join('; ')}`
      : `Refused by policy: ${decision.violations.filter((v) => v.effect === 'deny').map((v) => v.message).join('; ')}`;
    throw new OrcaOpsError('policy_denied', message, { violations: decision.violations, ...(approvalRequired ? { approval_required: true } : {}) });
  }

  private async organisationDocument(): Promise<PolicyDocument> {
    return (await this.organisation.findOne({ where: { singleton: true } }))?.document ?? {};
  }

  /**
   * Organisation ∩ workspace for one workspace. The two documents are cached briefly (saves here clear
   * the cache at once); the organisation's egress grant is read fresh unless only commands are decided.
   */
  private async effective(ctx: TenantContext, workspaceId: string, fresh = false, commandsOnly = false): Promise<EffectivePolicy> {
    const cached = this.cache.get(workspaceId);
    const documents = !fresh && cached && Date.now() - cached.at < CACHE_TTL_MS ? cached : await this.loadDocuments(workspaceId);
    const egressGranted = commandsOnly ? false : await this.workspaces.egressGranted(ctx, workspaceId);
    return effectivePolicy(documents.org, documents.workspace, { egressGranted });
  }

  private async loadDocuments(workspaceId: string): Promise<CachedDocuments> {
    const [org, row] = await Promise.all([this.organisationDocument(), this.workspacePolicies.findOne(workspaceId, {})]);
    const documents = { org, workspace: row?.document ?? {}, at: Date.now() };
    this.cache.set(workspaceId, documents);
    return documents;
  }
}

/** Organisation tokens start no work, so they have no role to decide secrets for. */
function secretsDecision(ctx: TenantContext, policy: EffectivePolicy['secrets'], names: string[]): PolicyViolation[] {
  return ctx.principal.kind === 'workspace' && names.length ? secretViolations(policy, ctx.principal.role, names) : [];
}

/** The decision for a request, its secrets decided for this token's role as well (the dry run and admission agree). */
function decide(ctx: TenantContext, policy: EffectivePolicy, request: PolicyRequest): PolicyDecision {
  const decision = evaluatePolicy(policy, request);
  const secrets = secretsDecision(ctx, policy.secrets, request.secrets ?? []);
  return secrets.length ? { decision: 'denied', violations: [...decision.violations, ...secrets] } : decision;
}
