/**
 * Matrix expansion with GitHub's documented rules (design §3.4.1): Cartesian product in dimension
 * order (last dimension fastest), `exclude` first with partial matching, then `include` merging into
 * matching original combinations without overwriting original values, else appended. Values keep
 * their types and compare by deep equality; keys compare case-insensitively.
 */
import type { EvaluationContext } from 'src/workflows/engine/expressions';
import { evaluateTemplate, toText } from 'src/workflows/engine/expressions';
import type { JsonValue, MatrixRow, MatrixSpec } from 'src/workflows/engine/model';
import { MATRIX_INSTANCE_LIMIT } from 'src/workflows/engine/model';

export class MatrixError extends Error {}

/** A matrix with every piece evaluated. */
export interface ConcreteMatrix {
  dimensions: { name: string; values: JsonValue[] }[];
  include: MatrixRow[];
  exclude: MatrixRow[];
}

export interface MatrixCombination {
  values: MatrixRow;
  /** Values shown in the display name: original dimensions for product rows, every value for appended rows. */
  nameValues: JsonValue[];
}

export function expandMatrix(matrix: ConcreteMatrix): MatrixCombination[] {
  for (const d of matrix.dimensions) {
    if (d.values.length === 0) throw new MatrixError(`Matrix vector '${d.name}' does not contain any values`);
  }
  // Each include/exclude entry is compared with every row: bound both sides (issue 19).
  for (const list of ['include', 'exclude'] as const) {
    if (matrix[list].length > MATRIX_ENTRY_LIMIT)
      throw new MatrixError(`Matrix '${list}' has ${matrix[list].length} entries (limit ${MATRIX_ENTRY_LIMIT})`);
  }
  const dimensionNames = matrix.dimensions.map((d) => d.name);
  const product = cartesianProduct(matrix.dimensions).filter(
    (row) => !matrix.exclude.some((ex) => rowMatches(row, ex)),
  );
  const rows = product.map((values) => ({ values, appended: false }));
  const originals = rows.length;
  for (const entry of matrix.include) {
    if (!mergeInclude(rows.slice(0, originals), entry, dimensionNames))
      rows.push({ values: { ...entry }, appended: true });
  }
  if (rows.length > MATRIX_INSTANCE_LIMIT) {
    throw new MatrixError(`Matrix expands to ${rows.length} jobs (limit ${MATRIX_INSTANCE_LIMIT})`);
  }
  return rows.map((row) => ({
    values: row.values,
    nameValues: nameValuesOf(row.values, row.appended ? undefined : dimensionNames),
  }));
}

/** Refuse to build products this large even if excludes would shrink them (memory, and CPU: rows × entries). */
const PRODUCT_HARD_LIMIT = 4_096;
/** Entries of `include` and of `exclude`. */
const MATRIX_ENTRY_LIMIT = 256;

function cartesianProduct(dimensions: ConcreteMatrix['dimensions']): MatrixRow[] {
  if (dimensions.length === 0) return [];
  const size = dimensions.reduce((n, d) => n * d.values.length, 1);
  if (size > PRODUCT_HARD_LIMIT)
    throw new MatrixError(
      `Matrix expands to ${size} combinations before exclude (limit ${MATRIX_INSTANCE_LIMIT} jobs)`,
    );
  let rows: MatrixRow[] = [{}];
  for (const { name, values } of dimensions) {
    rows = rows.flatMap((row) => values.map((value) => ({ ...row, [name]: value })));
  }
  return rows;
}

/** An include entry merges into every original row that agrees on the original dimensions it names. */
function mergeInclude(rows: { values: MatrixRow }[], entry: MatrixRow, dimensionNames: string[]): boolean {
  let merged = false;
  for (const row of rows) {
    const agrees = Object.entries(entry).every(([key, value]) => {
      const dimension = findKey(dimensionNames, key);
      return dimension === undefined || deepEqual(row.values[dimension] ?? null, value);
    });
    if (!agrees) continue;
    for (const [key, value] of Object.entries(entry)) {
      if (findKey(dimensionNames, key) === undefined)
        row.values[findKey(Object.keys(row.values), key) ?? key] = value;
    }
    merged = true;
  }
  return merged;
}

function rowMatches(row: MatrixRow, partial: MatrixRow): boolean {
  return Object.entries(partial).every(([key, value]) => {
    const actual = findKey(Object.keys(row), key);
    return actual !== undefined && deepEqual(row[actual] ?? null, value);
  });
}

function findKey(keys: string[], key: string): string | undefined {
  const lower = key.toLowerCase();
  return keys.find((k) => k.toLowerCase() === lower);
}

export function deepEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((v, i) => deepEqual(v, b[i] ?? null));
  const aObj = a as Record<string, JsonValue>;
  const bObj = b as Record<string, JsonValue>;
  const keys = Object.keys(aObj);
  return (
    keys.length === Object.keys(bObj).length &&
    keys.every((k) => k in bObj && deepEqual(aObj[k] ?? null, bObj[k] ?? null))
  );
}

function nameValuesOf(values: MatrixRow, dimensionNames: string[] | undefined): JsonValue[] {
  const keys = dimensionNames ?? Object.keys(values);
  return keys.map((k) => values[k] ?? null);
}

/** GitHub's suffix: scalar leaves in order, without '' and null: `(v1, v2)`; '' when nothing is left. */
export function displaySuffix(nameValues: JsonValue[]): string {
  const leaves = nameValues.flatMap(scalarLeaves).filter((v) => v !== null && v !== '');
  return leaves.length === 0 ? '' : ` (${leaves.map((v) => toText(v)).join(', ')})`;
}

function scalarLeaves(value: JsonValue): JsonValue[] {
  if (Array.isArray(value)) return value.flatMap(scalarLeaves);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(scalarLeaves);
  return [value];
}

/** Canonical JSON: sorted keys at every level, no whitespace (instance identity, design §3.4.4). */
export function canonicalJson(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k] ?? null)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

// ─── Evaluating dynamic matrices ────────────────────────────────────────────────────────────────────

/** True when the matrix has no `${{ }}` anywhere, so it can be expanded at load/plan time. */
export function isStaticMatrix(matrix: MatrixSpec | string | undefined): boolean {
  if (matrix === undefined) return true;
  if (typeof matrix === 'string') return false;
  return (
    typeof matrix.include !== 'string' &&
    typeof matrix.exclude !== 'string' &&
    matrix.dimensions.every((d) => typeof d.values !== 'string')
  );
}

/** Evaluates every expression piece of a matrix (needs outputs are known once the job is ready). */
export function concretizeMatrix(matrix: MatrixSpec | string, ctx: EvaluationContext): ConcreteMatrix {
  if (typeof matrix === 'string') return matrixFromValue(evaluateTemplate(matrix, ctx));
  return {
    dimensions: matrix.dimensions.map((d) => ({
      name: d.name,
      values: typeof d.values === 'string' ? evaluateList(d.name, d.values, ctx) : d.values,
    })),
    include:
      typeof matrix.include === 'string'
        ? rowsFromValue('include', evaluateTemplate(matrix.include, ctx))
        : matrix.include,
    exclude:
      typeof matrix.exclude === 'string'
        ? rowsFromValue('exclude', evaluateTemplate(matrix.exclude, ctx))
        : matrix.exclude,
  };
}

function evaluateList(name: string, template: string, ctx: EvaluationContext): JsonValue[] {
  const value = evaluateTemplate(template, ctx);
  if (!Array.isArray(value))
    throw new MatrixError(`Matrix vector '${name}' must evaluate to a list, got ${describe(value)}`);
  return value;
}

/** A matrix given as one value (from fromJSON): `{dim: [...], include: [...], exclude: [...]}`. */
export function matrixFromValue(value: JsonValue): ConcreteMatrix {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new MatrixError(`A matrix must evaluate to a mapping, got ${describe(value)}`);
  }
  const matrix: ConcreteMatrix = { dimensions: [], include: [], exclude: [] };
  for (const [key, entry] of Object.entries(value)) {
    if (key === 'include' || key === 'exclude') matrix[key] = rowsFromValue(key, entry);
    else if (Array.isArray(entry)) matrix.dimensions.push({ name: key, values: entry });
    else throw new MatrixError(`Matrix vector '${key}' must be a list, got ${describe(entry)}`);
  }
  return matrix;
}

function rowsFromValue(what: string, value: JsonValue): MatrixRow[] {
  if (!Array.isArray(value))
    throw new MatrixError(`Matrix ${what} must be a list of mappings, got ${describe(value)}`);
  return value.map((row) => {
    if (row === null || typeof row !== 'object' || Array.isArray(row))
      throw new MatrixError(`Matrix ${what} entries must be mappings`);
    return row;
  });
}

function describe(value: JsonValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a mapping' : `${typeof value} ${JSON.stringify(value)}`;
}
