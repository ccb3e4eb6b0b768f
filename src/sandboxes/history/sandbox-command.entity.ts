import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
import { TenantOwnedEntity } from 'src/database/tenant-owned.entity';
import { SandboxEntity } from 'src/sandboxes/entities/sandbox.entity';
import { WorkspaceEntity } from 'src/tenancy/entities/workspace.entity';

export const SANDBOX_COMMAND_KINDS = ['exec', 'shell'] as const;
export type SandboxCommandKind = (typeof SANDBOX_COMMAND_KINDS)[number];

/** succeeded: exit 0; failed: another exit code (or none); timed_out: exec deadline; error: the engine call failed. */
export const SANDBOX_COMMAND_STATUSES = ['succeeded', 'failed', 'timed_out', 'error'] as const;
export type SandboxCommandStatus = (typeof SANDBOX_COMMAND_STATUSES)[number];

/**
 * One command run in a sandbox (one-shot exec or a persistent shell's command), written once when it
 * ends (docs/run-records.md#sandbox-command-history). The text is stored masked and cut; the output
 * itself is not kept, only its size. Rows go with their sandbox (and its workspace).
 */
@Entity({ name: 'sandbox_commands' })
// The history read: one sandbox's commands, newest first, keyset on (started_at, id); also the cap's prune.
@Index(['workspaceId', 'sandboxId', 'startedAt', 'id'])
export class SandboxCommandEntity extends TenantOwnedEntity {
  @ManyToOne(() => WorkspaceEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'workspace_id' })
  workspace?: WorkspaceEntity;

  @Column({ name: 'sandbox_id', type: 'uuid' })
  sandboxId!: string;

  @ManyToOne(() => SandboxEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'sandbox_id' })
  sandbox?: SandboxEntity;

  @Column({ type: 'varchar', length: 8 })
  kind!: SandboxCommandKind;

  /** The shell's name (kind shell only). */
  @Column({ type: 'varchar', length: 64, nullable: true })
  shell!: string | null;

  /** Secrets masked (***), then cut to SANDBOX_HISTORY_LIMITS.commandMaxChars. */
  @Column({ type: 'text' })
  command!: string;

  @Column({ name: 'command_truncated', type: 'boolean', default: false })
  commandTruncated!: boolean;

  @Column({ type: 'varchar', length: 16 })
  status!: SandboxCommandStatus;

  /** Why it ended the way it did when not by itself: timeout, cancelled, shell_exited, engine_error. */
  @Column({ type: 'varchar', length: 32, nullable: true })
  reason!: string | null;

  @Column({ name: 'exit_code', type: 'integer', nullable: true })
  exitCode!: number | null;

  @Column({ name: 'started_at', type: 'timestamptz' })
  startedAt!: Date;

  @Column({ name: 'finished_at', type: 'timestamptz' })
  finishedAt!: Date;

  @Column({ name: 'duration_ms', type: 'integer' })
  durationMs!: number;

  /** Bytes the command wrote, counted as they arrived (not what was kept or returned). */
  @Column({ name: 'stdout_bytes', type: 'bigint', transformer: { to: (v: number) => v, from: (v: string | null) => Number(v ?? 0) } })
  stdoutBytes!: number;

  @Column({ name: 'stderr_bytes', type: 'bigint', transformer: { to: (v: number) => v, from: (v: string | null) => Number(v ?? 0) } })
  stderrBytes!: number;

  /** The caller did not get all of the output (over the collection cap). */
  @Column({ name: 'output_truncated', type: 'boolean', default: false })
  outputTruncated!: boolean;

  /** Token (or principal) id that ran it. */
  @Column({ name: 'created_by', type: 'varchar', length: 64 })
  createdBy!: string;
}
