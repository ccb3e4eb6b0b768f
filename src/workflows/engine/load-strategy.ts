/** Reading `strategy`/`matrix`, `retry` and `artifacts` (design §2.3, §2.5, §3.11, §3.12). */
import type { Node } from 'yaml';
import { CONTEXTS } from 'src/workflows/engine/expression-sites';
import type { JobReadContext } from 'src/workflows/engine/load-steps';
import { addSite } from 'src/workflows/engine/load-steps';
import type {
  ArtifactSpec,
  JobStrategy,
  JsonValue,
  MatrixRow,
  MatrixSpec,
  RetryCondition,
  RetrySpec,
  StrategySpec,
} from 'src/workflows/engine/model';
import type { MapEntry } from 'src/workflows/engine/yaml-reader';
import { parseDuration } from 'src/workflows/engine/yaml-reader';

export function readStrategy(
  ctx: JobReadContext,
  node: Node | null,
  path: string,
  sourceText: string,
): JobStrategy | undefined {
  const { reader } = ctx;
  if (!reader.isMap(node)) {
    const expression = reader.string(node, path);
    if (expression === undefined) return undefined;
    if (!expression.includes('${{')) {
      reader.error('bad-type', `'${path}' must be a mapping or an expression`, path, node);
      return undefined;
    }
    addSite(ctx, { path, text: expression, kind: 'template', contexts: CONTEXTS.jobStrategy });
    return { kind: 'expression', expression };
  }
  const entries = reader.map(node, path) ?? [];
  reader.checkKeys(entries, new Set(['matrix', 'fail-fast', 'max-parallel']), 'strategy');
  const spec: StrategySpec = { failFast: true };
  for (const entry of entries) readStrategyField(ctx, spec, entry, sourceText);
  return { kind: 'static', spec };
}

function readStrategyField(
  ctx: JobReadContext,
  spec: StrategySpec,
  entry: MapEntry,
  sourceText: string,
): void {
  const { reader } = ctx;
  if (entry.key === 'matrix') {
    const matrix = readMatrix(ctx, entry.value, entry.path, sourceText);
    if (matrix !== undefined) spec.matrix = matrix;
    return;
  }
  const value =
    entry.key === 'fail-fast'
      ? reader.templatedBoolean(entry.value, entry.path)
      : readMaxParallel(ctx, entry);
  if (value === undefined) return;
  if (entry.key === 'fail-fast') spec.failFast = value as boolean | string;
  else spec.maxParallel = value as number | string;
  if (typeof value === 'string')
    addSite(ctx, { path: entry.path, text: value, kind: 'template', contexts: CONTEXTS.jobStrategy });
}

function readMaxParallel(ctx: JobReadContext, entry: MapEntry): number | string | undefined {
  const value = ctx.reader.templatedNumber(entry.value, entry.path);
  if (typeof value === 'number' && (!Number.isInteger(value) || value < 1)) {
    ctx.reader.error('bad-type', `'${entry.path}' must be an integer ≥ 1`, entry.path, entry.value);
    return undefined;
  }
  return value;
}

/** A matrix mapping, or one expression producing the whole matrix. Accepts the seed's `{parameters, …}` form. */
export function readMatrix(
  ctx: JobReadContext,
  node: Node | null,
  path: string,
  sourceText: string,
): MatrixSpec | string | undefined {
  const { reader } = ctx;
  if (!reader.isMap(node)) {
    const expression = reader.string(node, path);
    if (expression === undefined) return undefined;
    if (!expression.includes('${{'))
      return void reader.error('bad-type', `'${path}' must be a mapping or an expression`, path, node);
    addSite(ctx, { path, text: expression, kind: 'template', contexts: CONTEXTS.jobStrategy });
    return expression;
  }
  const matrix: MatrixSpec = { dimensions: [], include: [], exclude: [], loc: reader.loc(node) };
  for (const entry of reader.map(node, path) ?? []) {
    if (entry.key === 'include' || entry.key === 'exclude') matrix[entry.key] = readRows(ctx, entry);
    else if (entry.key === 'parameters' && reader.isMap(entry.value))
      readSeedParameters(ctx, matrix, entry, sourceText);
    else readDimension(ctx, matrix, entry, sourceText);
  }
  checkExcludeKeys(ctx, matrix, path);
  return matrix;
}

function readSeedParameters(
  ctx: JobReadContext,
  matrix: MatrixSpec,
  entry: MapEntry,
  sourceText: string,
): void {
  ctx.reader.warn(
    'deprecated',
    "'matrix.parameters' is the predecessor's form; put dimensions directly under 'matrix'",
    entry.path,
    entry.keyNode,
  );
  for (const dimension of ctx.reader.map(entry.value, entry.path) ?? [])
    readDimension(ctx, matrix, dimension, sourceText);
}

function readDimension(ctx: JobReadContext, matrix: MatrixSpec, entry: MapEntry, sourceText: string): void {
  const { reader } = ctx;
  const loc = reader.loc(entry.keyNode);
  if (matrix.dimensions.some((d) => d.name.toLowerCase() === entry.key.toLowerCase())) {
    reader.warn(
      'matrix-key-case',
      `Matrix keys '${entry.key}' and another key differ only in case; they are the same key`,
      entry.path,
      entry.keyNode,
    );
  }
  if (!reader.isSeq(entry.value)) {
    const expression = reader.string(entry.value, entry.path);
    if (expression === undefined) return;
    if (!expression.includes('${{'))
      return void reader.error(
        'bad-type',
        `Matrix vector '${entry.key}' must be a list or an expression`,
        entry.path,
        entry.value,
      );
    addSite(ctx, { path: entry.path, text: expression, kind: 'template', contexts: CONTEXTS.jobStrategy });
    matrix.dimensions.push({ name: entry.key, values: expression, loc });
    return;
  }
  const items = reader.seq(entry.value, entry.path) ?? [];
  if (items.length === 0)
    reader.error(
      'empty-matrix-vector',
      `Matrix vector '${entry.key}' does not contain any values`,
      entry.path,
      entry.value,
    );
  items.forEach((item, i) => lintFloat(ctx, item, `${entry.path}[${i}]`, sourceText));
  matrix.dimensions.push({ name: entry.key, values: items.map((item) => reader.json(item)), loc });
}

/** `python: [3.9, 3.10]` gives 3.1: warn about unquoted floats whose text ends in 0. */
function lintFloat(ctx: JobReadContext, node: Node | null, path: string, sourceText: string): void {
  if (typeof ctx.reader.scalarValue(node) !== 'number') return;
  const text = ctx.reader.sourceText(node, sourceText).trim();
  if (/^\d+\.\d*0$/.test(text)) {
    ctx.reader.warn(
      'matrix-float',
      `Matrix value ${text} is read as the number ${Number(text)}; quote it ('${text}') to keep it as written`,
      path,
      node,
    );
  }
}

function readRows(ctx: JobReadContext, entry: MapEntry): MatrixRow[] | string {
  const { reader } = ctx;
  if (!reader.isSeq(entry.value)) {
    const expression = reader.string(entry.value, entry.path);
    if (expression?.includes('${{')) {
      addSite(ctx, { path: entry.path, text: expression, kind: 'template', contexts: CONTEXTS.jobStrategy });
      return expression;
    }
    if (expression !== undefined)
      reader.error('bad-type', `'${entry.path}' must be a list of mappings`, entry.path, entry.value);
    return [];
  }
  const rows: MatrixRow[] = [];
  (reader.seq(entry.value, entry.path) ?? []).forEach((item, i) => {
    const value: JsonValue = reader.json(item);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) rows.push(value);
    else reader.error('bad-type', `'${entry.path}[${i}]' must be a mapping`, `${entry.path}[${i}]`, item);
  });
  return rows;
}

function checkExcludeKeys(ctx: JobReadContext, matrix: MatrixSpec, path: string): void {
  if (!Array.isArray(matrix.exclude)) return;
  const names = new Set(matrix.dimensions.map((d) => d.name.toLowerCase()));
  matrix.exclude.forEach((row, i) => {
    for (const key of Object.keys(row)) {
      if (!names.has(key.toLowerCase())) {
        ctx.reader.reportAt(
          'error',
          'matrix-exclude-key',
          `Matrix exclude key '${key}' does not match any key within the matrix`,
          `${path}.exclude[${i}]`,
        );
      }
    }
  });
}

// ─── retry ──────────────────────────────────────────────────────────────────────────────────────────

export const DEFAULT_RETRY: RetrySpec = {
  max: 0,
  when: ['any'],
  backoff: { delayMs: 10_000, factor: 2, maxDelayMs: 300_000 },
};
const RETRY_CONDITIONS = new Set<RetryCondition>(['failure', 'timeout', 'infra', 'any']);

export function readRetry(ctx: JobReadContext, node: Node | null, path: string): RetrySpec {
  const { reader } = ctx;
  const retry: RetrySpec = { ...DEFAULT_RETRY, backoff: { ...DEFAULT_RETRY.backoff } };
  if (!reader.isMap(node)) {
    retry.max = readRetryMax(ctx, node, path) ?? 0;
    return retry;
  }
  const entries = reader.map(node, path) ?? [];
  reader.checkKeys(entries, new Set(['max', 'count', 'when', 'backoff']), 'retry');
  for (const entry of entries) {
    if (entry.key === 'max' || entry.key === 'count')
      retry.max = readRetryMax(ctx, entry.value, entry.path) ?? 0;
    else if (entry.key === 'when') retry.when = readRetryWhen(ctx, entry);
    else readBackoff(ctx, retry, entry);
  }
  return retry;
}

function readRetryMax(ctx: JobReadContext, node: Node | null, path: string): number | undefined {
  const max = ctx.reader.integer(node, path, 0);
  if (max !== undefined && max > 10) {
    ctx.reader.error('bad-retry', `'${path}' must be between 0 and 10`, path, node);
    return undefined;
  }
  return max;
}

function readRetryWhen(ctx: JobReadContext, entry: MapEntry): RetryCondition[] {
  const values = ctx.reader.stringList(entry.value, entry.path) ?? [];
  const bad = values.filter((v) => !RETRY_CONDITIONS.has(v as RetryCondition));
  if (bad.length)
    ctx.reader.error(
      'bad-retry',
      `Unknown retry condition(s) ${bad.join(', ')}; use failure, timeout, infra or any`,
      entry.path,
      entry.value,
    );
  return values.filter((v): v is RetryCondition => RETRY_CONDITIONS.has(v as RetryCondition));
}

/** The longest retry delay a workflow file can ask for: a waiting instance keeps its run (and source) alive. */
export const MAX_RETRY_DELAY_MS = 3_600_000;

function readBackoff(ctx: JobReadContext, retry: RetrySpec, entry: MapEntry): void {
  const { reader } = ctx;
  const asDuration = parseDuration(reader.scalarValue(entry.value));
  if (asDuration !== undefined) {
    retry.backoff.delayMs = Math.min(asDuration, MAX_RETRY_DELAY_MS);
    return;
  }
  for (const field of reader.map(entry.value, entry.path) ?? []) {
    const value = reader.scalarValue(field.value);
    const parsed = parseDuration(value);
    const ms = parsed === undefined ? undefined : Math.min(parsed, MAX_RETRY_DELAY_MS);
    if (field.key === 'factor' && typeof value === 'number' && value >= 1) retry.backoff.factor = value;
    else if (field.key === 'delay' && ms !== undefined) retry.backoff.delayMs = ms;
    else if (field.key === 'max-delay' && ms !== undefined) retry.backoff.maxDelayMs = ms;
    else
      reader.error(
        'bad-retry',
        `Invalid '${field.path}' (delay and max-delay are durations, factor a number ≥ 1)`,
        field.path,
        field.value,
      );
  }
}

// ─── artifacts ──────────────────────────────────────────────────────────────────────────────────────

const ARTIFACT_WHEN = new Set(['success', 'failure', 'always']);
const IF_NO_FILES = new Set(['warn', 'error', 'ignore']);
const SHELL_METACHARACTERS = /[;&|`$<>(){}\\\n]/;

export function readArtifacts(ctx: JobReadContext, node: Node | null, path: string): ArtifactSpec[] {
  const { reader } = ctx;
  const artifacts: ArtifactSpec[] = [];
  (reader.seq(node, path) ?? []).forEach((item, i) => {
    const itemPath = `${path}[${i}]`;
    const artifact = reader.isMap(item)
      ? readArtifactMap(ctx, item, itemPath)
      : readArtifactPath(ctx, item, itemPath);
    if (!artifact) return;
    const bad = artifact.paths.find((p) => SHELL_METACHARACTERS.test(p));
    if (bad !== undefined)
      reader.error('bad-artifact', `Artifact path '${bad}' contains shell metacharacters`, itemPath, item);
    artifacts.push(artifact);
  });
  return artifacts;
}

/** Seed form: a bare path; the artifact is named after the path's last segment. */
function readArtifactPath(ctx: JobReadContext, node: Node | null, path: string): ArtifactSpec | undefined {
  const text = ctx.reader.string(node, path);
  if (text === undefined) return undefined;
  const name =
    text
      .replace(/\/+$/, '')
      .split('/')
      .pop()
      ?.replace(/[^A-Za-z0-9._-]/g, '_') || 'artifact';
  return { name, paths: [text], when: 'success', ifNoFiles: 'warn' };
}

function readArtifactMap(ctx: JobReadContext, node: Node | null, path: string): ArtifactSpec | undefined {
  const { reader } = ctx;
  const entries = reader.map(node, path) ?? [];
  reader.checkKeys(entries, new Set(['name', 'path', 'when', 'if-no-files']), 'an artifact');
  const field = (key: string): MapEntry | undefined => entries.find((e) => e.key === key);
  const name = field('name') ? reader.string(field('name')?.value ?? null, `${path}.name`) : undefined;
  const paths = field('path') ? reader.stringList(field('path')?.value ?? null, `${path}.path`) : undefined;
  if (!name || !paths?.length)
    return void reader.error('bad-artifact', `An artifact needs a 'name' and a 'path'`, path, node);
  const when = readEnum(ctx, field('when'), ARTIFACT_WHEN, 'success');
  const ifNoFiles = readEnum(ctx, field('if-no-files'), IF_NO_FILES, 'warn');
  return {
    name,
    paths,
    when: when as ArtifactSpec['when'],
    ifNoFiles: ifNoFiles as ArtifactSpec['ifNoFiles'],
  };
}

function readEnum(
  ctx: JobReadContext,
  entry: MapEntry | undefined,
  allowed: ReadonlySet<string>,
  fallback: string,
): string {
  if (!entry) return fallback;
  const value = ctx.reader.string(entry.value, entry.path);
  if (value !== undefined && allowed.has(value)) return value;
  ctx.reader.error(
    'bad-type',
    `'${entry.path}' must be one of ${[...allowed].join(', ')}`,
    entry.path,
    entry.value,
  );
  return fallback;
}
