import { createHash } from 'node:crypto';
import type { Plan } from 'src/workflows/engine/model';
import type {
  WorkflowInstanceResponseDto,
  WorkflowPlanResponseDto,
  WorkflowRunResponseDto,
  WorkflowRunSummaryDto,
} from 'src/workflows/dto/workflow.dto';
import type { WorkflowInstanceEntity } from 'src/workflows/entities/workflow-instance.entity';
import type { WorkflowRunEntity } from 'src/workflows/entities/workflow-run.entity';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function toInstanceResponse(row: WorkflowInstanceEntity): WorkflowInstanceResponseDto {
  return {
    key: row.instanceKey,
    job: row.workflowJob,
    display_name: row.displayName,
    matrix: row.matrix,
    image: row.image,
    status: row.status,
    outcome: row.outcome,
    conclusion: row.conclusion,
    reason: row.reason,
    message: row.message,
    outputs: row.outputs,
    attempt: row.attempt,
    job_id: row.jobId,
    attempts: row.attempts.map((a) => ({ attempt: a.attempt, job_id: a.job_id, status: a.status, reason: a.reason, started_at: a.started_at, finished_at: a.finished_at, services_cpu_seconds: a.services_cpu_seconds ?? null })),
    steps: row.stepState?.steps ?? [],
    notes: row.stepState?.notes ?? [],
    summary: row.stepState?.summary ?? '',
    started_at: iso(row.startedAt),
    finished_at: iso(row.finishedAt),
  };
}

export function toRunResponse(run: WorkflowRunEntity, rows: WorkflowInstanceEntity[]): WorkflowRunResponseDto {
  const view = runView(run, rows);
  return { ...view, version: runVersion(view) };
}

/**
 * The version token of a run view: a digest of everything a reader sees, so any change a follower can
 * observe (an instance transition, an output, a step, the end) gives a new token, wherever it was made.
 */
export function runVersion(view: Omit<WorkflowRunResponseDto, 'version'>): string {
  return createHash('sha256').update(JSON.stringify(view)).digest('hex').slice(0, 32);
}

function runView(run: WorkflowRunEntity, rows: WorkflowInstanceEntity[]): Omit<WorkflowRunResponseDto, 'version'> {
  return {
    id: run.id,
    name: run.name,
    file: run.file,
    fingerprint: run.fingerprint,
    status: run.status,
    conclusion: run.conclusion,
    cancelled_by: run.cancelledBy,
    warnings: run.warnings,
    inputs: run.inputs,
    image_digests: run.imageDigests ?? {},
    jobs: run.spec.jobs.map((job) => {
      const state = run.jobStates[job.id];
      return {
        id: job.id,
        name: job.name ?? job.id,
        needs: job.needs,
        phase: state?.phase ?? 'pending',
        result: state?.result ?? null,
        outcome: state?.outcome ?? null,
        message: state?.message ?? null,
        instances: rows.filter((r) => r.workflowJob === job.id).sort((a, b) => a.matrixIndex - b.matrixIndex).map(toInstanceResponse),
      };
    }),
    session_id: run.sessionId,
    created_at: run.createdAt.toISOString(),
    started_at: run.startedAt.toISOString(),
    finished_at: iso(run.finishedAt),
  };
}

export function toRunSummary(run: WorkflowRunEntity): WorkflowRunSummaryDto {
  return { id: run.id, name: run.name, status: run.status, conclusion: run.conclusion, session_id: run.sessionId, created_at: run.createdAt.toISOString(), finished_at: iso(run.finishedAt) };
}

export function toPlanResponse(plan: Plan, warnings: string[]): WorkflowPlanResponseDto {
  return {
    dry_run: true,
    name: plan.name,
    warnings,
    order: plan.order,
    static_instance_count: plan.staticInstanceCount,
    jobs: plan.jobs.map((j) => ({
      id: j.id,
      name: j.name,
      needs: j.needs,
      expansion: j.expansion,
      steps: j.steps,
      skipped_reason: j.skippedReason ?? null,
      instances: j.instances.map((i) => ({ key: i.key, display_name: i.displayName, matrix: i.matrix, image: i.image ?? null })),
    })),
  };
}
