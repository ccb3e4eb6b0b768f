import type { DeepPartial, ObjectLiteral, Repository } from 'typeorm';
import { FindOperator } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';

// Single-row statements built from TypeORM's entity metadata, for the hot paths (job submit, run and
// finish). TypeORM's query builders spend ~1–1.5 ms of CPU per statement on a wide entity; these write
// the same values (through the columns' transformers and the driver's value preparation).

/**
 * One INSERT … RETURNING built from the entity's metadata: the columns given are written (through their
 * transformers and the driver's value preparation, as TypeORM's insert does), the others take their
 * database defaults and come back into the entity; a nullable column nobody set reads back as null, as
 * after save(). TypeORM's insert builder costs ~1 ms of CPU per row of a wide entity, and rows are
 * inserted on every submit path (job, audit event).
 */
export async function insertRow<T extends ObjectLiteral>(repository: Repository<T>, values: DeepPartial<T>): Promise<T> {
  const entity = repository.create(values);
  const { metadata, manager } = repository;
  const driver = manager.connection.driver;
  const names: string[] = [];
  const params: unknown[] = [];
  const returned: ColumnMetadata[] = [];
  const seen = new Set<string>();
  for (const column of metadata.columns) {
    // A relation's join column and the plain column of the same name are one database column.
    if (column.isVirtual || seen.has(column.databaseName)) continue;
    seen.add(column.databaseName);
    const value: unknown = column.getEntityValue(entity, true);
    if (value === undefined) {
      returned.push(column);
      continue;
    }
    names.push(driver.escape(column.databaseName));
    params.push(driver.preparePersistentValue(value, column));
  }
  const table = metadata.tablePath
    .split('.')
    .map((part) => driver.escape(part))
    .join('.');
  const placeholders = params.map((_, i) => `$${i + 1}`).join(', ');
  const returning = returned.length ? ` RETURNING ${returned.map((c) => driver.escape(c.databaseName)).join(', ')}` : '';
  const rows: Array<Record<string, unknown>> = await manager.query(`INSERT INTO ${table} (${names.join(', ')}) VALUES (${placeholders})${returning}`, params);
  const row = rows[0] ?? {};
  for (const column of returned) {
    const raw = row[column.databaseName];
    column.setEntityValue(entity, raw === undefined || raw === null ? null : driver.prepareHydratedValue(raw, column));
  }
  return entity;
}

/** A condition value updateRows can express: equality, IS NULL, or In([...]) (`= ANY(array)`). */
type PlainCondition = string | number | boolean | Date | null | FindOperator<unknown>;

const isIn = (value: unknown): value is FindOperator<unknown[]> => value instanceof FindOperator && value.type === 'in' && Array.isArray(value.value);

/** Whether every condition is equality, IS NULL or In() (no other FindOperator, no nested relation): updateRows can take it. */
export function isPlainWhere(where: object): where is Record<string, PlainCondition> {
  return Object.values(where).every((value: unknown) => value !== undefined && (value === null || isIn(value) || value instanceof Date || (typeof value !== 'object' && typeof value !== 'function')));
}

/** Whether a patch holds only values (no SQL functions such as `() => 'now()'`, no FindOperators). */
export function isPlainPatch(patch: object): boolean {
  return Object.values(patch).every((value: unknown) => value === undefined || !(value instanceof FindOperator || typeof value === 'function'));
}

/**
 * UPDATE … SET … WHERE …: `where` values compare by equality (null: IS NULL; In([...]): any of its
 * values); the entity's update-date column is set to now unless the patch sets it. Returns the number of
 * rows changed.
 */
export async function updateRows<T extends ObjectLiteral>(repository: Repository<T>, where: Record<string, PlainCondition>, patch: Partial<T>): Promise<number> {
  const { metadata, manager } = repository;
  const driver = manager.connection.driver;
  const params: unknown[] = [];
  const column = (property: string): ColumnMetadata => {
    const found = metadata.findColumnWithPropertyName(property);
    if (!found) throw new Error(`${metadata.name} has no column ${property}`);
    return found;
  };
  const sets: string[] = [];
  for (const [property, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    const target = column(property);
    params.push(driver.preparePersistentValue(target.getEntityValue(patch, true), target));
    sets.push(`${driver.escape(target.databaseName)} = $${params.length}`);
  }
  for (const stamp of metadata.columns.filter((c) => c.isUpdateDate && patch[c.propertyName as keyof T] === undefined)) {
    sets.push(`${driver.escape(stamp.databaseName)} = CURRENT_TIMESTAMP`);
  }
  const conditions = Object.entries(where).map(([property, value]) => {
    const target = column(property);
    const name = driver.escape(target.databaseName);
    if (value === null) return `${name} IS NULL`;
    if (isIn(value)) {
      params.push(value.value.map((v): unknown => driver.preparePersistentValue(v, target)));
      return `${name} = ANY($${params.length}::${driver.normalizeType(target)}[])`;
    }
    if (value instanceof FindOperator) throw new Error(`updateRows cannot express ${value.type} on ${property}`);
    params.push(driver.preparePersistentValue(value, target));
    return `${name} = $${params.length}`;
  });
  if (!sets.length || !conditions.length) throw new Error('updateRows needs a change and a condition');
  const table = metadata.tablePath
    .split('.')
    .map((part) => driver.escape(part))
    .join('.');
  // For UPDATE the driver answers [rows, rowCount].
  const [, affected] = await manager.query<[unknown[], number]>(`UPDATE ${table} SET ${sets.join(', ')} WHERE ${conditions.join(' AND ')}`, params);
  return affected;
}
