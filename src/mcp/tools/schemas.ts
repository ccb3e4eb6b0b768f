import { z } from 'zod';
import { DEFAULT_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS, NETWORK_MODES, PULL_POLICIES } from 'src/domain/container-spec';
import { JOB_STATUSES } from 'src/jobs/job-model';
import { SANDBOX_STATUSES } from 'src/sandboxes/sandbox-model';

/**
 * zod shapes of the MCP tools. Input constraints mirror the REST DTOs loosely (types and the obvious
 * bounds, so the model sees them in the JSON schema); the DTOs' class-validator rules stay the source
 * of truth and run again before the service (validateDto). Output objects are passthrough: the
 * listed fields are guaranteed, the rest of the REST response comes along.
 */
export const jobId = z.string().describe('Job id (a UUID from run_job, submit_job, list_jobs or search_runs)');
export const sandboxId = z.string().describe('Sandbox id (a UUID from create_sandbox or list_sandboxes)');

const envMap = z.record(z.string()).describe('Environment variables (NAME: value)');

export const resourcesInput = z
  .object({
    cpu: z.number().min(0.1).max(4).optional().describe('CPUs (default 1)'),
    memory_mb: z.number().int().min(16).max(8192).optional().describe('Memory in MiB, no swap (default 512)'),
    pids: z.number().int().min(16).max(512).optional(),
    disk_mb: z.number().int().min(1).max(1024).optional().describe('Writable /workspace size in MiB (default 256)'),
  })
  .describe('Resource limits');

/** A request's own egress destinations (network "egress" only): they can only narrow the workspace policy. */
export const egressNarrowingInput = z
  .object({
    allow_domains: z.array(z.string()).optional().describe('Names this work may reach (exact or *.domain), each within the policy'),
    allow_cidrs: z.array(z.string()).optional().describe('Address ranges, each within the policy'),
    ports: z.array(z.number().int()).optional().describe("Ports, each among the policy's"),
  })
  .describe('With network "egress": narrow the destinations to these (wider than the policy: refused, naming the entry)');

export const jobRequestInput = {
  image: z
    .string()
    .describe(
      'orcaops/python (Python 3 + shell) or orcaops/busybox (a minimal shell), which are always there; or a registry image ' +
        '(registry.example.com/team/app:1.2, name@sha256:…) that the workspace policy allows, pulled with the workspace\'s own credentials.',
    ),
  pull_policy: z.enum(PULL_POLICIES).optional().describe('if_not_present (default), always or never: when to pull the image from its registry'),
  command: z.string().optional().describe('Shell command run with /bin/sh -c in /workspace. Give `command` or `steps`.'),
  steps: z
    .array(
      z.object({
        name: z.string().optional(),
        command: z.string().optional().describe('Shell command (or give args)'),
        args: z.array(z.string()).optional().describe('argv without a shell'),
        cwd: z.string().optional(),
        env: envMap.optional(),
        timeout_seconds: z.number().int().min(1).max(MAX_TIMEOUT_SECONDS).optional(),
        continue_on_error: z.boolean().optional(),
      }),
    )
    .optional()
    .describe('Steps run in order in one container; the job stops at the first failing step'),
  env: envMap.optional(),
  secrets: z
    .record(z.string())
    .optional()
    .describe('Secrets as environment variables: {ENV_NAME: SECRET_NAME} (names from list_secrets). Values never appear in results: output shows them as ***'),
  resources: resourcesInput.optional(),
  network: z.enum(NETWORK_MODES).optional().describe('"none" (default) or "egress" where the workspace allows it'),
  egress: egressNarrowingInput.optional(),
  timeout_seconds: z
    .number()
    .int()
    .min(1)
    .max(MAX_TIMEOUT_SECONDS)
    .optional()
    .describe(`Whole-job limit in seconds (default ${DEFAULT_TIMEOUT_SECONDS}; at most the policy's resources.max_timeout_seconds: 1800 unless the organisation allows up to ${MAX_TIMEOUT_SECONDS})`),
  artifacts: z.array(z.string()).optional().describe('Files to collect afterwards: paths or globs relative to /workspace'),
  tags: z.array(z.string()).optional(),
  intent: z.string().optional().describe('Why this runs, in your words (kept with the run record)'),
  idempotency_key: z.string().optional().describe('Retrying with the same key returns the same job instead of a new one'),
};

export const stepOutput = z
  .object({ index: z.number(), name: z.string(), status: z.string(), exit_code: z.number().nullable() })
  .passthrough();

export const jobOutput = z
  .object({
    id: z.string(),
    status: z.enum(JOB_STATUSES),
    reason: z.string().nullable(),
    message: z.string().nullable(),
    exit_code: z.number().nullable(),
    image: z.string(),
    steps: z.array(stepOutput),
    created_at: z.string(),
    finished_at: z.string().nullable(),
    duration_ms: z.number().nullable(),
  })
  .passthrough();

export const jobSummaryOutput = z.object({
  id: z.string(),
  status: z.enum(JOB_STATUSES),
  reason: z.string().nullable(),
  exit_code: z.number().nullable(),
  image: z.string(),
  commands: z.array(z.string()),
  tags: z.array(z.string()),
  intent: z.string().nullable(),
  triggered_by: z.string().nullable(),
  created_at: z.string(),
  finished_at: z.string().nullable(),
  duration_ms: z.number().nullable(),
});

export const artifactOutput = z.object({
  name: z.string(),
  size_bytes: z.number(),
  sha256: z.string(),
  content_type: z.string(),
  created_at: z.string(),
});

export const jobStatusFilter = z.enum(JOB_STATUSES);
export const sandboxStatusFilter = z.enum(SANDBOX_STATUSES);

export const sandboxOutput = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    status: z.enum(SANDBOX_STATUSES),
    exit_reason: z.string().nullable(),
    image: z.string(),
    image_digest: z.string().nullable(),
    message: z.string().nullable(),
    profile: z.string().nullable(),
    network: z.string(),
    labels: z.record(z.string()),
    expires_at: z.string(),
    created_at: z.string(),
  })
  .passthrough();

export const commandInput = {
  command: z.string().optional().describe('Shell command run with /bin/sh -c. Give `command` or `args`.'),
  args: z.array(z.string()).optional().describe('argv run without a shell'),
  cwd: z.string().optional().describe('Working directory: absolute, or relative to /workspace (default /workspace)'),
  env: envMap.optional(),
};

export const fileInfoOutput = z.object({
  name: z.string(),
  path: z.string(),
  type: z.string(),
  size: z.number(),
  mode: z.string(),
  modified_at: z.string(),
});

export const processOutput = z.object({
  process_id: z.string(),
  command: z.array(z.string()),
  running: z.boolean(),
  exit_code: z.number().nullable(),
  started_at: z.string(),
  ended_at: z.string().nullable(),
});
