import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Linter } from 'eslint';
import { parser } from 'typescript-eslint';
import type { EntityMetadata } from 'typeorm';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from 'src/database/data-source-options';
import type { RawAccessCall, RawAccessEntry } from 'src/database/raw-access.allowlist';
import { RAW_ACCESS_ALLOWLIST, RAW_ACCESS_SELECTORS } from 'src/database/raw-access.allowlist';
import { TenantOwnedEntity } from 'src/database/tenant-owned.entity';

const ROOT = join(__dirname, '..', '..');
/**
 * Hand-scoped entries are debt (one workspace, workspace_id bound by hand): this number may only go down.
 * Raising it is a review decision about tenant isolation, not a lint fix.
 */
const HAND_SCOPED_CEILING = 5;

/** The entity metadata TypeORM builds from the application's one options object (no connection needed). */
class MetadataOnly extends DataSource {
  async metadata(): Promise<EntityMetadata[]> {
    await this.buildMetadatas();
    return this.entityMetadatas;
  }
}

/** Tenant-owned: extends TenantOwnedEntity, or has a NOT NULL workspaceId column (job logs, artifacts, the usage ledger). */
function isTenantOwned(metadata: EntityMetadata): boolean {
  const target = metadata.target as { prototype?: unknown };
  if (typeof metadata.target === 'function' && target.prototype instanceof TenantOwnedEntity) return true;
  const column = metadata.findColumnWithPropertyName('workspaceId');
  return !!column && !column.isNullable;
}

const source = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

/** How many nodes of `file` the lint rule's selector for `call` matches (the rule itself, with the TypeScript parser). */
function matches(file: string, call: RawAccessCall): number {
  const linter = new Linter({ configType: 'flat' });
  const messages = linter.verify(
    source(file),
    [{ files: ['**/*.ts'], languageOptions: { parser }, rules: { 'no-restricted-syntax': ['error', { selector: RAW_ACCESS_SELECTORS[call], message: call }] } }],
    { filename: join(ROOT, file) },
  );
  const fatal = messages.find((m) => m.fatal);
  if (fatal) throw new Error(`${file}: ${fatal.message}`);
  return messages.length;
}

/** Entity classes named as the argument of a raw call, and tables named after FROM/JOIN/INTO/UPDATE in SQL text. */
function rawReferences(file: string, byTable: Map<string, string>): Set<string> {
  const text = source(file);
  const found = new Set<string>();
  for (const m of text.matchAll(/\b(?:InjectRepository|getRepository|update|delete|from|insert|into|find|findOne|save)\s*(?:<[^>()]*>)?\(\s*([A-Z]\w*Entity)\b/g)) found.add(m[1]!);
  for (const m of text.matchAll(/\b(?:FROM|JOIN|INTO|UPDATE)\s+([a-z_][a-z0-9_]*)\b/g)) {
    const entity = byTable.get(m[1]!);
    if (entity) found.add(entity);
  }
  return found;
}

describe('raw data access allow-list (src/database/raw-access.allowlist.ts)', () => {
  let metadata: EntityMetadata[];
  let byName: Map<string, EntityMetadata>;
  let byTable: Map<string, string>;

  beforeAll(async () => {
    metadata = await new MetadataOnly(buildDataSourceOptions('postgres://metadata-only@localhost/none')).metadata();
    byName = new Map(metadata.map((m) => [m.name, m]));
    byTable = new Map(metadata.map((m) => [m.tableName, m.name]));
  });

  const describeEntry = (e: RawAccessEntry): string => `${e.file} (${e.call})`;

  it('classifies tenant-owned entities from the metadata', () => {
    const owned = metadata.filter(isTenantOwned).map((m) => m.name);
    // Pinned so a change to the classification is seen: these carry a NOT NULL workspace_id.
    expect(owned).toEqual(expect.arrayContaining(['JobEntity', 'JobLogChunkEntity', 'JobArtifactEntity', 'SandboxEntity', 'ApiTokenEntity', 'WorkflowRunEntity', 'WorkflowInstanceEntity', 'WorkflowSourceEntity', 'AgentSessionEntity', 'ApprovalRequestEntity', 'QuotaUsageDayEntity']));
    // Nullable workspace_id (organisation rows) or no workspace at all.
    for (const name of ['AuditEventEntity', 'QuotaLimitEntity', 'WorkspaceEntity', 'AdminTokenEntity', 'OrganisationPolicyEntity', 'InstallationEntity']) expect(owned).not.toContain(name);
  });

  it('has well-formed entries: a known call, an existing file, known entities, a reason, one entry per file and call', () => {
    const seen = new Set<string>();
    for (const entry of RAW_ACCESS_ALLOWLIST) {
      expect({ entry: describeEntry(entry), known: entry.call in RAW_ACCESS_SELECTORS }).toEqual({ entry: describeEntry(entry), known: true });
      expect({ entry: describeEntry(entry), exists: existsSync(join(ROOT, entry.file)) }).toEqual({ entry: describeEntry(entry), exists: true });
      expect({ entry: describeEntry(entry), unknown: entry.entities.filter((name) => !byName.has(name)) }).toEqual({ entry: describeEntry(entry), unknown: [] });
      expect({ entry: describeEntry(entry), reasonLength: entry.reason.trim().length >= 20 }).toEqual({ entry: describeEntry(entry), reasonLength: true });
      expect(seen.has(describeEntry(entry))).toBe(false);
      seen.add(describeEntry(entry));
    }
  });

  it('grants raw access to a tenant-owned entity only when marked cross-tenant on purpose (or as capped hand-scoped debt), with its reason', () => {
    const problems: string[] = [];
    for (const entry of RAW_ACCESS_ALLOWLIST) {
      const owned = entry.entities.filter((name) => isTenantOwned(byName.get(name)!));
      const marks = [entry.crossTenant, entry.handScoped].filter(Boolean).length;
      if (owned.length && marks !== 1) problems.push(`${describeEntry(entry)} reaches tenant-owned ${owned.join(', ')}: mark it crossTenant (and say why that is safe) or handScoped`);
      if (!owned.length && marks) problems.push(`${describeEntry(entry)} is marked ${entry.crossTenant ? 'crossTenant' : 'handScoped'} but reaches no tenant-owned entity`);
      if (entry.handScoped && !/workspace_id/.test(entry.reason)) problems.push(`${describeEntry(entry)}: a hand-scoped reason must say how workspace_id is bound`);
    }
    expect(problems).toEqual([]);
    expect(RAW_ACCESS_ALLOWLIST.filter((e) => e.handScoped).length).toBeLessThanOrEqual(HAND_SCOPED_CEILING);
  });

  it('has no stale entries: each one still matches a real use of its call in its file', () => {
    const stale = RAW_ACCESS_ALLOWLIST.filter((entry) => matches(entry.file, entry.call) === 0).map(describeEntry);
    expect(stale).toEqual([]);
  });

  it('names exactly the entities each allow-listed file reaches raw', () => {
    const files = [...new Set(RAW_ACCESS_ALLOWLIST.map((e) => e.file))];
    const problems: string[] = [];
    for (const file of files) {
      const declared = new Set(RAW_ACCESS_ALLOWLIST.filter((e) => e.file === file).flatMap((e) => e.entities));
      const reached = rawReferences(file, byTable);
      for (const name of reached) if (!declared.has(name)) problems.push(`${file} reaches ${name} raw but no entry names it`);
      for (const name of declared) if (!reached.has(name)) problems.push(`${file}: ${name} is named but no raw use of it was found`);
    }
    expect(problems).toEqual([]);
  });

  it('reaches job logs and artifacts only through scoped repositories outside the hand-scoped quota aggregates', () => {
    const raw = RAW_ACCESS_ALLOWLIST.filter((e) => e.entities.includes('JobLogChunkEntity') || e.entities.includes('JobArtifactEntity')).map(describeEntry);
    expect(raw).toEqual(['src/quotas/quota-usage.ts (query)']);
  });
});
