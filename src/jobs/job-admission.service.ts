import { Inject, Injectable } from '@nestjs/common';
import { runFingerprint } from 'src/jobs/records/run-fingerprint';
import { createHash, randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { CreateJobDto } from 'src/jobs/dto/create-job.dto';
import { JobResponseDto } from 'src/jobs/dto/job-response.dto';
import { JobEntity } from 'src/jobs/entities/job.entity';
import { JOB_DISPATCH, JobDispatch } from 'src/jobs/job-dispatch';
import { JobApproval, JobInternalSpec, JobSpec } from 'src/jobs/job-model';
import { jobPolicyRequest } from 'src/jobs/job-policy';
import { normalizeSpec } from 'src/jobs/job-rules';
import { toJobResponse } from 'src/jobs/jobs.mappers';
import { ApprovalRequestsService } from 'src/policies/approval-requests.service';
import { PoliciesService } from 'src/policies/policies.service';
import type { PolicyDecision } from 'src/policies/policy-model';
import { QuotasService } from 'src/quotas/quotas.service';
import { SecretsService } from 'src/secrets/secrets.service';
import { EngineHealth } from 'src/runtime/engine-health.service';
import { SessionLinks } from 'src/session-links/session-links.service';
import { assertPermission } from 'src/tenancy/assert-permission';
import { requireWorkspace } from 'src/tenancy/tenant-context.factory';
import { TenantContext } from 'src/tenancy/tenant-context';

export interface SubmitResult {
  job: JobResponseDto;
  /** True when an earlier submit with the same idempotency key is returned. */
  replayed: boolean;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Admitting a job (JobsService.submit): idempotency, session, security policy (deny, or hold for
 * approval), engine check, quotas, and the insert with its audit event in one transaction; a job
 * admitted with a free slot here is inserted claimed and started at once (JobDispatch).
 */
@Injectable()
export class JobAdmission {
  constructor(
    @InjectScopedRepository(JobEntity) private readonly jobs: TenantScopedRepository<JobEntity>,
    @Inject(JOB_DISPATCH) private readonly runner: JobDispatch,
    private readonly audit: AuditService,
    private readonly engine: EngineHealth,
    private readonly quotas: QuotasService,
    private readonly policies: PoliciesService,
    private readonly approvals: ApprovalRequestsService,
    private readonly sessions: SessionLinks,
    private readonly secrets: SecretsService,
  ) {}

  /** `internal`: set only by other services (workflows), never from a request. */
  async submit(ctx: TenantContext, dto: CreateJobDto, idempotencyHeader?: string, internal?: JobInternalSpec): Promise<SubmitResult> {
    assertPermission(ctx, 'job:create');
    const { workspaceId } = requireWorkspace(ctx);
    const { inherited_session_id: inheritedSession, ...internalSpec } = internal ?? {};
    const spec = internal ? { ...normalizeSpec(dto), internal: internalSpec } : normalizeSpec(dto);
    const key = idempotencyHeader ?? dto.idempotency_key ?? null;
    const { idempotency_key: _k, ...request } = dto;
    const requestHash = createHash('sha256').update(canonical(request)).digest('hex');
    if (key) {
      const existing = await this.jobs.findOne(workspaceId, { idempotencyKey: key });
      if (existing) return this.replay(existing, requestHash);
    }
    const sessionId = inheritedSession ?? (await this.sessions.resolveForCreate(ctx, workspaceId, dto.session_id));
    // Secrets by name: 400 naming unknown ones, 403 when the policy keeps this role from one.
    await this.secrets.admitUse(ctx, workspaceId, spec.secrets);
    const referenced = await this.secrets.admitReferenced(ctx, workspaceId, spec.internal?.mask_secrets);
    // Security policy (issue 5): a denial is audited and thrown as 403 policy_denied with every
    // violation; "requires approval" stores the job as awaiting_approval with an approval request.
    const admission = await this.policies.admit(ctx, workspaceId, jobPolicyRequest(spec));
    const held = admission.decision.decision === 'requires_approval';
    await this.engine.assertAvailable();
    const id = randomUUID();
    let job: JobEntity;
    // A free slot here lets the admitting transaction claim the job too (no separate claim round trip).
    const releaseSlot = held ? undefined : this.runner.reserveSlot();
    try {
      // Quotas are checked and the job counted in the transaction that inserts it (429 quota_exceeded when over).
      job = await this.quotas.admitJob(ctx, workspaceId, { collectsArtifacts: spec.artifacts.length > 0 || !!spec.internal?.collects_artifacts }, async (manager, admitted) => {
        const approval = held ? await this.openApproval(ctx, id, spec, admission, manager) : null;
        if (!inheritedSession) await this.sessions.lockOpen(manager, workspaceId, sessionId);
        const claimed = releaseSlot ? await this.runner.claimAtInsert(manager, workspaceId, id, admitted.runningJobsCap) : undefined;
        const saved = await this.jobs.withManager(manager).insert(workspaceId, {
          id,
          status: held ? 'awaiting_approval' : 'queued',
          approval,
          reason: null,
          message: null,
          spec,
          image: spec.image,
          tags: dto.tags ?? [],
          intent: dto.intent ?? null,
          triggeredBy: dto.triggered_by ?? ctx.via,
          metadata: dto.metadata ?? {},
          idempotencyKey: key,
          requestHash,
          fingerprint: runFingerprint(spec),
          createdBy: ctx.principal.tokenId,
          sessionId,
          steps: [],
          outputBytes: 0,
          outputTruncated: false,
          cleanupPolicy: spec.cleanup_policy,
          containerState: 'none',
          // Claimed at insert: running on this server already (status, start, runner, container name).
          ...claimed,
        });
        await this.audit.record(ctx, { action: 'job.create', resourceType: 'job', resourceId: id, sessionId, details: { image: spec.image, steps: spec.steps.length } }, manager);
        await this.secrets.recordUse(ctx, { resourceType: 'job', resourceId: id, names: [...Object.values(spec.secrets ?? {}), ...referenced] }, manager);
        return saved;
      });
    } catch (error) {
      releaseSlot?.();
      // Two submits with one key raced: the unique index let one in; return that one.
      if (key && (error as { code?: string }).code === '23505') {
        const existing = await this.jobs.findOne(workspaceId, { idempotencyKey: key });
        if (existing) return this.replay(existing, requestHash);
      }
      throw error;
    }
    // A copy: the runner updates its row object as the job runs; the response shows the submitted state.
    if (job.status === 'running' && releaseSlot) this.runner.runClaimed(Object.assign(new JobEntity(), job), releaseSlot);
    else {
      releaseSlot?.();
      // With a slot free here, a queued job was at its workspace's cap: it waits for one of its jobs to end.
      if (releaseSlot && job.status === 'queued') await this.runner.deferAdmitted({ id, workspaceId });
      else if (!held) await this.runner.dispatch({ id, workspaceId }, Object.assign(new JobEntity(), job));
    }
    return { job: toJobResponse(job), replayed: false };
  }

  /** The dry run behind POST /v1/policies/evaluate: this spec's decision, nothing created or recorded. */
  async evaluatePolicy(ctx: TenantContext, dto: CreateJobDto): Promise<PolicyDecision> {
    const { workspaceId } = requireWorkspace(ctx);
    return this.policies.evaluate(ctx, workspaceId, jobPolicyRequest(normalizeSpec(dto)));
  }

  private async openApproval(
    ctx: TenantContext,
    jobId: string,
    spec: JobSpec,
    admission: { decision: PolicyDecision; approvalExpirySeconds: number },
    manager: DataSource['manager'],
  ): Promise<JobApproval> {
    const reasons = admission.decision.violations;
    const summary = { image: spec.image, commands: jobPolicyRequest(spec).commands.map((c) => c.command), network: spec.network, resources: spec.resources, timeout_seconds: spec.timeout_seconds };
    const row = await this.approvals.open(ctx, { resourceId: jobId, reasons, summary, expiresInSeconds: admission.approvalExpirySeconds }, manager);
    return { id: row.id, status: 'pending', reasons, expires_at: row.expiresAt.toISOString(), decided_by: null, decided_at: null, comment: null };
  }

  private replay(existing: JobEntity, requestHash: string): SubmitResult {
    if (existing.requestHash !== requestHash) {
      throw new OrcaOpsError('conflict', 'This idempotency key was used for a different request', { job_id: existing.id });
    }
    return { job: toJobResponse(existing), replayed: true };
  }
}
