import { z } from 'zod';
import { validateDto } from 'src/common/validation';
import { CreateJobDto } from 'src/jobs/dto/create-job.dto';
import type { ArtifactResponseDto, JobResponseDto, JobSummaryResponseDto, LogChunkDto } from 'src/jobs/dto/job-response.dto';
import { TERMINAL_STATUSES } from 'src/jobs/job-model';
import type { JobsService } from 'src/jobs/jobs.service';
import type { OrcaTool, ToolCall } from 'src/mcp/tool-kit';
import { cancelAbandoned, defineTool, resourceId } from 'src/mcp/tool-kit';
import { artifactOutput, jobId, jobOutput, jobRequestInput, jobStatusFilter, jobSummaryOutput } from 'src/mcp/tools/schemas';
import type { TenantContext } from 'src/tenancy/tenant-context';

const DEFAULT_WAIT_SECONDS = 600;
/** A short tail by default: a failed job's summary names the error line (get_job_log_excerpt shows its context). */
const DEFAULT_TAIL_CHARS = 2000;
/** Progress notifications while output streams: at most one per interval (a chatty job must not flood). */
const PROGRESS_INTERVAL_MS = 250;
const ARTIFACT_DEFAULT_BYTES = 256 * 1024;
const ARTIFACT_MAX_BYTES = 4 * 1024 * 1024;

type JobRequestArgs = { [K in keyof typeof jobRequestInput]?: unknown };

/** The CreateJobDto a tool's arguments describe (validated with the REST rules). */
function jobRequest(args: JobRequestArgs): Promise<CreateJobDto> {
  const { image, pull_policy, command, steps, env, secrets, resources, network, egress, timeout_seconds, artifacts, tags, intent, idempotency_key } = args;
  return validateDto(CreateJobDto, { image, pull_policy, command, steps, env, secrets, resources, network, egress, timeout_seconds, artifacts, tags, intent, idempotency_key });
}

export function jobSummary(job: JobResponseDto): z.infer<typeof jobSummaryOutput> {
  const { id, status, reason, exit_code, image, commands, tags, intent, triggered_by, created_at, finished_at, duration_ms } = job;
  return { id, status: status as z.infer<typeof jobStatusFilter>, reason, exit_code, image, commands, tags, intent, triggered_by, created_at, finished_at, duration_ms };
}

function tailOf(chunks: LogChunkDto[], stream: string, chars: number): string {
  const text = chunks.filter((c) => c.stream === stream).map((c) => c.data).join('');
  return text.length > chars ? text.slice(-chars) : text;
}

function lastLine(text: string): string {
  const lines = text.trimEnd().split('\n');
  return (lines[lines.length - 1] ?? '').slice(0, 200);
}

const summaryOutput = z
  .object({
    kind: z.string().describe('python_exception, command_not_found, pip_error, pytest_failure, oom_killed, timeout, ... (see get_job_log_excerpt)'),
    summary: z.string().describe('One line: what went wrong'),
    error_line: z.number().nullable().describe('Line of the output that carries the error (null: the run record says why, e.g. OOM)'),
    suggestion: z.string().nullable().describe('A concrete next step when the cause is known'),
  })
  .nullable()
  .describe('What the output says went wrong; null unless the job ended without succeeding. get_job_log_excerpt returns the supporting lines');

/** The compact summary of a job that ended without succeeding (null otherwise: nothing to explain). */
async function failureSummary(jobs: JobsService, ctx: TenantContext, job: JobResponseDto): Promise<z.infer<typeof summaryOutput>> {
  if (!TERMINAL_STATUSES.has(job.status as never) || job.status === 'succeeded') return null;
  const { kind, summary, error_line, suggestion } = await jobs.summary(ctx, job.id);
  return { kind, summary, error_line, suggestion };
}

function excerptText(s: JobSummaryResponseDto): string {
  const width = String(s.excerpt[s.excerpt.length - 1]?.line ?? 0).length;
  return s.excerpt.map((e) => `${String(e.line).padStart(width)}${e.line === s.error_line ? '>' : ' '} ${e.text}`).join('\n');
}

const runResultOutput = {
  job_id: z.string(),
  finished: z.boolean().describe('false when wait_seconds passed first: the job keeps running; follow it with get_job / get_job_logs'),
  status: jobStatusFilter,
  reason: z.string().nullable(),
  message: z.string().nullable(),
  exit_code: z.number().nullable(),
  steps: z.array(z.object({ name: z.string(), status: z.string(), exit_code: z.number().nullable() })),
  stdout_tail: z.string(),
  stderr_tail: z.string(),
  output_truncated: z.boolean(),
  artifacts: z.array(artifactOutput),
  duration_ms: z.number().nullable(),
  summary: summaryOutput,
};

async function finalResult(jobs: JobsService, ctx: TenantContext, job: JobResponseDto, tailChars: number): Promise<z.infer<z.ZodObject<typeof runResultOutput>>> {
  const finished = TERMINAL_STATUSES.has(job.status as never);
  const logs = await jobs.readLogs(ctx, job.id, { tail: 2000 });
  const artifacts: ArtifactResponseDto[] = finished ? await jobs.listArtifacts(ctx, job.id) : [];
  return {
    job_id: job.id,
    finished,
    status: job.status as z.infer<typeof jobStatusFilter>,
    reason: job.reason,
    message: job.message,
    exit_code: job.exit_code,
    steps: job.steps.map((s) => ({ name: s.name, status: s.status, exit_code: s.exit_code })),
    stdout_tail: tailOf(logs.items, 'stdout', tailChars),
    stderr_tail: tailOf(logs.items, 'stderr', tailChars) + tailOf(logs.items, 'system', 2000),
    output_truncated: job.usage.output_truncated,
    artifacts,
    duration_ms: job.duration_ms,
    summary: await failureSummary(jobs, ctx, job),
  };
}

/** Follows the job's output until it ends, the wait passes or the client cancels; reports progress. */
async function follow(jobs: JobsService, call: ToolCall, id: string, waitSeconds: number): Promise<void> {
  const signal = AbortSignal.any([call.extra.signal, AbortSignal.timeout(waitSeconds * 1000)]);
  let step = 1;
  let lastSent = 0;
  for await (const event of jobs.streamLogs(call.ctx, id, 0, signal)) {
    if (event.event === 'output') {
      const chunk = event.data as LogChunkDto;
      if (Date.now() - lastSent < PROGRESS_INTERVAL_MS) continue;
      lastSent = Date.now();
      await call.progress(++step, `running: ${lastLine(chunk.data)}`);
    } else if (event.event === 'end') {
      await call.progress(++step, `finished: ${(event.data as { status: string }).status}`);
    }
  }
}

export function jobTools(jobs: JobsService): OrcaTool[] {
  return [
    defineTool({
      name: 'run_job',
      title: 'Run code and wait for the result',
      description:
        'Run a shell command (or several steps) in a fresh, locked-down container and wait for it to finish. ' +
        'No network unless allowed; nothing persists after the job. Returns status, exit codes per step, the tail of ' +
        'stdout and stderr, and collected artifacts (read them with read_artifact). Sends progress notifications with ' +
        'the latest output line while it runs. Use a sandbox instead when you need state across several commands.',
      permission: 'job:create',
      input: {
        ...jobRequestInput,
        wait_seconds: z.number().int().min(1).max(1800).optional().describe(`Longest wait before returning (default ${DEFAULT_WAIT_SECONDS}); the job keeps running after it`),
        tail_chars: z.number().int().min(100).max(100_000).optional().describe(`Characters of stdout/stderr tail to return (default ${DEFAULT_TAIL_CHARS})`),
      },
      output: runResultOutput,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
      async run(args, call) {
        const dto = await jobRequest(args);
        const { job, replayed } = await jobs.submit(call.ctx, dto);
        await call.progress(1, `job ${job.id} queued`);
        await follow(jobs, call, job.id, args.wait_seconds ?? DEFAULT_WAIT_SECONDS);
        // A replayed submit (same idempotency_key) returned a job an earlier call started: not this call's to cancel.
        if (!replayed) await cancelAbandoned(call, `job ${job.id}`, () => jobs.cancel(call.ctx, job.id));
        const result = await finalResult(jobs, call.ctx, await jobs.get(call.ctx, job.id), args.tail_chars ?? DEFAULT_TAIL_CHARS);
        const summary = result.finished
          ? `job ${job.id} ${result.status}${result.exit_code === null ? '' : ` (exit ${result.exit_code})`}${result.summary ? `: ${result.summary.summary}` : ''}`
          : `job ${job.id} still ${result.status} after ${args.wait_seconds ?? DEFAULT_WAIT_SECONDS}s; it keeps running (get_job, get_job_logs, cancel_job)`;
        return { result, summary };
      },
    }),
    defineTool({
      name: 'submit_job',
      title: 'Start a job without waiting',
      description:
        'Start a job like run_job but return at once with its id and status: "running", "queued" (the workspace is at ' +
        'its running-jobs cap) or "awaiting_approval" (when the ' +
        'workspace policy needs an approver: it runs once approved). Use it for long work; follow it with ' +
        'get_job (status), get_job_logs (output) and cancel_job.',
      permission: 'job:create',
      input: jobRequestInput,
      output: { job: jobOutput, replayed: z.boolean().describe('true when an earlier submit with the same idempotency_key was returned') },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
      async run(args, call) {
        const { job, replayed } = await jobs.submit(call.ctx, await jobRequest(args));
        return { result: { job, replayed }, summary: `job ${job.id} ${job.status}` };
      },
    }),
    defineTool({
      name: 'get_job',
      title: 'Get a job',
      description:
        'A job and its run record: status, reason, exit code, steps, resources, usage and timings; for a job that ended ' +
        'without succeeding, a one-line summary of what went wrong with a suggestion (get_job_log_excerpt: the lines behind it).',
      permission: 'job:read',
      input: { job_id: jobId },
      output: { job: jobOutput, summary: summaryOutput },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      async run(args, call) {
        const job = await jobs.get(call.ctx, resourceId('job', args.job_id));
        const summary = await failureSummary(jobs, call.ctx, job);
        return { result: { job, summary }, summary: `job ${job.id} ${job.status}${summary ? `: ${summary.summary}` : ''}` };
      },
    }),
    defineTool({
      name: 'get_job_log_excerpt',
      title: 'Why a job failed: the summary and the output lines behind it',
      description:
        'For a job that has ended: its one-line summary, the excerpt of its output that supports it (numbered lines, the ' +
        'error line marked with ">"), and a suggestion when the cause is known (a missing module, a path that does not ' +
        'exist, the memory limit). Much smaller than the whole log: read this before get_job_logs.',
      permission: 'job:read',
      input: { job_id: jobId },
      output: {
        job_id: z.string(),
        status: z.string(),
        kind: z.string(),
        summary: z.string(),
        error_line: z.number().nullable(),
        excerpt: z.string().describe('Numbered lines of the output; ">" marks the error line'),
        suggestion: z.string().nullable(),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      async run(args, call) {
        const s = await jobs.summary(call.ctx, resourceId('job', args.job_id));
        const { job_id, status, kind, summary, error_line, suggestion } = s;
        return { result: { job_id, status, kind, summary, error_line, excerpt: excerptText(s), suggestion }, summary: `job ${job_id} ${status}: ${summary}` };
      },
    }),
    defineTool({
      name: 'get_job_logs',
      title: 'Read a job\'s output',
      description:
        'Output of a job, split into stdout, stderr and system messages. By default the last 200 chunks; or page from the ' +
        'start with after (pass next_after back to continue). complete=true once the job ended and everything was read.',
      permission: 'job:read',
      input: {
        job_id: jobId,
        tail: z.number().int().min(1).max(10_000).optional().describe('Only the last N chunks (default 200 when after is not given)'),
        after: z.number().int().min(0).optional().describe('Chunks after this sequence number (0 = from the start)'),
        limit: z.number().int().min(1).max(5000).optional(),
      },
      output: { stdout: z.string(), stderr: z.string(), system: z.string(), next_after: z.number(), complete: z.boolean(), truncated: z.boolean() },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      async run(args, call) {
        const tail = args.after === undefined ? (args.tail ?? 200) : args.tail;
        const page = await jobs.readLogs(call.ctx, resourceId('job', args.job_id), { tail, after: args.after, limit: args.limit });
        const join = (stream: string): string => page.items.filter((c) => c.stream === stream).map((c) => c.data).join('');
        return {
          result: { stdout: join('stdout'), stderr: join('stderr'), system: join('system'), next_after: page.next_after, complete: page.complete, truncated: page.truncated },
        };
      },
    }),
    defineTool({
      name: 'cancel_job',
      title: 'Cancel a job',
      description: 'Cancel a queued or running job; a running job\'s container is killed. A job that already ended gives a conflict error.',
      permission: 'job:cancel',
      input: { job_id: jobId },
      output: { job: jobOutput },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
      async run(args, call) {
        const job = await jobs.cancel(call.ctx, resourceId('job', args.job_id));
        return { result: { job }, summary: `job ${job.id} ${job.status}` };
      },
    }),
    defineTool({
      name: 'list_jobs',
      title: 'List recent jobs',
      description: 'The newest jobs of this workspace (optionally only one status), as short summaries. Use search_runs to filter by tag, image or time.',
      permission: 'job:read',
      input: {
        status: jobStatusFilter.optional(),
        limit: z.number().int().min(1).max(100).optional().describe('Default 20'),
        cursor: z.string().optional().describe('next_cursor of the previous page'),
      },
      output: { items: z.array(jobSummaryOutput), next_cursor: z.string().nullable() },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      async run(args, call) {
        const page = await jobs.list(call.ctx, { status: args.status, cursor: args.cursor, limit: args.limit ?? 20 });
        return { result: { items: page.items.map(jobSummary), next_cursor: page.next_cursor } };
      },
    }),
    defineTool({
      name: 'read_artifact',
      title: 'Read a job artifact',
      description:
        'Without name: the list of files the job collected. With name: that file\'s content (utf8 text, or base64 for ' +
        'binary files), cut at max_bytes.',
      permission: 'job:read',
      input: {
        job_id: jobId,
        name: z.string().optional().describe('Artifact name as listed (e.g. out/report.txt)'),
        max_bytes: z.number().int().min(1).max(ARTIFACT_MAX_BYTES).optional().describe(`Default ${ARTIFACT_DEFAULT_BYTES}`),
      },
      output: {
        job_id: z.string(),
        artifacts: z.array(artifactOutput).optional(),
        artifact: artifactOutput.optional(),
        encoding: z.enum(['utf8', 'base64']).optional(),
        content: z.string().optional(),
        truncated: z.boolean().optional(),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      async run(args, call) {
        const id = resourceId('job', args.job_id);
        if (args.name === undefined) return { result: { job_id: id, artifacts: await jobs.listArtifacts(call.ctx, id) } };
        const { artifact, body } = await jobs.openArtifact(call.ctx, id, args.name);
        const max = args.max_bytes ?? ARTIFACT_DEFAULT_BYTES;
        const bytes = await readUpTo(body, max);
        const text = bytes.toString('utf8');
        const binary = text.includes('\uFFFD') || bytes.includes(0);
        return {
          result: { job_id: id, artifact, encoding: binary ? 'base64' : 'utf8', content: binary ? bytes.toString('base64') : text, truncated: artifact.size_bytes > bytes.length },
        };
      },
    }),
  ];
}

async function readUpTo(body: NodeJS.ReadableStream & { destroy?: () => void }, max: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    parts.push(buf);
    size += buf.length;
    if (size >= max) break;
  }
  body.destroy?.();
  return Buffer.concat(parts).subarray(0, max);
}
