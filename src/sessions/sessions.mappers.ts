import type { JobEntity } from 'src/jobs/entities/job.entity';
import type { SandboxEntity } from 'src/sandboxes/entities/sandbox.entity';
import type { SessionJobDto, SessionResponseDto, SessionSandboxDto, SessionWorkflowRunDto } from 'src/sessions/dto/session.dto';
import type { AgentSessionEntity } from 'src/session-links/entities/agent-session.entity';
import type { WorkflowRunEntity } from 'src/workflows/entities/workflow-run.entity';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function toSessionResponse(s: AgentSessionEntity): SessionResponseDto {
  return {
    id: s.id,
    workspace_id: s.workspaceId,
    agent_type: s.agentType,
    name: s.name,
    metadata: s.metadata,
    status: s.status,
    end_reason: s.endReason,
    idle_timeout_seconds: s.idleTimeoutSeconds,
    cleanup_on_idle: s.cleanupOnIdle,
    created_by: s.createdBy,
    created_at: s.createdAt.toISOString(),
    last_activity_at: s.lastActivityAt.toISOString(),
    ended_at: iso(s.endedAt),
  };
}

export function toSessionJob(j: JobEntity): SessionJobDto {
  return {
    id: j.id,
    status: j.status,
    reason: j.reason,
    image: j.image,
    created_at: j.createdAt.toISOString(),
    finished_at: iso(j.finishedAt),
    cpu_seconds: j.cpuSeconds,
  };
}

export function toSessionSandbox(s: SandboxEntity): SessionSandboxDto {
  return {
    id: s.id,
    name: s.name,
    status: s.status,
    exit_reason: s.exitReason,
    image: s.image,
    created_at: s.createdAt.toISOString(),
    stopped_at: iso(s.stoppedAt),
  };
}

export function toSessionWorkflowRun(r: WorkflowRunEntity): SessionWorkflowRunDto {
  return { id: r.id, name: r.name, status: r.status, conclusion: r.conclusion, created_at: r.createdAt.toISOString(), finished_at: iso(r.finishedAt) };
}
