import { Injectable } from '@nestjs/common';
import { JobReads } from 'src/jobs/job-reads.service';
import { SandboxReads } from 'src/sandboxes/sandbox-reads.service';
import type { AgentSessionEntity } from 'src/session-links/entities/agent-session.entity';
import { SessionSpendDto, SessionViewResponseDto } from 'src/sessions/dto/session.dto';
import { toSessionJob, toSessionResponse, toSessionSandbox, toSessionWorkflowRun } from 'src/sessions/sessions.mappers';
import type { Permission } from 'src/tenancy/permissions';
import { WorkflowRunReads } from 'src/workflows/workflow-run-reads.service';

const VIEW_ITEMS = 100;

/**
 * What a session created and spent, read across jobs, sandboxes and workflow runs through their
 * features' read services (SessionsService changes them through their services). The caller checked
 * access to the session.
 */
@Injectable()
export class SessionView {
  constructor(
    private readonly jobReads: JobReads,
    private readonly sandboxReads: SandboxReads,
    private readonly runReads: WorkflowRunReads,
  ) {}

  /** The session, what it created (newest first) and what that spent. */
  async of(workspaceId: string, session: AgentSessionEntity): Promise<SessionViewResponseDto> {
    const { id } = session;
    const [jobs, sandboxes, runs, spend] = await Promise.all([
      this.jobReads.listForSession(workspaceId, id, VIEW_ITEMS),
      this.sandboxReads.listForSession(workspaceId, id, VIEW_ITEMS),
      this.runReads.listForSession(workspaceId, id, VIEW_ITEMS),
      this.spend(workspaceId, id),
    ]);
    return { ...toSessionResponse(session), jobs: jobs.map(toSessionJob), sandboxes: sandboxes.map(toSessionSandbox), workflow_runs: runs.map(toSessionWorkflowRun), spend };
  }

  /** The permissions a cleanup of the session needs: one per kind of work it still has live, in this order. */
  async cleanupNeeds(workspaceId: string, id: string): Promise<Permission[]> {
    const needed: Permission[] = [];
    if (await this.sandboxReads.countLiveForSession(workspaceId, id)) needed.push('sandbox:delete');
    if (await this.jobReads.countUnfinishedForSession(workspaceId, id)) needed.push('job:cancel');
    if (await this.runReads.countRunningForSession(workspaceId, id)) needed.push('workflow:cancel');
    return needed;
  }

  private async spend(workspaceId: string, id: string): Promise<SessionSpendDto> {
    const [jobs, sandboxes, serviceCpuSeconds] = await Promise.all([
      this.jobReads.spendForSession(workspaceId, id),
      this.sandboxReads.spendForSession(workspaceId, id),
      // Workflow service containers' CPU time (each attempt records it), counted like the quotas count it.
      this.runReads.serviceCpuSecondsForSession(workspaceId, id),
    ]);
    const round = (v: number): number => Math.round(v * 1000) / 1000;
    return {
      job_count: jobs.jobCount,
      cpu_seconds: round(jobs.cpuSeconds + serviceCpuSeconds),
      job_seconds: round(jobs.jobSeconds),
      artifact_bytes: jobs.artifactBytes,
      sandbox_count: sandboxes.sandboxCount,
      sandbox_seconds: round(sandboxes.sandboxSeconds),
    };
  }
}
