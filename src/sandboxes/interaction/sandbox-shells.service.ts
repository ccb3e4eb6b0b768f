import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { AuditService } from 'src/audit/audit.service';
import { invalidField, notFound, OrcaOpsError } from 'src/common/errors/orcaops.error';
import { CONTAINER_RUNTIME, ContainerRuntime } from 'src/runtime/container-runtime.port';
import { INTERACTION_LIMITS } from 'src/sandboxes/interaction/interaction.limits';
import { PerSandbox } from 'src/sandboxes/interaction/per-sandbox';
import { DEFAULT_SHELL_NAME, ShellCommandView, ShellSession } from 'src/sandboxes/interaction/shell-session';
import type { LiveSandbox } from 'src/sandboxes/live-sandbox';
import { SandboxActivity } from 'src/sandboxes/sandbox-activity';
import { PoliciesService } from 'src/policies/policies.service';
import { SandboxesService } from 'src/sandboxes/sandboxes.service';
import { WarmPoolService } from 'src/sandboxes/warm-pool.service';
import { actorId, TenantContext } from 'src/tenancy/tenant-context';
import { SandboxHistoryService } from 'src/sandboxes/history/sandbox-history.service';

export const SHELL_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export interface ShellView {
  name: string;
  busy: boolean;
  running_command: string | null;
  created_at: string;
  last_used_at: string;
}

/**
 * Named persistent shells per sandbox (see shell-session.ts for the protocol). State lives in this
 * server's memory: a restart loses the shells (their execs die with the connection) and the next run
 * re-creates the shell lazily, with a fresh cwd and environment. A sandbox taken from the warm pool
 * starts with its default shell already open (WarmPoolService.claimShell), so its first command does
 * not pay for an exec.
 */
@Injectable()
export class SandboxShellsService implements OnModuleDestroy {
  private readonly logger = new Logger(SandboxShellsService.name);
  private readonly shells = new PerSandbox<ShellSession>((shell) => shell.close());
  private readonly opening = new Map<string, Promise<ShellSession>>();

  constructor(
    @Inject(CONTAINER_RUNTIME) private readonly runtime: ContainerRuntime,
    private readonly sandboxes: SandboxesService,
    private readonly activity: SandboxActivity,
    private readonly audit: AuditService,
    private readonly policies: PoliciesService,
    private readonly pool: WarmPoolService,
    private readonly history: SandboxHistoryService,
  ) {
    // A stopped sandbox's handles are released at once (their execs died with the container anyway).
    activity.onForget((sandboxId) => this.closeAll(sandboxId));
  }

  /** Runs a command; returns when it completes or after the soft timeout (it then keeps running). */
  async run(ctx: TenantContext, sandboxId: string, name: string, command: string, softTimeoutSeconds?: number): Promise<ShellCommandView> {
    const live = await this.sandboxes.requireLive(ctx, sandboxId, 'sandbox:exec', { openSecrets: true });
    // Security policy (issue 5): command deny rules, checked before the command reaches the container.
    await this.policies.assertCommandsAllowed(ctx, live.workspaceId, sandboxId, [{ field: 'command', command }]);
    const shell = await this.shellFor(live, name);
    // The shell got the sandbox's secrets in its environment when it opened (this call or an earlier one):
    // it keeps masking those values, even if a secret is replaced later.
    if (shell.masker.empty) shell.masker = live.masker;
    const cmd = shell.run(command);
    // Held until the command ends, however long after this request: idle expiry must not fire meanwhile.
    const release = this.activity.begin(sandboxId);
    void cmd.done.then(() => {
      release();
      // One history row when it ended, however long after this request (not awaited, like the audit row below).
      this.history.record({
        workspaceId: live.workspaceId,
        sandboxId,
        kind: 'shell',
        shell: name,
        text: command,
        env: live.env,
        startedAt: new Date(cmd.started),
        finishedAt: new Date(cmd.ended ?? Date.now()),
        exitCode: cmd.exitCode,
        interrupted: cmd.interrupted,
        shellExited: cmd.shellExited,
        stdoutBytes: cmd.bytes.stdout,
        stderrBytes: cmd.bytes.stderr,
        outputTruncated: cmd.outputTruncated,
        createdBy: actorId(ctx),
      });
    });
    // One row per command (mutating requests are audited); the text is cut so a pasted script stays cheap.
    // Not awaited: the insert (≈2–4 ms) would otherwise be most of a `true` round trip (target p50 ≤ 10 ms).
    // The command is already in the shell, so the row records what ran; a failed insert is logged (the
    // command cannot be taken back), and a crash before the insert loses at most this row.
    // The text is masked like the history row (secrets never stored in clear), off the request's path too.
    this.history
      .maskCommand(live.workspaceId, command, live.env)
      .then((masked) =>
        this.audit.record(ctx, {
          action: 'sandbox.shell.run',
          resourceType: 'sandbox',
          resourceId: sandboxId,
          details: { shell: name, command_id: cmd.id, command: masked.slice(0, 256) },
        }),
      )
      .catch((error: unknown) => this.logger.error({ msg: 'audit write failed', action: 'sandbox.shell.run', sandboxId, err: String(error) }));
    return shell.waitFor(cmd, (softTimeoutSeconds ?? INTERACTION_LIMITS.shellDefaultSoftTimeoutSeconds) * 1000);
  }

  /** More output of the running command, or its completion (waits up to the timeout). */
  async wait(ctx: TenantContext, sandboxId: string, name: string, timeoutSeconds: number, commandId?: string): Promise<ShellCommandView> {
    const shell = await this.existing(ctx, sandboxId, name, 'sandbox:exec');
    const cmd = shell.command(commandId);
    if (!cmd) throw new OrcaOpsError('conflict', `shell ${name} has no command${commandId ? ` ${commandId}` : ''} to wait for`);
    return shell.waitFor(cmd, timeoutSeconds * 1000);
  }

  async input(ctx: TenantContext, sandboxId: string, name: string, data: Buffer): Promise<void> {
    const shell = await this.existing(ctx, sandboxId, name, 'sandbox:exec');
    shell.input(data);
    await this.audit.record(ctx, { action: 'sandbox.shell.input', resourceType: 'sandbox', resourceId: sandboxId, details: { shell: name, bytes: data.length } });
  }

  async interrupt(ctx: TenantContext, sandboxId: string, name: string): Promise<ShellCommandView> {
    const shell = await this.existing(ctx, sandboxId, name, 'sandbox:exec');
    await this.audit.record(ctx, { action: 'sandbox.shell.interrupt', resourceType: 'sandbox', resourceId: sandboxId, details: { shell: name } });
    return shell.interrupt();
  }

  async list(ctx: TenantContext, sandboxId: string): Promise<ShellView[]> {
    await this.sandboxes.requireLive(ctx, sandboxId, 'sandbox:read');
    return this.shells.values(sandboxId).filter((s) => !s.ended).map(toView);
  }

  async remove(ctx: TenantContext, sandboxId: string, name: string): Promise<void> {
    const shell = await this.existing(ctx, sandboxId, name, 'sandbox:exec');
    this.shells.delete(sandboxId, name);
    shell.close();
    await this.audit.record(ctx, { action: 'sandbox.shell.delete', resourceType: 'sandbox', resourceId: sandboxId, details: { shell: name } });
  }

  /** Ends every shell of a sandbox (the lifecycle calls it when the sandbox stops; also safe if it does not). */
  closeAll(sandboxId: string): void {
    void this.pool.claimShell(sandboxId)?.then((unused) => unused?.close());
    this.shells.drop(sandboxId);
  }

  onModuleDestroy(): void {
    for (const id of this.shells.sandboxIds()) this.closeAll(id);
  }

  private async existing(ctx: TenantContext, sandboxId: string, name: string, permission: 'sandbox:exec' | 'sandbox:read'): Promise<ShellSession> {
    await this.sandboxes.requireLive(ctx, sandboxId, permission);
    const shell = this.shells.get(sandboxId, name);
    if (!shell || shell.ended) throw notFound('shell', name);
    return shell;
  }

  /** The named shell, started on first use (concurrent first uses share one start). */
  private async shellFor(live: LiveSandbox, name: string): Promise<ShellSession> {
    if (!SHELL_NAME.test(name)) throw invalidField('name', 'must match [A-Za-z0-9_.-]{1,64}');
    const byName = this.shells.of(live.id);
    const current = byName.get(name);
    if (current && !current.ended) return current;
    const key = `${live.id}/${name}`;
    const pending = this.opening.get(key);
    if (pending) return pending;
    const alive = [...byName.values()].filter((s) => !s.ended).length;
    if (alive >= INTERACTION_LIMITS.shellsPerSandbox) {
      throw new OrcaOpsError('conflict', `sandbox ${live.id} already has ${INTERACTION_LIMITS.shellsPerSandbox} shells: delete one first`);
    }
    const opening = this.open(live, name);
    this.opening.set(key, opening);
    try {
      const shell = await opening;
      byName.set(name, shell);
      // A shell that ends by itself (exit, container stopped) frees its name.
      void shell.exited.then(() => {
        if (byName.get(name) === shell) byName.delete(name);
      });
      return shell;
    } finally {
      this.opening.delete(key);
    }
  }

  /** The pool's pre-opened default shell when this sandbox has one (env already exported), else a new shell. */
  private async open(live: LiveSandbox, name: string): Promise<ShellSession> {
    if (name === DEFAULT_SHELL_NAME) {
      const preOpened = await this.pool.claimShell(live.id);
      if (preOpened && !preOpened.ended) return preOpened;
    }
    return ShellSession.open(this.runtime, live, name, {
      outputCapBytes: INTERACTION_LIMITS.shellOutputCapBytes,
      interruptGraceMs: INTERACTION_LIMITS.interruptGraceMs,
    });
  }
}

function toView(s: ShellSession): ShellView {
  return {
    name: s.name,
    busy: s.busy,
    running_command: s.runningCommand ?? null,
    created_at: s.createdAt.toISOString(),
    last_used_at: s.lastUsedAt.toISOString(),
  };
}
