import { z } from 'zod';
import { validateDto } from 'src/common/validation';
import type { OrcaTool, ToolCall } from 'src/mcp/tool-kit';
import { cancelAbandoned, defineTool, resourceId } from 'src/mcp/tool-kit';
import { SubmitWorkflowDto } from 'src/workflows/dto/workflow.dto';
import type { WorkflowPlanResponseDto, WorkflowRunResponseDto } from 'src/workflows/dto/workflow.dto';
import type { WorkflowsService } from 'src/workflows/workflows.service';

const DEFAULT_WAIT_SECONDS = 600;

const workflowRunId = z.string().describe('Workflow run id (a UUID from run_workflow)');
const stringMap = (what: string): z.ZodRecord<z.ZodString> => z.record(z.string()).describe(what);

const instanceOutput = z.object({
  key: z.string(),
  job: z.string().describe('The workflow job id this instance belongs to'),
  display_name: z.string().describe('GitHub\'s display name, e.g. "test (3.12)" for a matrix instance'),
  status: z.string().describe('queued, waiting, running, succeeded, failed, cancelled, skipped …'),
  conclusion: z.string().nullable(),
  reason: z.string().nullable(),
  message: z.string().nullable(),
  outputs: z.record(z.string()).describe('The job outputs this instance set'),
  job_id: z.string().nullable().describe('The OrcaOps job running it (read its output with get_job_logs)'),
});

const workflowRunOutput = z.object({
  run_id: z.string(),
  name: z.string(),
  fingerprint: z.string().nullable().describe('First 12 hex digits of the workflow fingerprint: runs of the same workflow share it'),
  status: z.enum(['running', 'completed']),
  conclusion: z.string().nullable().describe('success, failure or cancelled once completed'),
  cancelled_by: z.string().nullable(),
  session_id: z.string().nullable().describe('The agent session the run belongs to (X-OrcaOps-Session), or null'),
  warnings: z.array(z.string()),
  jobs: z.array(z.object({ id: z.string(), needs: z.array(z.string()), result: z.string().nullable(), message: z.string().nullable() })),
  instances: z.array(instanceOutput),
  started_at: z.string(),
  finished_at: z.string().nullable(),
});

const planOutput = z
  .object({
    order: z.array(z.string()),
    static_instance_count: z.number(),
    warnings: z.array(z.string()),
    jobs: z.array(z.object({ id: z.string(), needs: z.array(z.string()), instances: z.array(z.object({ key: z.string(), display_name: z.string() }).passthrough()) }).passthrough()),
  })
  .passthrough();

type WorkflowRunView = z.infer<typeof workflowRunOutput>;

/** The run as a model reads it: one flat list of instances (display name, status, outputs) plus per-job results. */
export function workflowRunView(run: WorkflowRunResponseDto): WorkflowRunView {
  return {
    run_id: run.id,
    name: run.name,
    fingerprint: run.fingerprint?.slice(0, 12) ?? null,
    status: run.status as WorkflowRunView['status'],
    conclusion: run.conclusion,
    cancelled_by: run.cancelled_by,
    session_id: run.session_id,
    warnings: run.warnings,
    jobs: run.jobs.map((j) => ({ id: j.id, needs: j.needs, result: j.result, message: j.message })),
    instances: run.jobs.flatMap((j) =>
      j.instances.map((i) => ({
        key: i.key,
        job: i.job,
        display_name: i.display_name,
        status: i.status,
        conclusion: i.conclusion,
        reason: i.reason,
        message: i.message,
        outputs: i.outputs,
        job_id: i.job_id,
      })),
    ),
    started_at: run.started_at,
    finished_at: run.finished_at,
  };
}

function runSummary(run: WorkflowRunView): string {
  const failed = run.instances.filter((i) => i.conclusion === 'failure').map((i) => i.display_name);
  const head = run.status === 'completed' ? `workflow run ${run.run_id} ${run.conclusion}` : `workflow run ${run.run_id} running`;
  return failed.length ? `${head}; failed: ${failed.join(', ')} (get_job_logs with their job_id)` : head;
}

/**
 * Follows the run until it completes, the wait passes or the client cancels, with a progress
 * notification per instance change: each read waits for the next version (WorkflowsService.wait, which
 * also notices runs driven by another server).
 */
async function awaitRun(workflows: WorkflowsService, call: ToolCall, id: string, waitSeconds: number): Promise<WorkflowRunResponseDto> {
  const deadline = Date.now() + waitSeconds * 1000;
  const seen = new Map<string, string>();
  let step = 1;
  let run = await workflows.get(call.ctx, id);
  for (;;) {
    for (const job of run.jobs) {
      for (const i of job.instances) {
        const state = `${i.status}${i.reason ? ` (${i.reason})` : ''}`;
        if (seen.get(i.key) === state) continue;
        seen.set(i.key, state);
        await call.progress(++step, `${i.display_name}: ${state}`);
      }
    }
    const left = deadline - Date.now();
    if (run.status === 'completed' || left <= 0 || call.extra.signal.aborted) return run;
    run = await workflows.wait(call.ctx, id, { timeoutMs: left, after: run.version }, call.extra.signal);
  }
}

export function workflowTools(workflows: WorkflowsService): OrcaTool[] {
  return [
    defineTool({
      name: 'run_workflow',
      title: 'Run a workflow (GitHub Actions YAML)',
      description:
        'Run a multi-job workflow written as a GitHub Actions workflow file (jobs, needs, matrix, services, outputs; only ' +
        '`run:` steps execute, each job in a locked-down container; set `image: orcaops/busybox` or `orcaops/python` per job, ' +
        'or map runs-on labels with platforms / images). The whole file is validated first: errors come back with ' +
        'file:line:column to fix. By default waits until the run completes and sends a progress notification whenever an ' +
        'instance changes status; returns the run id, conclusion and every instance with its status and outputs. ' +
        'dry_run=true returns the plan (jobs, instances, order) without running. Follow with get_workflow, cancel_workflow, get_job_logs.',
      permission: 'workflow:create',
      input: {
        yaml: z.string().describe('The workflow file as YAML text'),
        file: z.string().optional().describe('File name used in diagnostics (default <inline>)'),
        inputs: z.record(z.union([z.string(), z.number(), z.boolean()])).optional().describe('Values for the workflow\'s inputs'),
        env: stringMap('Run-wide environment overriding the workflow\'s env').optional(),
        platforms: stringMap('runs-on label → image (e.g. ubuntu-latest: orcaops/python)').optional(),
        images: stringMap('Image reference → local image, applied to container, image, services (e.g. node:20: orcaops/busybox)').optional(),
        skip_unsupported: z.boolean().optional().describe('Skip unsupported `uses:` steps with a warning instead of failing validation'),
        max_parallel: z.number().int().min(1).max(64).optional().describe('Cap on instances running at once'),
        dry_run: z.boolean().optional().describe('Validate and return the plan without running anything'),
        source_id: z.string().optional().describe('A source directory uploaded with POST /v1/workflows/sources (or `orcaops workflow run --source`): actions/checkout brings it into the job'),
        wait: z.boolean().optional().describe('Wait for the run to complete (default true); false returns at once with the run id'),
        wait_seconds: z.number().int().min(1).max(1800).optional().describe(`Longest wait (default ${DEFAULT_WAIT_SECONDS}); the run keeps going after it`),
      },
      output: {
        dry_run: z.boolean(),
        finished: z.boolean().describe('false when the run still goes on (wait=false or wait_seconds passed): follow it with get_workflow'),
        run: workflowRunOutput.optional(),
        plan: planOutput.optional(),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
      async run(args, call) {
        const { yaml, file, inputs, env, platforms, images, skip_unsupported, max_parallel, dry_run, source_id } = args;
        const dto = await validateDto(SubmitWorkflowDto, { yaml, file, inputs, env, platforms, images, skip_unsupported, max_parallel, dry_run, source_id });
        const submitted = await workflows.submit(call.ctx, dto);
        if ('dry_run' in submitted) {
          const plan: WorkflowPlanResponseDto = submitted;
          return { result: { dry_run: true, finished: true, plan }, summary: `plan: ${plan.static_instance_count} instances, order ${plan.order.join(' → ')}` };
        }
        await call.progress(1, `workflow run ${submitted.id} started`);
        const final = args.wait === false ? submitted : await awaitRun(workflows, call, submitted.id, args.wait_seconds ?? DEFAULT_WAIT_SECONDS);
        if (args.wait !== false) await cancelAbandoned(call, `workflow run ${submitted.id}`, () => workflows.cancel(call.ctx, submitted.id));
        const run = workflowRunView(final);
        return { result: { dry_run: false, finished: run.status === 'completed', run }, summary: runSummary(run) };
      },
    }),
    defineTool({
      name: 'list_workflows',
      title: 'List workflow runs',
      description: 'Workflow runs of this workspace, newest first (get_workflow has the jobs and instances of one).',
      permission: 'workflow:read',
      input: {
        status: z.enum(['running', 'completed']).optional(),
        session_id: z.string().uuid().optional().describe('Only runs submitted in this agent session'),
        limit: z.number().int().min(1).max(200).optional().describe('Default 50'),
      },
      output: {
        items: z.array(
          z.object({ run_id: z.string(), name: z.string(), status: z.string(), conclusion: z.string().nullable(), session_id: z.string().nullable(), created_at: z.string(), finished_at: z.string().nullable() }),
        ),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      async run(args, call) {
        const { items } = await workflows.list(call.ctx, { status: args.status, session_id: args.session_id, limit: args.limit });
        const runs = items.map(({ id, ...rest }) => ({ run_id: id, ...rest }));
        return { result: { items: runs }, summary: `${runs.length} workflow runs` };
      },
    }),
    defineTool({
      name: 'get_workflow',
      title: 'Get a workflow run',
      description: 'A workflow run with the live status, conclusion and outputs of every job instance (each instance\'s job_id works with get_job_logs).',
      permission: 'workflow:read',
      input: { run_id: workflowRunId },
      output: { run: workflowRunOutput },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      async run(args, call) {
        const run = workflowRunView(await workflows.get(call.ctx, resourceId('workflow run', args.run_id)));
        return { result: { run }, summary: runSummary(run) };
      },
    }),
    defineTool({
      name: 'cancel_workflow',
      title: 'Cancel a workflow run',
      description:
        'Cancel a running workflow: every running job and service is stopped and queued instances never start; the run ' +
        'then completes as cancelled (get_workflow shows when). A run that already completed gives a conflict error.',
      permission: 'workflow:cancel',
      input: { run_id: workflowRunId },
      output: { run: workflowRunOutput },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
      async run(args, call) {
        const run = workflowRunView(await workflows.cancel(call.ctx, resourceId('workflow run', args.run_id)));
        return { result: { run }, summary: `workflow run ${run.run_id} cancel requested (cancelled_by ${run.cancelled_by ?? 'user'}); its jobs are being stopped` };
      },
    }),
  ];
}
