import { Column, CreateDateColumn, Entity, Index, JoinColumn, OneToOne, PrimaryColumn } from 'typeorm';
import { JobEntity } from 'src/jobs/entities/job.entity';
import type { ExcerptLine, SummaryKind } from 'src/log-analysis/log-summary';

/**
 * What a finished job's output says went wrong (src/log-analysis): written once when the job ends (or on
 * the first read after), from output masked by the LOG_MASKER seam. Its own table: run records and
 * metrics keep theirs.
 */
@Entity({ name: 'job_summaries' })
export class JobSummaryEntity {
  @PrimaryColumn({ name: 'job_id', type: 'uuid' })
  jobId!: string;

  @OneToOne(() => JobEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'job_id' })
  job?: JobEntity;

  @Index()
  @Column({ name: 'workspace_id', type: 'uuid' })
  workspaceId!: string;

  @Column({ type: 'varchar', length: 32 })
  kind!: SummaryKind;

  @Column({ type: 'varchar', length: 320 })
  summary!: string;

  /** 1-based line of the combined output; null when the record explains the end (OOM, timeout). */
  @Column({ name: 'error_line', type: 'integer', nullable: true })
  errorLine!: number | null;

  /** At most 15 lines of at most 300 characters. */
  @Column({ type: 'jsonb' })
  excerpt!: ExcerptLine[];

  @Column({ type: 'text', nullable: true })
  suggestion!: string | null;

  /** Bytes of output analysed (the stored output, system lines included). */
  @Column({ name: 'analysed_bytes', type: 'integer' })
  analysedBytes!: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
