import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager, In, Repository } from 'typeorm';
import { AuditService } from 'src/audit/audit.service';
import { SecretBox } from 'src/common/crypto/secret-box';
import { invalidField, notFound, OrcaOpsError } from 'src/common/errors/orcaops.error';
import { SecretMasker } from 'src/common/masking/secret-masker';
import { InjectScopedRepository, TenantScopedRepository } from 'src/database/tenant-scoped.repository';
import { SECRET_NAME } from 'src/domain/container-spec';
import { PoliciesService } from 'src/policies/policies.service';
import { SecretResponseDto, SetSecretResponseDto } from 'src/secrets/dto/secret.dto';
import { OrganisationSecretEntity } from 'src/secrets/entities/organisation-secret.entity';
import { WorkspaceSecretEntity } from 'src/secrets/entities/workspace-secret.entity';
import { assertPermission } from 'src/tenancy/assert-permission';
import { requireWorkspace } from 'src/tenancy/tenant-context.factory';
import { TenantContext } from 'src/tenancy/tenant-context';

/** At most this many secrets per workspace, and in the organisation (GitHub's limits are 100 and 1000). */
export const MAX_WORKSPACE_SECRETS = 100;
export const MAX_ORGANISATION_SECRETS = 1000;
/** How long a workspace's masker (workspaceMasker) is reused; this server's own changes drop it at once. */
export const WORKSPACE_MASKER_TTL_MS = 5_000;
/** Workspaces whose masker is cached at once (the oldest is dropped first). */
const WORKSPACE_MASKER_CACHE_SIZE = 1_000;

type SecretRow = WorkspaceSecretEntity | OrganisationSecretEntity;

/** The AAD a value is sealed with: a sealed value copied to another row or workspace does not open. */
const aadOf = (workspaceId: string | null, name: string): string => (workspaceId ? `workspace:${workspaceId}:${name}` : `organisation:${name}`);

function view(row: SecretRow, workspaceId: string | null): SecretResponseDto {
  return {
    name: row.name,
    scope: workspaceId ? 'workspace' : 'organisation',
    workspace_id: workspaceId,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
    created_by: row.createdBy,
    updated_by: row.updatedBy,
  };
}

function checkName(name: string): void {
  if (!SECRET_NAME.test(name)) {
    throw invalidField('name', 'a secret name is upper-case letters, digits and _ (not starting with a digit, ORCAOPS_ or GITHUB_), at most 64 characters');
  }
}

/** The secrets a run asked for, opened: its environment additions and a masker for its output. */
export interface ResolvedSecrets {
  env: Record<string, string>;
  masker: SecretMasker;
}

/**
 * Secrets of a workspace and of the organisation (inherited, a workspace secret of the same name
 * wins): stored sealed (SecretBox), write-only through every front end, opened only to start work
 * that asked for them by name. Audit rows carry names, never values.
 */
@Injectable()
export class SecretsService {
  private readonly maskers = new Map<string, { at: number; masker: Promise<SecretMasker> }>();

  constructor(
    @InjectScopedRepository(WorkspaceSecretEntity) private readonly secrets: TenantScopedRepository<WorkspaceSecretEntity>,
    @InjectRepository(OrganisationSecretEntity) private readonly organisation: Repository<OrganisationSecretEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(SecretBox) private readonly box: SecretBox,
    private readonly audit: AuditService,
    private readonly policies: PoliciesService,
  ) {}

  async list(ctx: TenantContext): Promise<SecretResponseDto[]> {
    assertPermission(ctx, 'secret:read');
    const { workspaceId } = requireWorkspace(ctx);
    const [own, org] = await Promise.all([this.secrets.find(workspaceId, { order: { name: 'ASC' } }), this.organisation.find({ order: { name: 'ASC' } })]);
    const names = new Set(own.map((s) => s.name));
    const items = [...own.map((s) => view(s, workspaceId)), ...org.filter((s) => !names.has(s.name)).map((s) => view(s, null))];
    return items.sort((a, b) => a.name.localeCompare(b.name));
  }

  async set(ctx: TenantContext, name: string, value: string): Promise<SetSecretResponseDto> {
    assertPermission(ctx, 'secret:admin');
    const { workspaceId } = requireWorkspace(ctx);
    checkName(name);
    return this.changed(workspaceId, this.dataSource.transaction(async (manager) => {
      const scoped = this.secrets.withManager(manager);
      const sealed = this.box.seal(value, aadOf(workspaceId, name));
      const patch = { sealed, keyId: SecretBox.keyIdOfSealed(sealed), updatedBy: ctx.principal.tokenId };
      const existing = await scoped.findOne(workspaceId, { name });
      let row: WorkspaceSecretEntity;
      if (existing) {
        await scoped.update(workspaceId, { id: existing.id }, patch);
        row = (await scoped.findOne(workspaceId, { id: existing.id }))!;
      } else {
        if ((await scoped.count(workspaceId)) >= MAX_WORKSPACE_SECRETS) throw new OrcaOpsError('quota_exceeded', `A workspace holds at most ${MAX_WORKSPACE_SECRETS} secrets`, { limit: MAX_WORKSPACE_SECRETS });
        row = await scoped.insert(workspaceId, { id: randomUUID(), name, ...patch, createdBy: ctx.principal.tokenId });
      }
      await this.audit.record(ctx, { action: existing ? 'secret.update' : 'secret.create', resourceType: 'secret', resourceId: name, details: { name, scope: 'workspace' } }, manager);
      return { ...view(row, workspaceId), created: !existing };
    }));
  }

  async remove(ctx: TenantContext, name: string): Promise<SecretResponseDto> {
    assertPermission(ctx, 'secret:admin');
    const { workspaceId } = requireWorkspace(ctx);
    return this.changed(workspaceId, this.dataSource.transaction(async (manager) => {
      const scoped = this.secrets.withManager(manager);
      const row = SECRET_NAME.test(name) ? await scoped.findOne(workspaceId, { name }) : null;
      if (!row) throw notFound('secret', name);
      await scoped.delete(workspaceId, { id: row.id });
      await this.audit.record(ctx, { action: 'secret.delete', resourceType: 'secret', resourceId: name, details: { name, scope: 'workspace' } }, manager);
      return view(row, workspaceId);
    }));
  }

  async listOrganisation(ctx: TenantContext): Promise<SecretResponseDto[]> {
    assertPermission(ctx, 'secret:read');
    return (await this.organisation.find({ order: { name: 'ASC' } })).map((s) => view(s, null));
  }

  async setOrganisation(ctx: TenantContext, name: string, value: string): Promise<SetSecretResponseDto> {
    assertPermission(ctx, 'org:admin');
    checkName(name);
    return this.changed(null, this.dataSource.transaction(async (manager) => {
      const repo = manager.getRepository(OrganisationSecretEntity);
      const sealed = this.box.seal(value, aadOf(null, name));
      const patch = { sealed, keyId: SecretBox.keyIdOfSealed(sealed), updatedBy: ctx.principal.tokenId };
      const existing = await repo.findOne({ where: { name } });
      if (!existing && (await repo.count()) >= MAX_ORGANISATION_SECRETS) {
        throw new OrcaOpsError('quota_exceeded', `The organisation holds at most ${MAX_ORGANISATION_SECRETS} secrets`, { limit: MAX_ORGANISATION_SECRETS });
      }
      const row = await repo.save(existing ? Object.assign(existing, patch) : repo.create({ id: randomUUID(), name, ...patch, createdBy: ctx.principal.tokenId }));
      await this.audit.record(ctx, { action: existing ? 'secret.update' : 'secret.create', resourceType: 'secret', resourceId: name, workspaceId: null, details: { name, scope: 'organisation' } }, manager);
      return { ...view(row, null), created: !existing };
    }));
  }

  async removeOrganisation(ctx: TenantContext, name: string): Promise<SecretResponseDto> {
    assertPermission(ctx, 'org:admin');
    return this.changed(null, this.dataSource.transaction(async (manager) => {
      const repo = manager.getRepository(OrganisationSecretEntity);
      const row = SECRET_NAME.test(name) ? await repo.findOne({ where: { name } }) : null;
      if (!row) throw notFound('secret', name);
      await repo.delete({ id: row.id });
      await this.audit.record(ctx, { action: 'secret.delete', resourceType: 'secret', resourceId: name, workspaceId: null, details: { name, scope: 'organisation' } }, manager);
      return view(row, null);
    }));
  }

  /**
   * Admission of work that asks for secrets (`secrets: {ENV: NAME}` of a job, sandbox or profile):
   * 400 naming each unknown secret, 403 policy_denied when the policy keeps this token's role from
   * using one; then a `secret.use` audit row (names only) in the admitting transaction when given.
   */
  async admitUse(ctx: TenantContext, workspaceId: string, mapping: Record<string, string> | undefined, field = 'secrets'): Promise<void> {
    const names = [...new Set(Object.values(mapping ?? {}))];
    if (!names.length) return;
    const known = await this.existingNames(workspaceId, names);
    const unknown = names.filter((n) => !known.has(n));
    if (unknown.length) {
      throw new OrcaOpsError('validation_failed', `Unknown secret${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, {
        fields: Object.entries(mapping ?? {}).filter(([, n]) => unknown.includes(n)).map(([env, n]) => ({ field: `${field}.${env}`, messages: [`no secret named ${n} in this workspace or the organisation`] })),
      });
    }
    await this.policies.assertSecretsAllowed(ctx, workspaceId, names);
  }

  /**
   * Admission of secrets a step driver refers to by name (workflow `${{ secrets.X }}`): GitHub's
   * semantics make a missing one an empty string, so only the existing ones are checked against the
   * policy; returns those (to audit as used).
   */
  async admitReferenced(ctx: TenantContext, workspaceId: string, names: string[] | undefined): Promise<string[]> {
    if (!names?.length) return [];
    const known = await this.existingNames(workspaceId, names.filter((n) => SECRET_NAME.test(n)));
    const existing = names.filter((n) => known.has(n));
    await this.policies.assertSecretsAllowed(ctx, workspaceId, existing);
    return existing;
  }

  /** Records that work used these secrets (names only). */
  async recordUse(ctx: TenantContext, use: { resourceType: string; resourceId: string; names: string[] }, manager?: EntityManager): Promise<void> {
    if (!use.names.length) return;
    await this.audit.record(ctx, { action: 'secret.use', resourceType: use.resourceType, resourceId: use.resourceId, details: { names: [...new Set(use.names)].sort() } }, manager);
  }

  /**
   * Opens the secrets a run asked for, when its container starts. A secret deleted since admission is
   * an error naming it (the run does not start without it).
   */
  async resolve(workspaceId: string, mapping: Record<string, string> | undefined, alsoMask: string[] = []): Promise<ResolvedSecrets> {
    const values = await this.open(workspaceId, [...Object.values(mapping ?? {}), ...alsoMask]);
    const env: Record<string, string> = {};
    for (const [variable, name] of Object.entries(mapping ?? {})) {
      const value = values.get(name);
      if (value === undefined) throw new OrcaOpsError('validation_failed', `The secret ${name} no longer exists`, { name });
      env[variable] = value;
    }
    return { env, masker: new SecretMasker(values.values()) };
  }

  /** name → value of the named secrets that exist (workspace first, then organisation). For `${{ secrets.X }}`. */
  async open(workspaceId: string, names: string[]): Promise<Map<string, string>> {
    const wanted = [...new Set(names)].filter((n) => SECRET_NAME.test(n));
    const values = new Map<string, string>();
    if (!wanted.length) return values;
    const own = await this.secrets.find(workspaceId, { where: { name: In(wanted) } });
    for (const row of own) values.set(row.name, this.box.open(row.sealed, aadOf(workspaceId, row.name)));
    const rest = wanted.filter((n) => !values.has(n));
    if (rest.length) {
      for (const row of await this.organisation.find({ where: { name: In(rest) } })) values.set(row.name, this.box.open(row.sealed, aadOf(null, row.name)));
    }
    return values;
  }

  /**
   * A masker for every value this workspace's work can use (its own secrets and the organisation's),
   * for text a tenant wrote that is stored (sandbox command history: a value pasted into a command).
   * Reused for WORKSPACE_MASKER_TTL_MS; this server's own changes drop it when they commit, another
   * server's are seen within the TTL.
   */
  workspaceMasker(workspaceId: string): Promise<SecretMasker> {
    const cached = this.maskers.get(workspaceId);
    if (cached && Date.now() - cached.at < WORKSPACE_MASKER_TTL_MS) return cached.masker;
    const masker = this.openAll(workspaceId);
    this.maskers.delete(workspaceId);
    if (this.maskers.size >= WORKSPACE_MASKER_CACHE_SIZE) this.maskers.delete(this.maskers.keys().next().value!);
    this.maskers.set(workspaceId, { at: Date.now(), masker });
    // A failed open is not cached: the next call tries again.
    masker.catch(() => {
      if (this.maskers.get(workspaceId)?.masker === masker) this.maskers.delete(workspaceId);
    });
    return masker;
  }

  private async openAll(workspaceId: string): Promise<SecretMasker> {
    const [own, org] = await Promise.all([this.secrets.find(workspaceId), this.organisation.find()]);
    return new SecretMasker([...own.map((r) => this.box.open(r.sealed, aadOf(workspaceId, r.name))), ...org.map((r) => this.box.open(r.sealed, aadOf(null, r.name)))]);
  }

  /** Drops cached maskers once a change committed (null: an organisation secret, every workspace's). */
  private async changed<T>(workspaceId: string | null, change: Promise<T>): Promise<T> {
    const result = await change;
    if (workspaceId) this.maskers.delete(workspaceId);
    else this.maskers.clear();
    return result;
  }

  /**
   * Key rotation (`orcaops admin secrets-rotate-key`): re-seals every value of these workspaces and of
   * the organisation with `next`, in one transaction (all or nothing). Values already under `next`'s
   * key are skipped, so a rotation interrupted before its key file was promoted can simply run again.
   */
  async reseal(workspaceIds: string[], next: SecretBox): Promise<{ resealed: number; key_id: string }> {
    const keyId = next.primaryKeyId;
    const resealed = await this.dataSource.transaction(async (manager) => {
      let count = 0;
      const scoped = this.secrets.withManager(manager);
      for (const workspaceId of workspaceIds) {
        for (const row of await scoped.find(workspaceId)) {
          if (row.keyId === keyId) continue;
          const aad = aadOf(workspaceId, row.name);
          await scoped.update(workspaceId, { id: row.id }, { sealed: next.seal(this.box.open(row.sealed, aad), aad), keyId });
          count++;
        }
      }
      const repo = manager.getRepository(OrganisationSecretEntity);
      for (const row of await repo.find()) {
        if (row.keyId === keyId) continue;
        const aad = aadOf(null, row.name);
        await repo.update({ id: row.id }, { sealed: next.seal(this.box.open(row.sealed, aad), aad), keyId });
        count++;
      }
      await this.audit.recordSystem(null, { action: 'secret.rotate_key', resourceType: 'secret', details: { key_id: keyId, resealed: count } }, manager);
      return count;
    });
    return { resealed, key_id: keyId };
  }

  private async existingNames(workspaceId: string, names: string[]): Promise<Set<string>> {
    const [own, org] = await Promise.all([
      this.secrets.find(workspaceId, { where: { name: In(names) }, select: { name: true } }),
      this.organisation.find({ where: { name: In(names) }, select: { name: true } }),
    ]);
    return new Set([...own, ...org].map((r) => r.name));
  }
}
