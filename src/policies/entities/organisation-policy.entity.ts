import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { PolicyDocument } from 'src/policies/policy-model';

/**
 * The organisation-wide default policy: one row (absent until first saved, which means "defaults").
 * Not tenant-owned: it applies to every workspace and only organisation admins change it.
 */
@Entity({ name: 'organisation_policy' })
export class OrganisationPolicyEntity {
  @PrimaryColumn({ type: 'boolean', default: true })
  singleton!: boolean;

  @Column({ type: 'jsonb', default: {} })
  document!: PolicyDocument;

  /** Token id of the last change. */
  @Column({ name: 'updated_by', type: 'varchar', length: 64 })
  updatedBy!: string;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
