import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { AuditService } from 'src/audit/audit.service';
import { JobsService } from 'src/jobs/jobs.service';
import { SandboxesService } from 'src/sandboxes/sandboxes.service';
import { WorkflowsService } from 'src/workflows/workflows.service';
import { WorkspaceLifecycle, WorkspaceLifecycleEvent } from 'src/workspaces/workspace-lifecycle';

export interface StoppedWork {
  workflow_runs_cancelled: number;
  jobs_cancelled: number;
  sandboxes_stopped: number;
}

/**
 * When a tenant loses the right to run work, the work already running stops too:
 * - a workspace suspended or archived: every running workflow run and unfinished job is cancelled and
 *   every live sandbox stopped (exit reason workspace_suspended);
 * - a workspace token revoked: the same for what that token started (exit reason token_revoked). A
 *   revoked token is most often a leaked one, so its runs must not go on acting in its name.
 * Each cancellation is audited as the system; one summary event (`workspace.work_stopped`) names the
 * admin who caused it and the counts.
 */
@Injectable()
export class WorkStopperService implements OnModuleInit {
  private readonly logger = new Logger('WorkStopper');

  constructor(
    private readonly lifecycle: WorkspaceLifecycle,
    private readonly jobs: JobsService,
    private readonly sandboxes: SandboxesService,
    private readonly workflows: WorkflowsService,
    private readonly audit: AuditService,
  ) {}

  onModuleInit(): void {
    this.lifecycle.on(async (event) => {
      await this.stop(event);
    });
  }

  async stop(event: WorkspaceLifecycleEvent): Promise<StoppedWork> {
    const { workspaceId } = event;
    const createdBy = event.kind === 'token_revoked' ? event.tokenId : undefined;
    // Runs first: their runners stop the instance jobs and services they started; the jobs' cancel catches the rest.
    const stopped: StoppedWork = {
      workflow_runs_cancelled: await this.workflows.cancelAllFor(workspaceId, createdBy),
      jobs_cancelled: await this.jobs.cancelAllFor(workspaceId, createdBy),
      sandboxes_stopped: await this.sandboxes.stopAllFor(workspaceId, event.kind === 'token_revoked' ? 'token_revoked' : 'workspace_suspended', createdBy),
    };
    const why = event.kind === 'token_revoked' ? { reason: 'token_revoked', token_id: event.tokenId } : { reason: `workspace_${event.status}` };
    // Nothing was running: the suspend or revoke event itself is the whole story (one event per mutation).
    if (stopped.workflow_runs_cancelled + stopped.jobs_cancelled + stopped.sandboxes_stopped === 0) return stopped;
    await this.audit.record(event.actor, {
      action: 'workspace.work_stopped',
      resourceType: event.kind === 'token_revoked' ? 'token' : 'workspace',
      resourceId: event.kind === 'token_revoked' ? event.tokenId : workspaceId,
      workspaceId,
      details: { ...why, ...stopped },
    });
    this.logger.log({ msg: 'stopped running work', workspaceId, ...why, ...stopped });
    return stopped;
  }
}
