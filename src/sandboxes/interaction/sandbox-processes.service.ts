import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { AuditService } from 'src/audit/audit.service';
import { notFound, OrcaOpsError } from 'src/common/errors/orcaops.error';
import { CONTAINER_RUNTIME, ContainerRuntime } from 'src/runtime/container-runtime.port';
import { INTERACTION_LIMITS } from 'src/sandboxes/interaction/interaction.limits';
import { OutputChunk, OutputRing } from 'src/sandboxes/interaction/output-buffers';
import { MaskedOutput } from 'src/sandboxes/interaction/masked-output';
import { PerSandbox } from 'src/sandboxes/interaction/per-sandbox';
import { CommandSpec, commandOptions } from 'src/sandboxes/interaction/sandbox-exec.service';
import { SandboxActivity } from 'src/sandboxes/sandbox-activity';
import { PoliciesService } from 'src/policies/policies.service';
import { sandboxCommand } from 'src/sandboxes/sandbox-policy';
import { SandboxHistoryService } from 'src/sandboxes/history/sandbox-history.service';
import { SandboxesService } from 'src/sandboxes/sandboxes.service';
import { TenantContext } from 'src/tenancy/tenant-context';

export interface ProcessView {
  process_id: string;
  command: string[];
  running: boolean;
  exit_code: number | null;
  started_at: string;
  ended_at: string | null;
}

export interface ProcessOutputChunk {
  seq: number;
  stream: 'stdout' | 'stderr';
  data: string;
}

export interface ProcessOutputPage {
  items: ProcessOutputChunk[];
  /** Oldest sequence still held (older output was dropped from the bounded buffer). */
  first_seq: number;
  /** Pass as `after` to read on. */
  next_after: number;
  running: boolean;
  exit_code: number | null;
}

class BackgroundProcess {
  readonly id = randomUUID();
  readonly startedAt = new Date();
  endedAt: Date | undefined;
  exitCode: number | null = null;
  readonly output = new OutputRing(INTERACTION_LIMITS.processOutputCapBytes);
  readonly stdin = new PassThrough();
  readonly abort = new AbortController();
  ended!: Promise<void>;

  constructor(
    readonly sandboxId: string,
    readonly command: string[],
  ) {}

  get running(): boolean {
    return this.endedAt === undefined;
  }

  view(): ProcessView {
    return {
      process_id: this.id,
      command: this.command,
      running: this.running,
      exit_code: this.exitCode,
      started_at: this.startedAt.toISOString(),
      ended_at: this.endedAt?.toISOString() ?? null,
    };
  }
}

function toChunk(c: OutputChunk): ProcessOutputChunk {
  return { seq: c.seq, stream: c.stream, data: c.data.toString('utf8') };
}

/**
 * Background processes: one exec each, with stdin kept open and output in a bounded ring buffer. Each
 * holds an activity lease while it runs. In memory: a server restart loses the handles, and the execs
 * (process groups) die with the engine connection or the container.
 */
@Injectable()
export class SandboxProcessesService implements OnModuleDestroy {
  private readonly processes = new PerSandbox<BackgroundProcess>((proc) => proc.abort.abort());

  constructor(
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
    private readonly sandboxes: SandboxesService,
    private readonly activity: SandboxActivity,
    private readonly audit: AuditService,
    private readonly policies: PoliciesService,
    private readonly history: SandboxHistoryService,
  ) {
    // A stopped sandbox's handles are released at once (their execs died with the container anyway).
    activity.onForget((sandboxId) => this.closeAll(sandboxId));
  }

  async start(ctx: TenantContext, sandboxId: string, spec: CommandSpec): Promise<ProcessView> {
    const live = await this.sandboxes.requireLive(ctx, sandboxId, 'sandbox:exec', { openSecrets: true });
    const options = commandOptions(live, spec);
    // Security policy (issue 5): command deny rules, checked before the command reaches the container.
    await this.policies.assertCommandsAllowed(ctx, live.workspaceId, sandboxId, sandboxCommand(spec));
    const byId = this.processes.of(sandboxId);
    this.prune(byId);
    if (byId.size >= INTERACTION_LIMITS.processesPerSandbox) {
      throw new OrcaOpsError('conflict', `sandbox ${sandboxId} already runs ${INTERACTION_LIMITS.processesPerSandbox} processes: kill one first`);
    }
    const proc = new BackgroundProcess(sandboxId, options.command);
    // Masked like exec's and the shell's audit rows: every workspace secret and secret-looking env value.
    const audited = await this.history.maskCommand(live.workspaceId, live.masker.maskText(options.command.join(' ')), options.env ?? {});
    await this.audit.record(ctx, {
      action: 'sandbox.process.start',
      resourceType: 'sandbox',
      resourceId: sandboxId,
      details: { process_id: proc.id, command: audited.slice(0, 256) },
    });
    byId.set(proc.id, proc);
    const release = this.activity.begin(sandboxId);
    // Secret values are masked before the buffer, so every reader (output pages, follow) sees ***.
    const output = new MaskedOutput(live.masker, (stream, chunk) => proc.output.push(stream, chunk));
    proc.ended = this.runtime
      .exec(live.containerId, {
        ...options,
        stdin: proc.stdin,
        // With a signal the port runs it in its own process group; kill aborts and the group dies.
        signal: proc.abort.signal,
        onOutput: (stream, chunk) => output.push(stream, chunk),
      })
      .then(
        (result) => (proc.exitCode = result.exitCode),
        () => (proc.exitCode = null),
      )
      .then(() => {
        output.end();
        proc.endedAt = new Date();
        proc.stdin.end();
        proc.output.wake();
        release();
      });
    return proc.view();
  }

  async list(ctx: TenantContext, sandboxId: string): Promise<ProcessView[]> {
    await this.sandboxes.requireLive(ctx, sandboxId, 'sandbox:read');
    return this.processes.values(sandboxId).map((p) => p.view());
  }

  async output(ctx: TenantContext, sandboxId: string, processId: string, after: number, limit: number, tail?: number): Promise<ProcessOutputPage> {
    const proc = await this.find(ctx, sandboxId, processId, 'sandbox:read');
    const items = proc.output.read(after, limit, tail).map(toChunk);
    return {
      items,
      first_seq: proc.output.firstSeq,
      next_after: items.length ? items[items.length - 1]!.seq : Math.max(after, proc.output.firstSeq - 1),
      running: proc.running,
      exit_code: proc.exitCode,
    };
  }

  /** Output from `after` on, then new output as it comes, until the process ends or the signal aborts. */
  async *follow(ctx: TenantContext, sandboxId: string, processId: string, after: number, signal: AbortSignal): AsyncGenerator<ProcessOutputChunk | ProcessView> {
    const proc = await this.find(ctx, sandboxId, processId, 'sandbox:read');
    let cursor = after;
    // One listener for the whole follow (one per loop turn would pile up on a chatty process).
    const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    while (!signal.aborted) {
      const changed = proc.output.changed();
      for (const chunk of proc.output.read(cursor, 1000)) {
        cursor = chunk.seq;
        yield toChunk(chunk);
      }
      if (!proc.running && proc.output.read(cursor, 1).length === 0) {
        yield proc.view();
        return;
      }
      await Promise.race([changed, aborted]);
    }
  }

  async input(ctx: TenantContext, sandboxId: string, processId: string, data: Buffer, eof: boolean): Promise<void> {
    const proc = await this.find(ctx, sandboxId, processId, 'sandbox:exec');
    if (!proc.running) throw new OrcaOpsError('conflict', `process ${processId} has ended`);
    if (data.length) proc.stdin.write(data);
    if (eof) proc.stdin.end();
    await this.audit.record(ctx, { action: 'sandbox.process.input', resourceType: 'sandbox', resourceId: sandboxId, details: { process_id: processId, bytes: data.length, eof } });
  }

  /** Kills the process group; returns once the process has ended. */
  async kill(ctx: TenantContext, sandboxId: string, processId: string): Promise<ProcessView> {
    const proc = await this.find(ctx, sandboxId, processId, 'sandbox:exec');
    await this.audit.record(ctx, { action: 'sandbox.process.kill', resourceType: 'sandbox', resourceId: sandboxId, details: { process_id: processId } });
    proc.abort.abort();
    await proc.ended;
    return proc.view();
  }

  /** Ends every process of a sandbox (when it stops). */
  closeAll(sandboxId: string): void {
    this.processes.drop(sandboxId);
  }

  onModuleDestroy(): void {
    for (const id of this.processes.sandboxIds()) this.closeAll(id);
  }

  private async find(ctx: TenantContext, sandboxId: string, processId: string, permission: 'sandbox:exec' | 'sandbox:read'): Promise<BackgroundProcess> {
    await this.sandboxes.requireLive(ctx, sandboxId, permission);
    const proc = this.processes.get(sandboxId, processId);
    if (!proc) throw notFound('process', processId);
    return proc;
  }

  /** Ended processes are kept for reading until room is needed (oldest first). */
  private prune(byId: Map<string, BackgroundProcess>): void {
    for (const [id, proc] of byId) {
      if (byId.size < INTERACTION_LIMITS.processesPerSandbox) return;
      if (!proc.running) byId.delete(id);
    }
  }
}
