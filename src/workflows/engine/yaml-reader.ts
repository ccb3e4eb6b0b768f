/**
 * Typed, position-aware reading of a parsed YAML document. Every problem becomes a Diagnostic with the
 * node's line and column; readers return undefined on a bad type so loading continues and reports all
 * errors at once.
 */
import type { Document, LineCounter, Node } from 'yaml';
import { isAlias, isMap, isScalar, isSeq } from 'yaml';
import type { Diagnostic, DiagnosticSeverity, JsonValue, SourceLocation } from 'src/workflows/engine/model';

export interface MapEntry {
  key: string;
  keyNode: Node | null;
  value: Node | null;
  path: string;
}

export class YamlReader {
  readonly diagnostics: Diagnostic[] = [];
  /** Document path → position of the value there, for diagnostics raised after reading. */
  readonly positions = new Map<string, SourceLocation>();
  /** Paths whose value is a single-line plain scalar: a character offset in the value maps to a column. */
  readonly plainScalars = new Set<string>();

  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  loc(node: Node | null | undefined): SourceLocation {
    const offset = node?.range?.[0] ?? 0;
    const pos = this.lines.linePos(offset);
    return { line: pos.line, column: pos.col };
  }

  report(
    severity: DiagnosticSeverity,
    code: string,
    message: string,
    path: string,
    node: Node | null | undefined,
  ): void {
    this.diagnostics.push({ severity, code, message, path, ...this.loc(node) });
  }

  error(code: string, message: string, path: string, node: Node | null | undefined): void {
    this.report('error', code, message, path, node);
  }

  warn(code: string, message: string, path: string, node: Node | null | undefined): void {
    this.report('warning', code, message, path, node);
  }

  /** Follows aliases to the anchored node. */
  resolve(node: unknown): Node | null {
    if (isAlias(node)) return (node.resolve(this.doc) as Node | undefined) ?? null;
    return (node as Node | null | undefined) ?? null;
  }

  isNull(node: Node | null): boolean {
    const resolved = this.resolve(node);
    return resolved === null || (isScalar(resolved) && resolved.value === null);
  }

  /** Entries of a mapping in source order, or undefined (with an error) if the node is not one. */
  map(node: Node | null, path: string): MapEntry[] | undefined {
    const resolved = this.resolve(node);
    if (!isMap(resolved)) {
      this.error('bad-type', `'${path}' must be a mapping`, path, resolved ?? node);
      return undefined;
    }
    return resolved.items.map((pair) => {
      const keyNode = this.resolve(pair.key);
      const key = isScalar(keyNode) ? String(keyNode.value) : String(pair.key);
      const value = this.resolve(pair.value);
      const entryPath = path ? `${path}.${key}` : key;
      this.positions.set(entryPath, this.loc(value ?? keyNode));
      if (isScalar(value) && value.type === 'PLAIN' && !String(value.source ?? value.value).includes('\n'))
        this.plainScalars.add(entryPath);
      return { key, keyNode, value, path: entryPath };
    });
  }

  /** Items of a sequence, or undefined (with an error). */
  seq(node: Node | null, path: string): (Node | null)[] | undefined {
    const resolved = this.resolve(node);
    if (!isSeq(resolved)) {
      this.error('bad-type', `'${path}' must be a list`, path, resolved ?? node);
      return undefined;
    }
    return resolved.items.map((item, i) => {
      const value = this.resolve(item);
      this.positions.set(`${path}[${i}]`, this.loc(value));
      return value;
    });
  }

  /** Position recorded for a path, else for its nearest recorded parent. */
  positionOf(path: string): SourceLocation {
    for (let p = path; p; p = p.replace(/(\.[^.[\]]*|\[\d+\])$/, '')) {
      const found = this.positions.get(p);
      if (found) return found;
      if (!/[.[]/.test(p)) break;
    }
    return { line: 1, column: 1 };
  }

  /** Reports at a character offset inside the value at `path` when it is a single-line plain scalar. */
  reportAtOffset(
    severity: DiagnosticSeverity,
    code: string,
    message: string,
    path: string,
    offset: number | undefined,
  ): void {
    const base = this.positionOf(path);
    const column = offset !== undefined && this.plainScalars.has(path) ? base.column + offset : base.column;
    this.diagnostics.push({ severity, code, message, path, line: base.line, column });
  }

  /** Reports at a recorded path (used by validation after the nodes are gone). */
  reportAt(severity: DiagnosticSeverity, code: string, message: string, path: string): void {
    this.diagnostics.push({ severity, code, message, path, ...this.positionOf(path) });
  }

  isSeq(node: Node | null): boolean {
    return isSeq(this.resolve(node));
  }

  isMap(node: Node | null): boolean {
    return isMap(this.resolve(node));
  }

  /** A string; with `coerce`, numbers and booleans become their canonical text (env values). */
  string(node: Node | null, path: string, coerce = false): string | undefined {
    const resolved = this.resolve(node);
    if (isScalar(resolved)) {
      const value: unknown = resolved.value;
      if (typeof value === 'string') return value;
      if (coerce && (typeof value === 'number' || typeof value === 'boolean')) return String(value);
      if (coerce && value === null) return '';
    }
    this.error('bad-type', `'${path}' must be a string`, path, resolved ?? node);
    return undefined;
  }

  /** A string or a list of strings. */
  stringList(node: Node | null, path: string): string[] | undefined {
    if (!this.isSeq(node)) {
      const one = this.string(node, path, true);
      return one === undefined ? undefined : [one];
    }
    const items = this.seq(node, path) ?? [];
    return items
      .map((item, i) => this.string(item, `${path}[${i}]`, true))
      .filter((s): s is string => s !== undefined);
  }

  /** name → string, with scalars coerced (booleans `true`/`false`, numbers in decimal). */
  stringMap(node: Node | null, path: string): Record<string, string> {
    const out: Record<string, string> = {};
    if (this.isNull(node)) return out;
    if (isScalar(this.resolve(node))) {
      this.error(
        'bad-type',
        `'${path}' must be a mapping (a whole map from one expression is not supported)`,
        path,
        this.resolve(node),
      );
      return out;
    }
    for (const entry of this.map(node, path) ?? []) {
      const value = this.string(entry.value, entry.path, true);
      if (value !== undefined) out[entry.key] = value;
    }
    return out;
  }

  /** A boolean, or an expression string to evaluate later. */
  templatedBoolean(node: Node | null, path: string): boolean | string | undefined {
    const value = this.scalarValue(node);
    if (typeof value === 'boolean' || (typeof value === 'string' && value.includes('${{'))) return value;
    this.error('bad-type', `'${path}' must be a boolean or an expression`, path, node);
    return undefined;
  }

  /** A number, or an expression string to evaluate later. */
  templatedNumber(node: Node | null, path: string): number | string | undefined {
    const value = this.scalarValue(node);
    if (typeof value === 'number' || (typeof value === 'string' && value.includes('${{'))) return value;
    this.error('bad-type', `'${path}' must be a number or an expression`, path, node);
    return undefined;
  }

  integer(node: Node | null, path: string, min: number): number | undefined {
    const value = this.scalarValue(node);
    if (typeof value === 'number' && Number.isInteger(value) && value >= min) return value;
    this.error('bad-type', `'${path}' must be an integer ≥ ${min}`, path, node);
    return undefined;
  }

  scalarValue(node: Node | null): unknown {
    const resolved = this.resolve(node);
    return isScalar(resolved) ? resolved.value : undefined;
  }

  /** The node as plain JSON (aliases resolved). */
  json(node: Node | null): JsonValue {
    const resolved = this.resolve(node);
    return resolved === null ? null : (resolved.toJS(this.doc) as JsonValue);
  }

  /** The node's source text (to lint unquoted floats such as `3.10`). */
  sourceText(node: Node | null, text: string): string {
    const range = this.resolve(node)?.range;
    return range ? text.slice(range[0], range[1]) : '';
  }

  /** Reports keys outside `allowed` as errors (worded like the official parser). */
  checkKeys(entries: MapEntry[], allowed: ReadonlySet<string>, where: string): void {
    for (const entry of entries) {
      if (!allowed.has(entry.key)) {
        this.error('unknown-key', `Unexpected value '${entry.key}' in ${where}`, entry.path, entry.keyNode);
      }
    }
  }
}

/** Parses `90m`, `2h`, `1h30m`, `45s`, `500ms`; a bare number means seconds. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return value >= 0 ? value * 1000 : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  const pattern = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    total += Number(match[1]) * (unitMs[match[2] as string] ?? 0);
    consumed = pattern.lastIndex;
  }
  return consumed === text.length && consumed > 0 ? total : undefined;
}
