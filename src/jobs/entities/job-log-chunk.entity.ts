import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { JobEntity } from 'src/jobs/entities/job.entity';

/** Output as it arrived, in order (seq per job). Read by the SSE stream and the paged endpoint. */
@Entity({ name: 'job_log_chunks' })
@Index(['jobId', 'seq'], { unique: true })
// Full-text log search (docs/run-records.md#search): a pg_trgm GIN index on the output as escaped text,
// an expression TypeORM cannot describe, so it is created by the RunRecords migration and left alone here.
@Index('job_log_chunks_text_trgm', { synchronize: false })
export class JobLogChunkEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Index()
  @Column({ name: 'workspace_id', type: 'uuid' })
  workspaceId!: string;

  @Column({ name: 'job_id', type: 'uuid' })
  jobId!: string;

  @ManyToOne(() => JobEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'job_id' })
  job?: JobEntity;

  @Column({ type: 'integer' })
  seq!: number;

  /** Step index; -1 for system messages. */
  @Column({ type: 'integer' })
  step!: number;

  @Column({ type: 'varchar', length: 8 })
  stream!: 'stdout' | 'stderr' | 'system';

  @Column({ type: 'bytea' })
  data!: Buffer;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
