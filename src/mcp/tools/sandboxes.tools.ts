import { z } from 'zod';
import { PULL_POLICIES } from 'src/domain/container-spec';
import { validateDto } from 'src/common/validation';
import type { OrcaTool } from 'src/mcp/tool-kit';
import { defineTool, resourceId } from 'src/mcp/tool-kit';
import { commandInput, egressNarrowingInput, fileInfoOutput, processOutput, resourcesInput, sandboxId, sandboxOutput, sandboxStatusFilter } from 'src/mcp/tools/schemas';
import { CreateSandboxDto, ExtendSandboxDto } from 'src/sandboxes/dto/create-sandbox.dto';
import { CommandDto, ExecDto, ShellRunDto, WriteFileDto } from 'src/sandboxes/interaction/dto/interaction.dto';
import { INTERACTION_LIMITS } from 'src/sandboxes/interaction/interaction.limits';
import type { SandboxExecService } from 'src/sandboxes/interaction/sandbox-exec.service';
import type { SandboxFilesService } from 'src/sandboxes/interaction/sandbox-files.service';
import type { SandboxProcessesService } from 'src/sandboxes/interaction/sandbox-processes.service';
import type { SandboxShellsService } from 'src/sandboxes/interaction/sandbox-shells.service';
import type { SandboxesService } from 'src/sandboxes/sandboxes.service';

export interface SandboxServices {
  sandboxes: SandboxesService;
  exec: SandboxExecService;
  shells: SandboxShellsService;
  processes: SandboxProcessesService;
  files: SandboxFilesService;
}

const READ_FILE_DEFAULT_BYTES = 256 * 1024;
const READ = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;
/** Commands in a sandbox can do anything inside it (delete files, kill processes): not read-only, possibly destructive. */
const RUNS_CODE = { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false } as const;

const shellOutput = {
  session: z.string(),
  command_id: z.string().describe('Pass back (with no command) to keep waiting for this command'),
  status: z.enum(['running', 'completed']),
  exit_code: z.number().nullable(),
  output: z.string().describe('stdout and stderr interleaved, new since the previous response for this command'),
  truncated: z.boolean(),
  cwd: z.string().nullable(),
  duration_ms: z.number(),
  shell_exited: z.boolean(),
};

function lifecycleTools(s: SandboxServices): OrcaTool[] {
  return [
    defineTool({
      name: 'create_sandbox',
      title: 'Create a sandbox',
      description:
        'Start a long-lived, locked-down container for several commands: state (files, shell cwd and variables, ' +
        'background processes) persists between calls. Returns once it is ready. It ends at its TTL (default 1 h), after ' +
        'its idle timeout (default 10 min without calls) or with delete_sandbox — delete it when done.',
      permission: 'sandbox:create',
      input: {
        image: z
          .string()
          .optional()
          .describe(
            'orcaops/python or orcaops/busybox (always there), or a registry image the workspace policy allows, pulled with the ' +
              "workspace's own credentials. Give image or profile.",
          ),
        pull_policy: z.enum(PULL_POLICIES).optional().describe('if_not_present (default), always or never: when to pull the image from its registry'),
        profile: z.string().optional().describe('A profile name from the operator catalogue'),
        name: z.string().optional(),
        resources: resourcesInput.optional(),
        env: z.record(z.string()).optional().describe('Environment for every command in the sandbox'),
        secrets: z
          .record(z.string())
          .optional()
          .describe('Secrets as environment variables of every command: {ENV_NAME: SECRET_NAME} (names from list_secrets). Values never appear in results: output shows them as ***'),
        network: z.enum(['none', 'egress']).optional(),
        egress: egressNarrowingInput.optional(),
        labels: z.record(z.string()).optional(),
        ttl_seconds: z.number().int().min(1).max(86_400).optional(),
        idle_timeout_seconds: z.number().int().min(1).max(86_400).optional(),
      },
      output: { sandbox: sandboxOutput },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
      async run(args, call) {
        const sandbox = await s.sandboxes.create(call.ctx, await validateDto(CreateSandboxDto, args));
        return { result: { sandbox }, summary: `sandbox ${sandbox.id} ${sandbox.status}` };
      },
    }),
    defineTool({
      name: 'get_sandbox',
      title: 'Get a sandbox',
      description: 'A sandbox and its state (status, expiry, exit reason).',
      permission: 'sandbox:read',
      input: { sandbox_id: sandboxId },
      output: { sandbox: sandboxOutput },
      annotations: READ,
      async run(args, call) {
        return { result: { sandbox: await s.sandboxes.get(call.ctx, resourceId('sandbox', args.sandbox_id)) } };
      },
    }),
    defineTool({
      name: 'list_sandboxes',
      title: 'List sandboxes',
      description: 'Sandboxes of this workspace, newest first; filter by status (e.g. "ready") and labels.',
      permission: 'sandbox:read',
      input: {
        status: sandboxStatusFilter.optional(),
        labels: z.record(z.string()).optional().describe('Only sandboxes carrying all these labels'),
        limit: z.number().int().min(1).max(200).optional().describe('Default 20'),
        cursor: z.string().max(200).optional(),
      },
      output: { items: z.array(sandboxOutput), next_cursor: z.string().nullable() },
      annotations: READ,
      async run(args, call) {
        const labels = Object.entries(args.labels ?? {}).map(([k, v]) => `${k}=${v}`);
        const page = await s.sandboxes.list(call.ctx, { status: args.status, labels, cursor: args.cursor, limit: args.limit ?? 20 });
        return { result: page, summary: `${page.items.length} sandbox(es)` };
      },
    }),
    defineTool({
      name: 'extend_sandbox',
      title: 'Extend a sandbox',
      description: 'Keep a sandbox alive: it now expires ttl_seconds from now (10–86400).',
      permission: 'sandbox:create',
      input: { sandbox_id: sandboxId, ttl_seconds: z.number().int().min(10).max(86_400) },
      output: { sandbox: sandboxOutput },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      async run(args, call) {
        const { ttl_seconds } = await validateDto(ExtendSandboxDto, { ttl_seconds: args.ttl_seconds });
        const sandbox = await s.sandboxes.extend(call.ctx, resourceId('sandbox', args.sandbox_id), ttl_seconds);
        return { result: { sandbox }, summary: `sandbox ${sandbox.id} expires at ${sandbox.expires_at}` };
      },
    }),
    defineTool({
      name: 'delete_sandbox',
      title: 'Delete a sandbox',
      description: 'Stop a sandbox and remove its container with everything in it (files, shells, processes). Returns it stopped.',
      permission: 'sandbox:delete',
      input: { sandbox_id: sandboxId },
      output: { sandbox: sandboxOutput },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
      async run(args, call) {
        const sandbox = await s.sandboxes.delete(call.ctx, resourceId('sandbox', args.sandbox_id));
        return { result: { sandbox }, summary: `sandbox ${sandbox.id} ${sandbox.status}` };
      },
    }),
  ];
}

function commandTools(s: SandboxServices): OrcaTool[] {
  return [
    defineTool({
      name: 'exec',
      title: 'Run one command in a sandbox',
      description:
        'Run one command in a fresh process in the sandbox and return exit_code, stdout and stderr (first 1 MiB each). ' +
        'Nothing carries over to the next call except files; use shell for cd/export/variables that persist. ' +
        'timeout_seconds (default 60) kills the whole process group.',
      permission: 'sandbox:exec',
      input: {
        sandbox_id: sandboxId,
        ...commandInput,
        timeout_seconds: z.number().int().min(1).max(INTERACTION_LIMITS.execMaxTimeoutSeconds).optional(),
        stdin: z.string().optional().describe('Written to stdin, which is then closed'),
      },
      output: {
        exit_code: z.number().nullable(),
        stdout: z.string(),
        stderr: z.string(),
        stdout_truncated: z.boolean(),
        stderr_truncated: z.boolean(),
        timed_out: z.boolean(),
        duration_ms: z.number(),
        summary: z
          .object({ kind: z.string(), summary: z.string(), suggestion: z.string().nullable() })
          .nullable()
          .describe('For a command that did not exit 0: what its output says went wrong, with a suggestion when known'),
      },
      annotations: RUNS_CODE,
      async run({ sandbox_id, ...request }, call) {
        const result = await s.exec.collect(call.ctx, resourceId('sandbox', sandbox_id), await validateDto(ExecDto, request), call.extra.signal);
        const why = result.summary ? `: ${result.summary.summary}` : '';
        return { result, summary: result.timed_out ? `timed out${why}` : `exit ${result.exit_code}${why}` };
      },
    }),
    defineTool({
      name: 'shell',
      title: 'Persistent shell',
      description:
        'Run a command in a named persistent shell of the sandbox (created on first use): cwd, exported variables and ' +
        'shell variables persist across calls. Returns when the command completes, or after timeout_seconds (default 30) ' +
        'with status "running", the output so far and a command_id: call shell again with that command_id (no command) ' +
        'to keep waiting, with input to write to its stdin, or with interrupt: true to stop it (Ctrl-C; the shell survives).',
      permission: 'sandbox:exec',
      input: {
        sandbox_id: sandboxId,
        session: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional().describe('Shell name (default "main"); use several for parallel work'),
        command: z.string().optional().describe('Shell text to run (one command at a time per shell)'),
        command_id: z.string().optional().describe('Continue waiting for this running command'),
        input: z.string().optional().describe('Text for the running command\'s stdin (include "\\n" to end a line)'),
        interrupt: z.boolean().optional().describe('Stop the running command'),
        timeout_seconds: z.number().int().min(0).max(INTERACTION_LIMITS.shellMaxWaitSeconds).optional(),
      },
      output: shellOutput,
      annotations: RUNS_CODE,
      async run(args, call) {
        const id = resourceId('sandbox', args.sandbox_id);
        const session = args.session ?? 'main';
        const timeout = args.timeout_seconds ?? INTERACTION_LIMITS.shellDefaultSoftTimeoutSeconds;
        let view;
        if (args.interrupt) view = await s.shells.interrupt(call.ctx, id, session);
        else if (args.command !== undefined) {
          const dto = await validateDto(ShellRunDto, { command: args.command, timeout_seconds: timeout });
          view = await s.shells.run(call.ctx, id, session, dto.command, dto.timeout_seconds);
        } else {
          if (args.input !== undefined) await s.shells.input(call.ctx, id, session, Buffer.from(args.input, 'utf8'));
          view = await s.shells.wait(call.ctx, id, session, timeout, args.command_id);
        }
        const summary = view.status === 'completed' ? `exit ${view.exit_code} (cwd ${view.cwd})` : `still running (command_id ${view.command_id})`;
        return { result: { session, ...view }, summary };
      },
    }),
    defineTool({
      name: 'start_process',
      title: 'Start a background process',
      description:
        'Start a long-running process in the sandbox (a server, a watcher) and return its process_id at once. Its output ' +
        'is kept (last 1 MiB); read it with read_process_output; stop it with kill_process.',
      permission: 'sandbox:exec',
      input: { sandbox_id: sandboxId, ...commandInput },
      output: { process: processOutput },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
      async run({ sandbox_id, ...spec }, call) {
        const process = await s.processes.start(call.ctx, resourceId('sandbox', sandbox_id), await validateDto(CommandDto, spec));
        return { result: { process }, summary: `process ${process.process_id} started` };
      },
    }),
    defineTool({
      name: 'read_process_output',
      title: 'Read a background process\'s output',
      description:
        'Output of a background process after a sequence number (pass next_after back to read on), or its last chunks ' +
        'with tail; also whether it still runs and its exit code.',
      permission: 'sandbox:read',
      input: {
        sandbox_id: sandboxId,
        process_id: z.string(),
        after: z.number().int().min(0).optional().describe('Chunks after this sequence number (default 0)'),
        tail: z.number().int().min(1).max(5000).optional(),
        limit: z.number().int().min(1).max(5000).optional(),
      },
      output: { output: z.string(), stderr: z.string(), next_after: z.number(), first_seq: z.number(), running: z.boolean(), exit_code: z.number().nullable() },
      annotations: READ,
      async run(args, call) {
        const page = await s.processes.output(call.ctx, resourceId('sandbox', args.sandbox_id), resourceId('process', args.process_id), args.after ?? 0, args.limit ?? 1000, args.tail);
        const join = (stream: string): string => page.items.filter((c) => c.stream === stream).map((c) => c.data).join('');
        return { result: { output: join('stdout'), stderr: join('stderr'), next_after: page.next_after, first_seq: page.first_seq, running: page.running, exit_code: page.exit_code } };
      },
    }),
    defineTool({
      name: 'kill_process',
      title: 'Kill a background process',
      description: 'Kill a background process and everything it started; returns it with its exit code.',
      permission: 'sandbox:exec',
      input: { sandbox_id: sandboxId, process_id: z.string() },
      output: { process: processOutput },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
      async run(args, call) {
        const process = await s.processes.kill(call.ctx, resourceId('sandbox', args.sandbox_id), resourceId('process', args.process_id));
        return { result: { process } };
      },
    }),
  ];
}

function fileTools(s: SandboxServices): OrcaTool[] {
  return [
    defineTool({
      name: 'write_file',
      title: 'Write a file',
      description: 'Create or overwrite a file in the sandbox (parents are created). Path absolute or relative to /workspace.',
      permission: 'sandbox:exec',
      input: {
        sandbox_id: sandboxId,
        path: z.string(),
        content: z.string(),
        encoding: z.enum(['utf8', 'base64']).optional().describe('utf8 (default) or base64 for binary content'),
      },
      output: { file: fileInfoOutput },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
      async run({ sandbox_id, ...request }, call) {
        const dto = await validateDto(WriteFileDto, request);
        const file = await s.files.write(call.ctx, resourceId('sandbox', sandbox_id), dto.path, Buffer.from(dto.content, dto.encoding === 'base64' ? 'base64' : 'utf8'));
        return { result: { file }, summary: `wrote ${file.size} bytes to ${file.path}` };
      },
    }),
    defineTool({
      name: 'read_file',
      title: 'Read a file',
      description: 'Content of a regular file in the sandbox (utf8, or base64 with encoding "base64"). Symlinks are refused, not followed.',
      permission: 'sandbox:read',
      input: {
        sandbox_id: sandboxId,
        path: z.string(),
        encoding: z.enum(['utf8', 'base64']).optional(),
        max_bytes: z.number().int().min(1).max(INTERACTION_LIMITS.jsonContentMaxBytes).optional().describe(`Refuse larger files (default ${READ_FILE_DEFAULT_BYTES})`),
      },
      output: { path: z.string(), encoding: z.enum(['utf8', 'base64']), content: z.string(), size: z.number() },
      annotations: READ,
      async run(args, call) {
        const data = await s.files.read(call.ctx, resourceId('sandbox', args.sandbox_id), args.path, args.max_bytes ?? READ_FILE_DEFAULT_BYTES);
        const encoding = args.encoding ?? 'utf8';
        return { result: { path: args.path, encoding, content: data.toString(encoding), size: data.length } };
      },
    }),
    defineTool({
      name: 'list_files',
      title: 'List a directory',
      description: 'Entries of a directory in the sandbox (default /workspace): name, type, size, mode, modification time.',
      permission: 'sandbox:read',
      input: { sandbox_id: sandboxId, path: z.string().optional().describe('Default /workspace') },
      output: { path: z.string(), items: z.array(fileInfoOutput), truncated: z.boolean() },
      annotations: READ,
      async run(args, call) {
        const listing = await s.files.list(call.ctx, resourceId('sandbox', args.sandbox_id), args.path ?? '.');
        return { result: listing, summary: `${listing.items.length} entries in ${listing.path}` };
      },
    }),
  ];
}

export function sandboxTools(s: SandboxServices): OrcaTool[] {
  return [...lifecycleTools(s), ...commandTools(s), ...fileTools(s)];
}
