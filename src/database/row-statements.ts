import type { DataSource, DeepPartial, EntityMetadata, ObjectLiteral, Repository } from 'typeorm';
import { FindOperator } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';

// Single-row statements built from TypeORM's entity metadata, for the hot paths (job submit, run,
// finish, every read and wait). TypeORM's query builders and its result transformer spend ~1–2 ms of
// CPU per statement on a wide entity; these write and read the same values, through the columns'
// transformers and the driver's value preparation and hydration.

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
  const placeholders = params.map((_, i) => `$${i + 1}`).join(', ');
  const returning = returned.length ? ` RETURNING ${returned.map((c) => driver.escape(c.databaseName)).join(', ')}` : '';
  const rows: Array<Record<string, unknown>> = await manager.query(`INSERT INTO ${tableOf(metadata, driver)} (${names.join(', ')}) VALUES (${placeholders})${returning}`, params);
  const row = rows[0] ?? {};
  for (const column of returned) {
    column.setEntityValue(entity, driver.prepareHydratedValue(row[column.databaseName] ?? null, column));
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
  const sets: string[] = [];
  for (const [property, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    const target = columnOf(metadata, property);
    params.push(driver.preparePersistentValue(target.getEntityValue(patch, true), target));
    sets.push(`${driver.escape(target.databaseName)} = $${params.length}`);
  }
  for (const stamp of metadata.columns.filter((c) => c.isUpdateDate && patch[c.propertyName as keyof T] === undefined)) {
    sets.push(`${driver.escape(stamp.databaseName)} = CURRENT_TIMESTAMP`);
  }
  const conditions = conditionsSql(metadata, driver, where, params);
  if (!sets.length || !conditions.length) throw new Error('updateRows needs a change and a condition');
  // For UPDATE the driver answers [rows, rowCount].
  const [, affected] = await manager.query<[unknown[], number]>(`UPDATE ${tableOf(metadata, driver)} SET ${sets.join(', ')} WHERE ${conditions.join(' AND ')}`, params);
  return affected;
}

/**
 * SELECT of every column … WHERE … LIMIT 1, hydrated as TypeORM's findOne() does (relations not
 * loaded); null when no row matches. Conditions as for updateRows.
 */
export async function findRow<T extends ObjectLiteral>(repository: Repository<T>, where: Record<string, PlainCondition>): Promise<T | null> {
  const { metadata, manager } = repository;
  const driver = manager.connection.driver;
  const params: unknown[] = [];
  const columns = metadata.columns.filter((c) => !c.isVirtual);
  const conditions = conditionsSql(metadata, driver, where, params);
  const select = columns.map((c) => driver.escape(c.databaseName)).join(', ');
  const rows: Array<Record<string, unknown>> = await manager.query(`SELECT ${select} FROM ${tableOf(metadata, driver)} WHERE ${conditions.join(' AND ')} LIMIT 1`, params);
  const row = rows[0];
  if (!row) return null;
  const entity = repository.create();
  for (const column of columns) column.setEntityValue(entity, driver.prepareHydratedValue(row[column.databaseName] ?? null, column));
  return entity;
}

type Driver = DataSource['driver'];

function tableOf(metadata: EntityMetadata, driver: Driver): string {
  return metadata.tablePath
    .split('.')
    .map((part) => driver.escape(part))
    .join('.');
}

function columnOf(metadata: EntityMetadata, property: string): ColumnMetadata {
  const found = metadata.findColumnWithPropertyName(property);
  if (!found) throw new Error(`${metadata.name} has no column ${property}`);
  return found;
}

/** `where` as SQL conditions, appending their values to `params`. */
function conditionsSql(metadata: EntityMetadata, driver: Driver, where: Record<string, PlainCondition>, params: unknown[]): string[] {
  const conditions = Object.entries(where).map(([property, value]) => {
    const target = columnOf(metadata, property);
    const name = driver.escape(target.databaseName);
    if (value === null) return `${name} IS NULL`;
    if (isIn(value)) {
      params.push(value.value.map((v): unknown => driver.preparePersistentValue(v, target)));
      return `${name} = ANY($${params.length}::${driver.normalizeType(target)}[])`;
    }
    if (value instanceof FindOperator) throw new Error(`cannot express ${value.type} on ${property}`);
    params.push(driver.preparePersistentValue(value, target));
    return `${name} = $${params.length}`;
  });
  if (!conditions.length) throw new Error('a row statement needs a condition');
  return conditions;
}
