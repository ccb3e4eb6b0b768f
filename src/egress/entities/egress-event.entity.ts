import { Column, Entity, Index, JoinColumn, ManyToOne } from 'typeorm';
import { TenantOwnedEntity } from 'src/database/tenant-owned.entity';
import { WorkspaceEntity } from 'src/tenancy/entities/workspace.entity';

const bigint = { to: (v: number) => v, from: (v: string) => Number(v) };

/**
 * One egress decision of the gateway (docs/security.md#network-egress): who asked (job, sandbox or
 * workflow job), the name and the address, allowed or denied by which rule, bytes and duration. Written
 * in batches off the relay path; kept per workspace for its job retention and at most a capped number
 * of rows. No foreign key to jobs or sandboxes: the log outlives a deleted job until retention.
 */
@Entity({ name: 'egress_events' })
// Every read (workspace, one subject) is newest first; the cap's prune reads the same order.
@Index(['workspaceId', 'at'])
@Index(['workspaceId', 'subjectId', 'at'])
export class EgressEventEntity extends TenantOwnedEntity {
  @ManyToOne(() => WorkspaceEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'workspace_id' })
  workspace?: WorkspaceEntity;

  /** When the connection was asked for. */
  @Column({ type: 'timestamptz' })
  at!: Date;

  @Column({ name: 'subject_kind', type: 'varchar', length: 16 })
  subjectKind!: string;

  @Column({ name: 'subject_id', type: 'uuid' })
  subjectId!: string;

  @Column({ type: 'varchar', length: 8 })
  method!: string;

  /** The name (or IP literal) asked for; at most 255 characters (a DNS name's limit). */
  @Column({ type: 'varchar', length: 255 })
  host!: string;

  @Column({ type: 'varchar', length: 64, nullable: true })
  address!: string | null;

  @Column({ type: 'integer' })
  port!: number;

  @Column({ type: 'varchar', length: 8 })
  decision!: string;

  @Column({ type: 'text' })
  rule!: string;

  @Column({ name: 'bytes_up', type: 'bigint', transformer: bigint })
  bytesUp!: number;

  @Column({ name: 'bytes_down', type: 'bigint', transformer: bigint })
  bytesDown!: number;

  @Column({ name: 'duration_ms', type: 'integer' })
  durationMs!: number;
}
