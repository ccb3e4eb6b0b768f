/**
 * GitHub Actions expression language: lexer, parser, evaluator, `${{ }}` interpolation.
 * Semantics follow GitHub's expressions documentation (loose equality, case-insensitive strings,
 * `&&`/`||` returning operands, falsy set). Errors throw ExpressionError; callers never treat a failed
 * parse or evaluation as true.
 */
import { INPUT_LIMITS, jsonTextDepth } from 'src/common/input-limits';
import type { JsonValue } from 'src/workflows/engine/model';

export class ExpressionError extends Error {
  constructor(
    message: string,
    /** 0-based offset within the expression text, when known. */
    readonly position?: number,
  ) {
    super(message);
  }
}

/**
 * Evaluation limits (issue 19; GitHub's runner uses the same length and depth): an expression is
 * pure, but `format('{0}{0}', …)` nested 40 times doubles a string 40 times. Every string a function
 * builds (format, join, toJSON, interpolation) and every fromJSON input is bounded by the result size;
 * with the length and depth bounded, the number of evaluation steps is bounded too.
 */
export const EXPRESSION_LIMITS = {
  /** Characters of one expression. */
  maxLength: 21_000,
  /** Nesting of parentheses, calls, indexes and `!`. */
  maxDepth: 50,
  /** Characters of a string an expression builds, and of fromJSON's input. */
  maxResultChars: 1_048_576,
  /** Nesting of the JSON fromJSON parses. */
  maxJsonDepth: INPUT_LIMITS.maxDepth,
} as const;

function tooLarge(what: string, size: number): never {
  throw new ExpressionError(`${what} result is ${size} characters, over the limit of ${EXPRESSION_LIMITS.maxResultChars} characters (expression result size)`);
}

function bounded(what: string, text: string): string {
  return text.length > EXPRESSION_LIMITS.maxResultChars ? tooLarge(what, text.length) : text;
}

// ─── Lexer ──────────────────────────────────────────────────────────────────────────────────────────

type TokenKind = 'number' | 'string' | 'ident' | 'punct' | 'eof';
interface Token {
  kind: TokenKind;
  text: string;
  value?: number | string;
  pos: number;
}

const PUNCTUATION = ['<=', '>=', '==', '!=', '&&', '||', '(', ')', '[', ']', '.', ',', '*', '!', '<', '>'];

function lex(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i] as string;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const token =
      lexString(source, i) ?? lexNumber(source, i, tokens) ?? lexIdent(source, i) ?? lexPunct(source, i);
    if (!token) throw new ExpressionError(`Unexpected symbol: '${ch}'`, i);
    tokens.push(token);
    i += token.text.length;
  }
  tokens.push({ kind: 'eof', text: '', pos: source.length });
  return tokens;
}

function lexString(source: string, start: number): Token | undefined {
  if (source[start] === '"') throw new ExpressionError('Strings must use single quotes', start);
  if (source[start] !== "'") return undefined;
  let value = '';
  let i = start + 1;
  for (;;) {
    if (i >= source.length) throw new ExpressionError('Unterminated string', start);
    if (source[i] === "'") {
      if (source[i + 1] === "'") {
        value += "'";
        i += 2;
        continue;
      }
      break;
    }
    value += source[i];
    i++;
  }
  return { kind: 'string', text: source.slice(start, i + 1), value, pos: start };
}

const NUMBER_PATTERN = /^-?(0x[0-9a-fA-F]+|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)/;

function lexNumber(source: string, start: number, previous: Token[]): Token | undefined {
  const rest = source.slice(start);
  const match = NUMBER_PATTERN.exec(rest);
  if (!match) return undefined;
  // A leading '-' is a sign only where an operand may start.
  if (rest.startsWith('-') && !operandMayStart(previous)) return undefined;
  const text = match[0];
  const body = text.replace(/^-/, '');
  const magnitude = body.toLowerCase().startsWith('0x') ? parseInt(body, 16) : Number(body);
  return { kind: 'number', text, value: text.startsWith('-') ? -magnitude : magnitude, pos: start };
}

function operandMayStart(previous: Token[]): boolean {
  const last = previous[previous.length - 1];
  return !last || (last.kind === 'punct' && ![')', ']'].includes(last.text));
}

function lexIdent(source: string, start: number): Token | undefined {
  const match = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(source.slice(start));
  return match ? { kind: 'ident', text: match[0], pos: start } : undefined;
}

function lexPunct(source: string, start: number): Token | undefined {
  const text = PUNCTUATION.find((p) => source.startsWith(p, start));
  return text ? { kind: 'punct', text, pos: start } : undefined;
}

// ─── Parser ─────────────────────────────────────────────────────────────────────────────────────────

export type ExprNode =
  | { type: 'literal'; value: JsonValue }
  | { type: 'context'; name: string; pos: number }
  | { type: 'property'; object: ExprNode; name: string }
  | { type: 'index'; object: ExprNode; index: ExprNode }
  | { type: 'filter'; object: ExprNode }
  | { type: 'not'; operand: ExprNode }
  | { type: 'binary'; op: string; left: ExprNode; right: ExprNode }
  | { type: 'call'; name: string; args: ExprNode[]; pos: number };

const FUNCTION_ARITY: Record<string, [number, number]> = {
  contains: [2, 2],
  startswith: [2, 2],
  endswith: [2, 2],
  format: [1, 255],
  join: [1, 2],
  tojson: [1, 1],
  fromjson: [1, 1],
  hashfiles: [1, 255],
  case: [3, 255],
  success: [0, 0],
  failure: [0, 0],
  always: [0, 0],
  cancelled: [0, 0],
};
export const STATUS_FUNCTIONS = new Set(['success', 'failure', 'always', 'cancelled']);

const BINARY_PRECEDENCE: [string[], number][] = [
  [['||'], 1],
  [['&&'], 2],
  [['==', '!='], 3],
  [['<', '<=', '>', '>='], 4],
];

class Parser {
  private at = 0;
  private depth = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly source: string,
  ) {}

  parse(): ExprNode {
    if (this.peek().kind === 'eof') throw new ExpressionError('Expected an expression', 0);
    const node = this.binary(1);
    const next = this.peek();
    if (next.kind !== 'eof') throw this.unexpected(next);
    return node;
  }

  private binary(level: number): ExprNode {
    if (level > 4) return this.unary();
    if (level === 1) return this.nested(() => this.binaryAt(1));
    return this.binaryAt(level);
  }

  /** Entered for every parenthesis, argument, index and `!`: the recursion the depth limit bounds. */
  private nested(parse: () => ExprNode): ExprNode {
    if (++this.depth > EXPRESSION_LIMITS.maxDepth) {
      throw new ExpressionError(`Expression nests deeper than ${EXPRESSION_LIMITS.maxDepth} levels (the limit)`, this.peek().pos);
    }
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  private binaryAt(level: number): ExprNode {
    let left = this.binary(level + 1);
    const ops = BINARY_PRECEDENCE.find(([, l]) => l === level)?.[0] ?? [];
    while (this.peek().kind === 'punct' && ops.includes(this.peek().text)) {
      const op = this.next().text;
      left = { type: 'binary', op, left, right: this.binary(level + 1) };
    }
    return left;
  }

  private unary(): ExprNode {
    if (this.isPunct('!')) {
      this.next();
      return { type: 'not', operand: this.nested(() => this.unary()) };
    }
    return this.postfix(this.primary());
  }

  private postfix(node: ExprNode): ExprNode {
    for (;;) {
      if (this.isPunct('.')) {
        this.next();
        const name = this.next();
        if (name.kind === 'punct' && name.text === '*') node = { type: 'filter', object: node };
        else if (name.kind === 'ident') node = { type: 'property', object: node, name: name.text };
        else throw this.unexpected(name);
      } else if (this.isPunct('[')) {
        this.next();
        if (this.isPunct('*')) {
          this.next();
          node = { type: 'filter', object: node };
        } else node = { type: 'index', object: node, index: this.binary(1) };
        this.expect(']');
      } else return node;
    }
  }

  private primary(): ExprNode {
    const token = this.next();
    if (token.kind === 'number' || token.kind === 'string')
      return { type: 'literal', value: token.value as JsonValue };
    if (token.kind === 'punct' && token.text === '(') {
      const inner = this.binary(1);
      this.expect(')');
      return inner;
    }
    if (token.kind !== 'ident') throw this.unexpected(token);
    const keyword = { true: true, false: false, null: null } as Record<string, JsonValue>;
    if (token.text in keyword) return { type: 'literal', value: keyword[token.text] as JsonValue };
    if (this.isPunct('(')) return this.call(token);
    return { type: 'context', name: token.text, pos: token.pos };
  }

  private call(nameToken: Token): ExprNode {
    const name = nameToken.text.toLowerCase();
    const arity = FUNCTION_ARITY[name];
    if (!arity) throw new ExpressionError(`Unrecognized function: '${nameToken.text}'`, nameToken.pos);
    this.expect('(');
    const args: ExprNode[] = [];
    while (!this.isPunct(')')) {
      if (args.length > 0) this.expect(',');
      args.push(this.binary(1));
    }
    this.expect(')');
    if (args.length < arity[0] || args.length > arity[1]) {
      throw new ExpressionError(
        `Function '${nameToken.text}' takes ${describeArity(arity)}, got ${args.length}`,
        nameToken.pos,
      );
    }
    return { type: 'call', name, args, pos: nameToken.pos };
  }

  private peek(): Token {
    return this.tokens[this.at] as Token;
  }
  private next(): Token {
    const token = this.peek();
    if (token.kind !== 'eof') this.at++;
    return token;
  }
  private isPunct(text: string): boolean {
    const token = this.peek();
    return token.kind === 'punct' && token.text === text;
  }
  private expect(text: string): void {
    const token = this.next();
    if (token.kind !== 'punct' || token.text !== text) throw this.unexpected(token, text);
  }
  private unexpected(token: Token, expected?: string): ExpressionError {
    const what = token.kind === 'eof' ? 'end of expression' : `symbol '${token.text}'`;
    const tail = expected ? ` (expected '${expected}')` : '';
    return new ExpressionError(
      `Unexpected ${what}${tail}. Located at position ${token.pos + 1} within expression: ${this.source}`,
      token.pos,
    );
  }
}

function describeArity([min, max]: [number, number]): string {
  if (min === max) return `${min} argument(s)`;
  return max === 255 ? `at least ${min} arguments` : `${min} to ${max} arguments`;
}

export function parseExpression(source: string): ExprNode {
  if (source.length > EXPRESSION_LIMITS.maxLength) {
    throw new ExpressionError(`Expression is ${source.length} characters, over the limit of ${EXPRESSION_LIMITS.maxLength}`, 0);
  }
  return new Parser(lex(source), source).parse();
}

/** Names of the contexts an expression reads (lower-case), with their offsets. */
export function referencedContexts(node: ExprNode): { name: string; pos: number }[] {
  const found: { name: string; pos: number }[] = [];
  visit(node, (n) => {
    if (n.type === 'context') found.push({ name: n.name.toLowerCase(), pos: n.pos });
  });
  return found;
}

export function usesStatusFunction(node: ExprNode): boolean {
  let found = false;
  visit(node, (n) => {
    if (n.type === 'call' && STATUS_FUNCTIONS.has(n.name)) found = true;
  });
  return found;
}

/** Step ids read through `steps.<id>`. */
export function referencedSteps(node: ExprNode): string[] {
  const found: string[] = [];
  visit(node, (n) => {
    if (n.type === 'property' && n.object.type === 'context' && n.object.name.toLowerCase() === 'steps')
      found.push(n.name);
  });
  return found;
}

/** `needs.<id>.…` references: the job ids and, when read, the output names. */
export function referencedNeeds(node: ExprNode): { job: string; output?: string }[] {
  const found: { job: string; output?: string }[] = [];
  visit(node, (n) => {
    if (n.type !== 'property' || n.object.type !== 'context' || n.object.name.toLowerCase() !== 'needs')
      return;
    found.push({ job: n.name });
  });
  visit(node, (n) => {
    const outputs = n.type === 'property' ? n.object : undefined;
    if (outputs?.type !== 'property' || outputs.name.toLowerCase() !== 'outputs') return;
    const job = outputs.object;
    if (
      job.type === 'property' &&
      job.object.type === 'context' &&
      job.object.name.toLowerCase() === 'needs'
    ) {
      found.push({ job: job.name, output: (n as { name: string }).name });
    }
  });
  return found;
}

function visit(node: ExprNode, fn: (n: ExprNode) => void): void {
  fn(node);
  switch (node.type) {
    case 'property':
    case 'filter':
      return visit(node.object, fn);
    case 'index':
      visit(node.object, fn);
      return visit(node.index, fn);
    case 'not':
      return visit(node.operand, fn);
    case 'binary':
      visit(node.left, fn);
      return visit(node.right, fn);
    case 'call':
      return node.args.forEach((a) => visit(a, fn));
    default:
      return undefined;
  }
}

// ─── Values and coercion ────────────────────────────────────────────────────────────────────────────

/** An array produced by an object filter: property access maps over its items. */
class FilteredArray extends Array<JsonValue> {}

export function toBoolean(value: JsonValue): boolean {
  if (value === null || value === false || value === '') return false;
  if (typeof value === 'number') return value !== 0 && !Number.isNaN(value);
  return true;
}

export function toNumber(value: JsonValue): number {
  if (value === null) return 0;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return stringToNumber(value);
  return NaN;
}

function stringToNumber(text: string): number {
  const trimmed = text.trim();
  if (trimmed === '') return 0;
  if (/^[+-]?0x[0-9a-f]+$/i.test(trimmed)) return parseInt(trimmed, 16);
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(trimmed)) return Number(trimmed);
  if (/^[+-]?infinity$/i.test(trimmed)) return trimmed.startsWith('-') ? -Infinity : Infinity;
  return NaN;
}

/** Conversion used by interpolation, format and join. Objects and arrays cannot be converted. */
export function toText(value: JsonValue): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return numberToText(value);
  throw new ExpressionError(`Cannot convert ${Array.isArray(value) ? 'an array' : 'an object'} to a string`);
}

function numberToText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  return Object.is(value, -0) ? '0' : String(value);
}

type Kind = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object';
function kindOf(value: JsonValue): Kind {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value as Kind;
}

export function looseEquals(left: JsonValue, right: JsonValue): boolean {
  const kind = kindOf(left);
  if (kind !== kindOf(right)) return toNumber(left) === toNumber(right);
  if (kind === 'string') return (left as string).toLowerCase() === (right as string).toLowerCase();
  return left === right;
}

function compare(op: string, left: JsonValue, right: JsonValue): boolean {
  const bothStrings = typeof left === 'string' && typeof right === 'string';
  const a = bothStrings ? left.toUpperCase() : toNumber(left);
  const b = bothStrings ? right.toUpperCase() : toNumber(right);
  if (typeof a === 'number' && (Number.isNaN(a) || Number.isNaN(b))) return false;
  if (op === '<') return a < b;
  if (op === '<=') return a <= b;
  if (op === '>') return a > b;
  return a >= b;
}

// ─── Evaluator ──────────────────────────────────────────────────────────────────────────────────────

export interface StatusFunctions {
  success(): boolean;
  failure(): boolean;
  cancelled(): boolean;
}

export interface EvaluationContext {
  /** Context name (lower-case) → value: github, env, vars, matrix, needs, steps, job, runner, strategy, inputs, secrets. */
  contexts: Record<string, JsonValue>;
  /** Required when the expression calls a status function. */
  status?: StatusFunctions;
  /** hashFiles(); the pure default returns ''. */
  hashFiles?: (patterns: string[]) => string;
}

export function evaluate(node: ExprNode, ctx: EvaluationContext): JsonValue {
  switch (node.type) {
    case 'literal':
      return node.value;
    case 'context':
      return lookupContext(node.name, node.pos, ctx);
    case 'property':
      return accessProperty(evaluate(node.object, ctx), node.name);
    case 'index':
      return accessIndex(evaluate(node.object, ctx), evaluate(node.index, ctx));
    case 'filter':
      return applyFilter(evaluate(node.object, ctx));
    case 'not':
      return !toBoolean(evaluate(node.operand, ctx));
    case 'binary':
      return evaluateBinary(node.op, node.left, node.right, ctx);
    case 'call':
      return callFunction(node.name, node.args, ctx);
  }
}

function lookupContext(name: string, pos: number, ctx: EvaluationContext): JsonValue {
  const key = name.toLowerCase();
  if (!(key in ctx.contexts)) throw new ExpressionError(`Unrecognized named-value: '${name}'`, pos);
  return ctx.contexts[key] ?? null;
}

function accessProperty(target: JsonValue, name: string): JsonValue {
  if (target instanceof FilteredArray) {
    const mapped = new FilteredArray();
    for (const item of target) {
      const value = accessProperty(item, name);
      if (value !== null) mapped.push(value);
    }
    return mapped;
  }
  if (target === null || typeof target !== 'object' || Array.isArray(target)) return null;
  if (Object.prototype.hasOwnProperty.call(target, name)) return target[name] ?? null;
  const lower = name.toLowerCase();
  const match = Object.keys(target).find((k) => k.toLowerCase() === lower);
  return match === undefined ? null : (target[match] ?? null);
}

function accessIndex(target: JsonValue, index: JsonValue): JsonValue {
  if (Array.isArray(target) && !(target instanceof FilteredArray)) {
    const position = Math.trunc(toNumber(index));
    return Number.isNaN(position) ? null : (target[position] ?? null);
  }
  if (typeof index === 'string') return accessProperty(target, index);
  return null;
}

function applyFilter(target: JsonValue): JsonValue {
  const result = new FilteredArray();
  if (target instanceof FilteredArray) {
    for (const item of target) result.push(...filterItems(item));
  } else result.push(...filterItems(target));
  return result;
}

function filterItems(target: JsonValue): JsonValue[] {
  if (Array.isArray(target)) return [...target];
  if (target !== null && typeof target === 'object') return Object.values(target);
  return [];
}

function evaluateBinary(
  op: string,
  leftNode: ExprNode,
  rightNode: ExprNode,
  ctx: EvaluationContext,
): JsonValue {
  const left = evaluate(leftNode, ctx);
  if (op === '&&') return toBoolean(left) ? evaluate(rightNode, ctx) : left;
  if (op === '||') return toBoolean(left) ? left : evaluate(rightNode, ctx);
  const right = evaluate(rightNode, ctx);
  if (op === '==') return looseEquals(left, right);
  if (op === '!=') return !looseEquals(left, right);
  return compare(op, left, right);
}

function callFunction(name: string, argNodes: ExprNode[], ctx: EvaluationContext): JsonValue {
  if (STATUS_FUNCTIONS.has(name)) return callStatusFunction(name, ctx);
  if (name === 'case') return callCase(argNodes, ctx);
  const args = argNodes.map((a) => evaluate(a, ctx));
  switch (name) {
    case 'contains':
      return contains(args[0] ?? null, args[1] ?? null);
    case 'startswith':
      return toText(scalarOrEmpty(args[0]))
        .toLowerCase()
        .startsWith(toText(scalarOrEmpty(args[1])).toLowerCase());
    case 'endswith':
      return toText(scalarOrEmpty(args[0]))
        .toLowerCase()
        .endsWith(toText(scalarOrEmpty(args[1])).toLowerCase());
    case 'format':
      return format(toText(args[0] ?? null), args.slice(1));
    case 'join':
      return join(args[0] ?? null, args.length > 1 ? toText(args[1] ?? null) : ',');
    case 'tojson':
      return bounded('toJSON', JSON.stringify(toPlain(args[0] ?? null), null, 2));
    case 'fromjson':
      return fromJson(toText(args[0] ?? null));
    case 'hashfiles':
      return (ctx.hashFiles ?? (() => ''))(args.map((a) => toText(a)));
    default:
      throw new ExpressionError(`Unrecognized function: '${name}'`);
  }
}

function callStatusFunction(name: string, ctx: EvaluationContext): boolean {
  if (name === 'always') return true;
  if (!ctx.status) throw new ExpressionError(`Function '${name}' is not available here`);
  if (name === 'success') return ctx.status.success();
  if (name === 'failure') return ctx.status.failure();
  return ctx.status.cancelled();
}

function callCase(argNodes: ExprNode[], ctx: EvaluationContext): JsonValue {
  if (argNodes.length % 2 === 0)
    throw new ExpressionError("Function 'case' needs an odd number of arguments");
  for (let i = 0; i + 1 < argNodes.length; i += 2) {
    const predicate = evaluate(argNodes[i] as ExprNode, ctx);
    if (typeof predicate !== 'boolean')
      throw new ExpressionError("Function 'case' predicates must be booleans");
    if (predicate) return evaluate(argNodes[i + 1] as ExprNode, ctx);
  }
  return evaluate(argNodes[argNodes.length - 1] as ExprNode, ctx);
}

function scalarOrEmpty(value: JsonValue | undefined): JsonValue {
  return value === undefined || (value !== null && typeof value === 'object') ? '' : value;
}

function contains(search: JsonValue, item: JsonValue): boolean {
  if (Array.isArray(search)) return search.some((element) => looseEquals(element, item));
  return toText(scalarOrEmpty(search))
    .toLowerCase()
    .includes(toText(scalarOrEmpty(item)).toLowerCase());
}

function format(template: string, args: JsonValue[]): string {
  // The size is known before building: the template plus each placeholder's replacement.
  let size = template.length;
  for (const match of template.matchAll(/\{(\d+)\}/g)) {
    const arg = args[Number(match[1])];
    size += typeof arg === 'string' ? arg.length : 24;
    if (size > EXPRESSION_LIMITS.maxResultChars) tooLarge('format', size);
  }
  return template.replace(/\{\{|\}\}|\{(\d+)\}|\{|\}/g, (token, index: string | undefined) => {
    if (token === '{{') return '{';
    if (token === '}}') return '}';
    if (index === undefined) throw new ExpressionError(`Invalid format string: ${template}`);
    const position = Number(index);
    if (position >= args.length)
      throw new ExpressionError(
        `Format string references argument {${position}}, but only ${args.length} given`,
      );
    return toText(args[position] ?? null);
  });
}

function join(value: JsonValue, separator: string): string {
  if (Array.isArray(value)) {
    let size = 0;
    const texts = value.map((v) => {
      const text = toText(scalarOrEmpty(v));
      size += text.length + separator.length;
      if (size > EXPRESSION_LIMITS.maxResultChars) tooLarge('join', size);
      return text;
    });
    return texts.join(separator);
  }
  return toText(scalarOrEmpty(value));
}

function toPlain(value: JsonValue): JsonValue {
  return value instanceof FilteredArray ? Array.from(value) : value;
}

/** JSON.parse, accepting trailing commas before `]`/`}` as GitHub's service does (citus). */
export function fromJson(text: string): JsonValue {
  if (text.length > EXPRESSION_LIMITS.maxResultChars) {
    throw new ExpressionError(`fromJSON: input is ${text.length} characters, over the limit of ${EXPRESSION_LIMITS.maxResultChars}`);
  }
  if (jsonTextDepth(text, EXPRESSION_LIMITS.maxJsonDepth) > EXPRESSION_LIMITS.maxJsonDepth) {
    throw new ExpressionError(`fromJSON: the JSON nests deeper than ${EXPRESSION_LIMITS.maxJsonDepth} levels (the limit)`);
  }
  try {
    return JSON.parse(stripTrailingCommas(text)) as JsonValue;
  } catch (err) {
    throw new ExpressionError(`fromJSON: invalid JSON (${(err as Error).message}): ${text.slice(0, 200)}`);
  }
}

function stripTrailingCommas(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (inString) {
      out += ch;
      if (ch === '\\') out += text[++i] ?? '';
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    if (ch === ',' && /^\s*[\]}]/.test(text.slice(i + 1))) continue;
    out += ch;
  }
  return out;
}

// ─── Templates (`${{ }}` inside strings) ────────────────────────────────────────────────────────────

export type TemplatePart =
  { kind: 'text'; text: string } | { kind: 'expr'; source: string; node: ExprNode; offset: number };

/** Splits a string into text and parsed `${{ }}` parts. Throws ExpressionError (offset in the string). */
export function parseTemplate(text: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let at = 0;
  for (;;) {
    const open = text.indexOf('${{', at);
    if (open < 0) break;
    if (open > at) parts.push({ kind: 'text', text: text.slice(at, open) });
    const close = findClose(text, open + 3);
    if (close < 0) throw new ExpressionError(`Unclosed expression: '${text.slice(open, open + 40)}'`, open);
    const raw = text.slice(open + 3, close);
    const source = raw.trim();
    const lead = raw.length - raw.trimStart().length;
    try {
      parts.push({ kind: 'expr', source, node: parseExpression(source), offset: open });
    } catch (err) {
      if (err instanceof ExpressionError)
        throw new ExpressionError(err.message, open + 3 + lead + (err.position ?? 0));
      throw err;
    }
    at = close + 2;
  }
  if (at < text.length) parts.push({ kind: 'text', text: text.slice(at) });
  return parts;
}

function findClose(text: string, from: number): number {
  let inString = false;
  for (let i = from; i < text.length - 1; i++) {
    if (text[i] === "'") inString = !inString;
    else if (!inString && text[i] === '}' && text[i + 1] === '}') return i;
  }
  return -1;
}

export function hasExpression(text: string): boolean {
  return text.includes('${{');
}

/** True when the whole (trimmed) string is one `${{ }}`: its value keeps its type. */
function singleExpression(parts: TemplatePart[]): ExprNode | undefined {
  const meaningful = parts.filter((p) => !(p.kind === 'text' && p.text.trim() === ''));
  const only = meaningful[0];
  return meaningful.length === 1 && only?.kind === 'expr' ? only.node : undefined;
}

/** Evaluates a template. One whole `${{ }}` keeps its type; otherwise parts are converted and joined. */
export function evaluateTemplate(text: string, ctx: EvaluationContext): JsonValue {
  const parts = parseTemplate(text);
  const single = singleExpression(parts);
  if (single) return toPlain(evaluate(single, ctx));
  return joinParts(parts, ctx);
}

/** Evaluates a template to a string (env values, run scripts, names). */
export function interpolate(text: string, ctx: EvaluationContext): string {
  return joinParts(parseTemplate(text), ctx);
}

function joinParts(parts: TemplatePart[], ctx: EvaluationContext): string {
  let size = 0;
  const texts = parts.map((p) => {
    const text = p.kind === 'text' ? p.text : toText(toPlain(evaluate(p.node, ctx)));
    size += text.length;
    if (size > EXPRESSION_LIMITS.maxResultChars) tooLarge('interpolation', size);
    return text;
  });
  return texts.join('');
}

// ─── Conditions (`if:`) ─────────────────────────────────────────────────────────────────────────────

export interface ParsedCondition {
  /** The condition as evaluated, after the implicit `success() &&` wrap. */
  node: ExprNode;
  /** True when the text mixed `${{ }}` with other text: always truthy on GitHub (lint). */
  alwaysTruthyConcatenation: boolean;
  /** True when the written condition calls a status function (so it was not wrapped in success()). */
  explicitStatus: boolean;
}

const SUCCESS_CALL: ExprNode = { type: 'call', name: 'success', args: [], pos: 0 };

/**
 * Parses an `if:` value, written with or without `${{ }}`. Without a status function the condition
 * becomes `success() && (<expr>)`; an empty condition means `success()`.
 */
export function parseCondition(text: string | undefined): ParsedCondition {
  const trimmed = (text ?? '').trim();
  if (trimmed === '') return { node: SUCCESS_CALL, alwaysTruthyConcatenation: false, explicitStatus: false };
  const { node, concatenated } = conditionNode(trimmed);
  const explicitStatus = usesStatusFunction(node);
  const wrapped: ExprNode = explicitStatus
    ? node
    : { type: 'binary', op: '&&', left: SUCCESS_CALL, right: node };
  return { node: wrapped, alwaysTruthyConcatenation: concatenated, explicitStatus };
}

function conditionNode(text: string): { node: ExprNode; concatenated: boolean } {
  if (!hasExpression(text)) return { node: parseExpression(text), concatenated: false };
  const parts = parseTemplate(text);
  const single = singleExpression(parts);
  if (single) return { node: single, concatenated: false };
  // `${{ a }} && ${{ b }}` is one non-empty string: truthy whatever a and b are.
  return { node: { type: 'literal', value: 'true' }, concatenated: true };
}

export function evaluateCondition(condition: ParsedCondition, ctx: EvaluationContext): boolean {
  return toBoolean(toPlain(evaluate(condition.node, ctx)));
}
