import { Inject, Injectable } from '@nestjs/common';
import { invalidField } from 'src/common/errors/orcaops.error';
import { AuditService } from 'src/audit/audit.service';
import { CONTAINER_RUNTIME, ContainerRuntime, ExecOptions } from 'src/runtime/container-runtime.port';
import { INTERACTION_LIMITS } from 'src/sandboxes/interaction/interaction.limits';
import { engineError } from 'src/sandboxes/interaction/sandbox-paths';
import { CappedCollector, StreamName } from 'src/sandboxes/interaction/output-buffers';
import { MaskedOutput } from 'src/sandboxes/interaction/masked-output';
import { sandboxPath } from 'src/sandboxes/interaction/sandbox-paths';
import type { LiveSandbox } from 'src/sandboxes/live-sandbox';
import { analyseLog } from 'src/log-analysis/analyse-log';
import { SandboxActivity } from 'src/sandboxes/sandbox-activity';
import { PoliciesService } from 'src/policies/policies.service';
import { sandboxCommand } from 'src/sandboxes/sandbox-policy';
import { SandboxesService } from 'src/sandboxes/sandboxes.service';
import { actorId, TenantContext } from 'src/tenancy/tenant-context';
import { argvText, CommandEnd } from 'src/sandboxes/history/command-record';
import { SandboxHistoryService } from 'src/sandboxes/history/sandbox-history.service';

/** What to run: `command` through `sh -c`, or `args` as argv (never both). */
export interface CommandSpec {
  command?: string;
  args?: string[];
  cwd?: string;
  env?: Record<string, string>;
}

export interface ExecRequest extends CommandSpec {
  timeout_seconds?: number;
  stdin?: string;
}

export interface ExecOutcome {
  exit_code: number | null;
  timed_out: boolean;
  duration_ms: number;
}

/** What a failed exec's output says went wrong (src/log-analysis); null when it exited 0. */
export interface ExecSummary {
  kind: string;
  summary: string;
  suggestion: string | null;
}

export interface CollectedExec extends ExecOutcome {
  stdout: string;
  stderr: string;
  stdout_truncated: boolean;
  stderr_truncated: boolean;
  summary: ExecSummary | null;
}

/**
 * A failed exec's summary, from stdout then stderr (at most 1 MiB each, already in memory, secrets
 * already masked). It adds nothing the same response does not already carry.
 */
function execSummary(outcome: ExecOutcome, stdout: Buffer, stderr: Buffer, timeoutSeconds: number): ExecSummary | null {
  if (outcome.exit_code === 0 && !outcome.timed_out) return null;
  const facts = outcome.timed_out
    ? { status: 'timed_out', reason: 'timeout', exitCode: null, timeoutSeconds }
    : { status: 'failed', reason: 'step_failed', exitCode: outcome.exit_code, message: outcome.exit_code === null ? 'the process was killed' : null };
  const { kind, summary, suggestion } = analyseLog(Buffer.concat([stdout, stderr]), facts);
  return { kind, summary, suggestion };
}

/** argv, cwd and env of a command in a sandbox; the sandbox env first, the request's on top. */
export function commandOptions(live: LiveSandbox, spec: CommandSpec): Pick<ExecOptions, 'command' | 'cwd' | 'env' | 'user'> {
  const hasCommand = typeof spec.command === 'string' && spec.command.length > 0;
  const hasArgs = Array.isArray(spec.args) && spec.args.length > 0;
  if (hasCommand === hasArgs) throw invalidField('command', 'give exactly one of command (run by sh -c) or args (argv)');
  return {
    command: hasCommand ? ['/bin/sh', '-c', spec.command!] : [...spec.args!],
    cwd: sandboxPath(spec.cwd ?? live.workdir, live.workdir, 'cwd'),
    env: { ...live.env, ...(spec.env ?? {}) },
    user: live.user,
  };
}

/** One-shot exec: a fresh process per call; its timeout kills the whole process group (the port does). */
@Injectable()
export class SandboxExecService {
  constructor(
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
    private readonly sandboxes: SandboxesService,
    private readonly activity: SandboxActivity,
    private readonly audit: AuditService,
    private readonly policies: PoliciesService,
    private readonly history: SandboxHistoryService,
  ) {}

  /** Runs to completion and returns the output (first 1 MiB per stream, with truncation flags). */
  async collect(ctx: TenantContext, sandboxId: string, req: ExecRequest, signal?: AbortSignal): Promise<CollectedExec> {
    const out: Record<StreamName, CappedCollector> = {
      stdout: new CappedCollector(INTERACTION_LIMITS.execOutputCapBytes),
      stderr: new CappedCollector(INTERACTION_LIMITS.execOutputCapBytes),
    };
    const truncated = (): boolean => out.stdout.truncated || out.stderr.truncated;
    const outcome = await this.run(ctx, sandboxId, req, (stream, chunk) => out[stream].push(chunk), signal, truncated);
    const stdout = out.stdout.toBuffer();
    const stderr = out.stderr.toBuffer();
    return {
      ...outcome,
      stdout: stdout.toString('utf8'),
      stderr: stderr.toString('utf8'),
      stdout_truncated: out.stdout.truncated,
      stderr_truncated: out.stderr.truncated,
      summary: execSummary(outcome, stdout, stderr, req.timeout_seconds ?? INTERACTION_LIMITS.execDefaultTimeoutSeconds),
    };
  }

  /** Runs with output delivered as it arrives (SSE); aborting (client gone) kills the process group. */
  stream(ctx: TenantContext, sandboxId: string, req: ExecRequest, onOutput: (stream: StreamName, chunk: Buffer) => void, signal?: AbortSignal): Promise<ExecOutcome> {
    return this.run(ctx, sandboxId, req, onOutput, signal, () => false);
  }

  /** `outputTruncated` says, once the command ended, whether the caller kept less than all output (history). */
  private async run(
    ctx: TenantContext,
    sandboxId: string,
    req: ExecRequest,
    onOutput: (stream: StreamName, chunk: Buffer) => void,
    signal: AbortSignal | undefined,
    outputTruncated: () => boolean,
  ): Promise<ExecOutcome> {
    const live = await this.sandboxes.requireLive(ctx, sandboxId, 'sandbox:exec', { openSecrets: true });
    const options = commandOptions(live, req);
    // Security policy (issue 5): command deny rules, checked before the command reaches the container.
    await this.policies.assertCommandsAllowed(ctx, live.workspaceId, sandboxId, sandboxCommand(req));
    const timeoutSeconds = req.timeout_seconds ?? INTERACTION_LIMITS.execDefaultTimeoutSeconds;
    if (timeoutSeconds > INTERACTION_LIMITS.execMaxTimeoutSeconds) throw invalidField('timeout_seconds', `must be at most ${INTERACTION_LIMITS.execMaxTimeoutSeconds}`);
    // Masked like the history row: a secret pasted into a command is not stored in clear in the audit log either.
    const audited = await this.history.maskCommand(live.workspaceId, options.command.join(' '), options.env ?? {});
    await this.audit.record(ctx, {
      action: 'sandbox.exec',
      resourceType: 'sandbox',
      resourceId: sandboxId,
      details: { command: audited.slice(0, 256), timeout_seconds: timeoutSeconds },
    });
    const release = this.activity.begin(sandboxId);
    const bytes: Record<StreamName, number> = { stdout: 0, stderr: 0 };
    const startedAt = new Date();
    let end: CommandEnd = { exitCode: null, engineError: true };
    // The sandbox's secret values never reach the caller: masked before the SSE stream or the collector sees them.
    const output = new MaskedOutput(live.masker, onOutput);
    try {
      const result = await this.runtime.exec(live.containerId, {
        ...options,
        // Always attach stdin: an empty one gives the process EOF instead of a read that never ends.
        stdin: req.stdin ?? '',
        timeoutMs: timeoutSeconds * 1000,
        signal,
        onOutput: (stream, chunk) => {
          bytes[stream] += chunk.length;
          output.push(stream, chunk);
        },
      });
      output.end();
      end = { exitCode: result.exitCode, timedOut: result.timedOut, cancelled: signal?.aborted };
      return { exit_code: result.exitCode, timed_out: result.timedOut, duration_ms: result.durationMs };
    } catch (error) {
      throw engineError(error);
    } finally {
      release();
      // One row when it ended, written off this request's path (SandboxHistoryService.record does not wait).
      this.history.record({
        ...end,
        workspaceId: live.workspaceId,
        sandboxId,
        kind: 'exec',
        text: req.command ? req.command : argvText(req.args ?? []),
        env: options.env ?? {},
        startedAt,
        finishedAt: new Date(),
        stdoutBytes: bytes.stdout,
        stderrBytes: bytes.stderr,
        outputTruncated: outputTruncated(),
        createdBy: actorId(ctx),
      });
    }
  }
}
