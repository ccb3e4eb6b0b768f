import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Brackets, LessThan } from 'typeorm';
import { notFound } from 'src/common/errors/orcaops.error';
import { SecretMasker } from 'src/common/masking/secret-masker';
import { decodeCursor, encodeCursor } from 'src/common/pagination/keyset-cursor';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { SecretsService } from 'src/secrets/secrets.service';
import { SandboxEntity } from 'src/sandboxes/entities/sandbox.entity';
import { CommandEnd, commandOutcome, SANDBOX_HISTORY_LIMITS, secretLookingValues, storedCommand } from 'src/sandboxes/history/command-record';
import { SandboxCommandListResponseDto, SandboxCommandResponseDto } from 'src/sandboxes/history/dto/sandbox-commands.dto';
import { SandboxCommandEntity, SandboxCommandKind } from 'src/sandboxes/history/sandbox-command.entity';
import { SandboxActivity } from 'src/sandboxes/sandbox-activity';
import { assertPermission } from 'src/tenancy/assert-permission';
import { requireWorkspace } from 'src/tenancy/tenant-context.factory';
import { TenantContext } from 'src/tenancy/tenant-context';

/** A command that ended, as the exec and shell services know it. */
export interface FinishedCommand extends CommandEnd {
  workspaceId: string;
  sandboxId: string;
  kind: SandboxCommandKind;
  shell?: string;
  /** The command as the caller gave it (masked and cut here). */
  text: string;
  /** The environment it ran with: values of secret-looking names are masked in the text too. */
  env: Record<string, string>;
  startedAt: Date;
  finishedAt: Date;
  stdoutBytes: number;
  stderrBytes: number;
  outputTruncated: boolean;
  createdBy: string;
}

export interface SandboxCommandFilter {
  kind?: SandboxCommandKind;
  shell?: string;
  exitCode?: number;
  failed?: boolean;
  since?: Date;
  until?: Date;
  contains?: string;
  cursor?: string;
  limit?: number;
}

/** ILIKE pattern for a literal substring (%, _ and \ escaped). */
function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function toResponse(row: SandboxCommandEntity): SandboxCommandResponseDto {
  return {
    id: row.id,
    sandbox_id: row.sandboxId,
    kind: row.kind,
    shell: row.shell,
    command: row.command,
    command_truncated: row.commandTruncated,
    status: row.status,
    reason: row.reason,
    exit_code: row.exitCode,
    started_at: row.startedAt.toISOString(),
    finished_at: row.finishedAt.toISOString(),
    duration_ms: row.durationMs,
    stdout_bytes: row.stdoutBytes,
    stderr_bytes: row.stderrBytes,
    output_bytes: row.stdoutBytes + row.stderrBytes,
    output_truncated: row.outputTruncated,
    created_by: row.createdBy,
  };
}

/**
 * Command history of sandboxes (docs/run-records.md#sandbox-command-history). One INSERT per command,
 * when it ends, off the command's path: the exec and shell services hand the finished command over and
 * do not wait. A read waits for this server's writes of that sandbox still in flight, so a caller sees
 * its own commands. Bounded: the text is cut, and each sandbox keeps its newest perSandbox commands.
 */
@Injectable()
export class SandboxHistoryService {
  private readonly logger = new Logger(SandboxHistoryService.name);
  /** Writes in flight, per sandbox (removed as they settle). */
  private readonly pending = new Map<string, Set<Promise<void>>>();
  /** Writes since this server last enforced the cap, per sandbox. */
  private readonly sincePrune = new Map<string, number>();

  constructor(
    @InjectScopedRepository(SandboxCommandEntity) private readonly commands: TenantScopedRepository<SandboxCommandEntity>,
    @InjectScopedRepository(SandboxEntity) private readonly sandboxes: TenantScopedRepository<SandboxEntity>,
    private readonly secrets: SecretsService,
    activity: SandboxActivity,
  ) {
    activity.onForget((sandboxId) => this.sincePrune.delete(sandboxId));
  }

  /** Records a finished command without making the caller wait; a failed write is logged (the command already ran). */
  record(done: FinishedCommand): void {
    const write = this.write(done).catch((error: unknown) =>
      this.logger.error({ msg: 'command history write failed', sandboxId: done.sandboxId, kind: done.kind, err: String(error) }),
    );
    let inFlight = this.pending.get(done.sandboxId);
    if (!inFlight) this.pending.set(done.sandboxId, (inFlight = new Set()));
    inFlight.add(write);
    void write.finally(() => {
      inFlight.delete(write);
      if (!inFlight.size && this.pending.get(done.sandboxId) === inFlight) this.pending.delete(done.sandboxId);
    });
  }

  /** Resolves when this server's writes of the sandbox that are in flight now have settled. */
  async settled(sandboxId: string): Promise<void> {
    await Promise.all([...(this.pending.get(sandboxId) ?? [])]);
  }

  /** A page of a sandbox's commands, newest first (a stopped sandbox's too). Another tenant's sandbox is a 404. */
  async list(ctx: TenantContext, sandboxId: string, filter: SandboxCommandFilter): Promise<SandboxCommandListResponseDto> {
    assertPermission(ctx, 'sandbox:read');
    const { workspaceId } = requireWorkspace(ctx);
    if (!(await this.sandboxes.findOne(workspaceId, { id: sandboxId }))) throw notFound('sandbox', sandboxId);
    await this.settled(sandboxId);
    const limit = Math.min(filter.limit ?? SANDBOX_HISTORY_LIMITS.pageDefault, SANDBOX_HISTORY_LIMITS.pageMax);
    const qb = this.commands.queryBuilder(workspaceId, 'c').andWhere('c.sandbox_id = :sandboxId', { sandboxId });
    if (filter.kind) qb.andWhere('c.kind = :kind', { kind: filter.kind });
    if (filter.shell) qb.andWhere('c.shell = :shell', { shell: filter.shell });
    if (filter.exitCode !== undefined) qb.andWhere('c.exit_code = :exitCode', { exitCode: filter.exitCode });
    if (filter.failed !== undefined) qb.andWhere(filter.failed ? "c.status <> 'succeeded'" : "c.status = 'succeeded'");
    if (filter.since) qb.andWhere('c.started_at >= :since', { since: filter.since });
    if (filter.until) qb.andWhere('c.started_at < :until', { until: filter.until });
    // At most perSandbox rows of one sandbox to look at: no text index needed.
    if (filter.contains) qb.andWhere(`c.command ILIKE :contains ESCAPE '\\'`, { contains: containsPattern(filter.contains) });
    if (filter.cursor) {
      const [at, cid] = decodeCursor(filter.cursor);
      qb.andWhere(new Brackets((w) => w.where('c.started_at < :at', { at }).orWhere('c.started_at = :at AND c.id < :cid', { at, cid })));
    }
    const rows = await qb.orderBy('c.started_at', 'DESC').addOrderBy('c.id', 'DESC').take(limit + 1).getMany();
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page.map(toResponse), next_cursor: rows.length > limit && last ? encodeCursor(last.startedAt, last.id) : null };
  }

  /**
   * The text with every secret the workspace can use and every secret-looking env value masked: what may
   * be stored about a command (its history row, its audit row).
   */
  async maskCommand(workspaceId: string, text: string, env: Record<string, string>): Promise<string> {
    return [await this.secrets.workspaceMasker(workspaceId), new SecretMasker(secretLookingValues(env))].reduce((t, m) => m.maskText(t), text);
  }

  private async write(done: FinishedCommand): Promise<void> {
    const { command, truncated } = storedCommand(await this.maskCommand(done.workspaceId, done.text, done.env));
    const { status, reason } = commandOutcome(done);
    await this.commands.insert(done.workspaceId, {
      id: randomUUID(),
      sandboxId: done.sandboxId,
      kind: done.kind,
      shell: done.shell ?? null,
      command,
      commandTruncated: truncated,
      status,
      reason,
      exitCode: done.exitCode,
      startedAt: done.startedAt,
      finishedAt: done.finishedAt,
      durationMs: Math.max(0, done.finishedAt.getTime() - done.startedAt.getTime()),
      stdoutBytes: done.stdoutBytes,
      stderrBytes: done.stderrBytes,
      outputTruncated: done.outputTruncated,
      createdBy: done.createdBy,
    });
    const writes = (this.sincePrune.get(done.sandboxId) ?? 0) + 1;
    this.sincePrune.set(done.sandboxId, writes % SANDBOX_HISTORY_LIMITS.pruneEvery);
    if (writes >= SANDBOX_HISTORY_LIMITS.pruneEvery) await this.prune(done.workspaceId, done.sandboxId);
  }

  /** Keeps the sandbox's newest perSandbox commands (rows started in the same ms as the oldest kept stay too). */
  private async prune(workspaceId: string, sandboxId: string): Promise<void> {
    const [oldestKept] = await this.commands.find(workspaceId, {
      where: { sandboxId },
      select: { id: true, startedAt: true },
      order: { startedAt: 'DESC', id: 'DESC' },
      skip: SANDBOX_HISTORY_LIMITS.perSandbox - 1,
      take: 1,
    });
    if (oldestKept) await this.commands.delete(workspaceId, { sandboxId, startedAt: LessThan(oldestKept.startedAt) });
  }
}

