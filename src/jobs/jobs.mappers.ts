import type { ArtifactResponseDto, JobResponseDto, JobSummaryResponseDto, LogChunkDto } from 'src/jobs/dto/job-response.dto';
import type { JobArtifactEntity } from 'src/jobs/entities/job-artifact.entity';
import type { JobLogChunkEntity } from 'src/jobs/entities/job-log-chunk.entity';
import type { JobSummaryEntity } from 'src/jobs/entities/job-summary.entity';
import type { JobEntity } from 'src/jobs/entities/job.entity';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** The API's view of a job: no container ids, runner ids or host paths (hardening.md §5.1 API3). */
export function toJobResponse(job: JobEntity): JobResponseDto {
  const spec = job.spec;
  return {
    id: job.id,
    workspace_id: job.workspaceId,
    session_id: job.sessionId,
    status: job.status,
    reason: job.reason,
    message: job.message,
    exit_code: job.exitCode,
    image: job.image,
    image_digest: job.imageDigest ?? null,
    pull_policy: spec.pull_policy ?? 'if_not_present',
    pull_started_at: iso(job.pullStartedAt ?? null),
    pull_finished_at: iso(job.pullFinishedAt ?? null),
    steps: job.steps,
    commands: spec.steps.map((s) => s.command ?? JSON.stringify(s.args)),
    env_keys: Object.keys(spec.env).sort(),
    secrets: { ...spec.secrets },
    resources: spec.resources,
    network: spec.network,
    timeout_seconds: spec.timeout_seconds,
    artifact_patterns: spec.artifacts,
    cleanup_policy: spec.cleanup_policy,
    tags: job.tags,
    intent: job.intent,
    triggered_by: job.triggeredBy,
    metadata: job.metadata,
    idempotency_key: job.idempotencyKey,
    usage: {
      cpu_seconds: job.cpuSeconds,
      memory_peak_bytes: job.memoryPeakBytes,
      output_bytes: job.outputBytes,
      output_truncated: job.outputTruncated,
      block_read_bytes: job.blockReadBytes ?? null,
      block_write_bytes: job.blockWriteBytes ?? null,
      pids_peak: job.pidsPeak ?? null,
    },
    record: {
      fingerprint: job.fingerprint ?? null,
      engine_version: job.engineVersion ?? null,
      runtime_version: job.runtimeVersion ?? null,
      phases: job.phases ?? null,
    },
    approval: job.approval,
    created_at: job.createdAt.toISOString(),
    started_at: iso(job.startedAt),
    finished_at: iso(job.finishedAt),
    // Run time only: a pull phase before it is not counted.
    duration_ms: job.startedAt && job.finishedAt ? job.finishedAt.getTime() - Math.max(job.startedAt.getTime(), job.pullFinishedAt?.getTime() ?? 0) : null,
  };
}

export function toArtifactResponse(a: JobArtifactEntity): ArtifactResponseDto {
  return { name: a.name, size_bytes: a.sizeBytes, sha256: a.sha256, content_type: a.contentType, created_at: a.createdAt.toISOString() };
}

export function toLogChunk(c: JobLogChunkEntity): LogChunkDto {
  return { seq: c.seq, step: c.step, stream: c.stream, data: c.data.toString('utf8'), at: c.createdAt.toISOString() };
}

export function toJobSummaryResponse(job: JobEntity, row: JobSummaryEntity): JobSummaryResponseDto {
  return {
    job_id: job.id,
    status: job.status,
    kind: row.kind,
    summary: row.summary,
    error_line: row.errorLine,
    excerpt: row.excerpt,
    suggestion: row.suggestion,
    analysed_bytes: row.analysedBytes,
  };
}
