import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/**
 * An organisation secret: inherited by every workspace (a workspace secret of the same name wins).
 * Not tenant-owned: only organisation admins change it.
 */
@Entity({ name: 'organisation_secrets' })
@Index('UQ_organisation_secrets_name', ['name'], { unique: true })
export class OrganisationSecretEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column({ type: 'varchar', length: 128 })
  name!: string;

  /** `v1:<keyId>:<iv>:<tag>:<ciphertext>`, bound to the organisation scope and name (AAD). */
  @Column({ type: 'text' })
  sealed!: string;

  @Column({ name: 'key_id', type: 'varchar', length: 32 })
  keyId!: string;

  @Column({ name: 'created_by', type: 'varchar', length: 64 })
  createdBy!: string;

  @Column({ name: 'updated_by', type: 'varchar', length: 64 })
  updatedBy!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
