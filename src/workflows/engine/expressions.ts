/**
 * GitHub Actions expression language: lexer, parser, evaluator, `${{ }}` interpolation.
 * Semantics are GitHub's (loose equality, case-insensitive strings, `&&`/`||` returning operands, falsy
 * set, filters, coercions), checked against GitHub's own evaluator by expressions.oracle.spec.ts. Errors
 * throw ExpressionError; callers never treat a failed parse or evaluation as true.
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

/**
 * A number starts at a digit, a sign, or a '.' where no property name can follow, and runs to the next
 * boundary; its text is read as JavaScript's Number() reads it (0x hex, exponents, a sign, `-Infinity`),
 * as GitHub's implementation does. There is no subtraction, so a '-' outside a name is always a sign.
 */
function lexNumber(source: string, start: number, previous: Token[]): Token | undefined {
  const ch = source[start] as string;
  const startsNumber = /[0-9+-]/.test(ch) || (ch === '.' && !followsOperand(previous));
  if (!startsNumber) return undefined;
  let end = start + 1;
  while (end < source.length && (!isBoundary(source[end] as string) || source[end] === '.')) end++;
  const text = source.slice(start, end);
  const value = Number(text);
  if (Number.isNaN(value)) throw new ExpressionError(`Unexpected symbol: '${text}'. Located at position ${start + 1} within expression: ${source}`, start);
  return { kind: 'number', text, value, pos: start };
}

/** After a name, `]`, `)` or `*`, a '.' is property access; elsewhere it starts a number (`.5`). */
function followsOperand(previous: Token[]): boolean {
  const last = previous[previous.length - 1];
  return last !== undefined && (last.kind === 'ident' || [')', ']', '*'].includes(last.text));
}

function isBoundary(ch: string): boolean {
  return '()[],.!<>=&|'.includes(ch) || /\s/.test(ch);
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

/** Case-sensitive, as in GitHub's lexer (`True` is a context name; after a '.', a property name). */
const KEYWORDS = new Map<string, JsonValue>([
  ['true', true],
  ['false', false],
  ['null', null],
  ['NaN', NaN],
  ['Infinity', Infinity],
]);

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

  /**
   * The recursion the depth limit bounds, counted where GitHub's parser counts it: every parenthesis,
   * argument, index expression and `!`, the rest of an `&&`/`||` chain, and each `.x`/`[i]` of a chain.
   */
  private nested(parse: () => ExprNode): ExprNode {
    this.enter();
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  private enter(): void {
    if (++this.depth > EXPRESSION_LIMITS.maxDepth) {
      throw new ExpressionError(`Expression nests deeper than ${EXPRESSION_LIMITS.maxDepth} levels (the limit)`, this.peek().pos);
    }
  }

  private binaryAt(level: number): ExprNode {
    const left = this.binary(level + 1);
    const ops = BINARY_PRECEDENCE.find(([, l]) => l === level)?.[0] ?? [];
    const continues = (): boolean => this.peek().kind === 'punct' && ops.includes(this.peek().text);
    if (!continues()) return left;
    const chain = (): ExprNode => {
      let node = left;
      while (continues()) {
        const op = this.next().text;
        node = { type: 'binary', op, left: node, right: this.binary(level + 1) };
      }
      return node;
    };
    return level <= 2 ? this.nested(chain) : chain();
  }

  private unary(): ExprNode {
    if (this.isPunct('!')) {
      this.next();
      return { type: 'not', operand: this.nested(() => this.unary()) };
    }
    // As in GitHub's grammar, only a context, a call or a parenthesized expression takes `.x` or `[i]`.
    const { node, indexable } = this.primary();
    return indexable ? this.postfix(node) : node;
  }

  private postfix(node: ExprNode): ExprNode {
    const outer = this.depth;
    try {
      for (;;) {
        if (this.isPunct('.')) {
          this.next();
          this.enter();
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
          this.enter();
        } else return node;
      }
    } finally {
      this.depth = outer;
    }
  }

  private primary(): { node: ExprNode; indexable: boolean } {
    const token = this.next();
    if (token.kind === 'number' || token.kind === 'string')
      return { node: { type: 'literal', value: token.value as JsonValue }, indexable: false };
    if (token.kind === 'punct' && token.text === '(') {
      const inner = this.binary(1);
      this.expect(')');
      return { node: inner, indexable: true };
    }
    if (token.kind !== 'ident') throw this.unexpected(token);
    const keyword = KEYWORDS.get(token.text);
    if (keyword !== undefined) return { node: { type: 'literal', value: keyword }, indexable: false };
    if (this.isPunct('(')) return { node: this.call(token), indexable: true };
    return { node: { type: 'context', name: token.text, pos: token.pos }, indexable: true };
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
// Semantics are GitHub's, checked against its implementation by expressions.oracle.spec.ts.

/** An array produced by an object filter: property access and indexes map over its items. */
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
  // JavaScript's Number() as GitHub's implementation: trimmed, '' is 0, 0x hex, exponents, Infinity.
  if (typeof value === 'string') return Number(value);
  return NaN;
}

function isPrimitive(value: JsonValue): value is null | boolean | number | string {
  return value === null || typeof value !== 'object';
}

/** Conversion used by interpolation, format and join: an array is 'Array' and an object 'Object'. */
export function toText(value: JsonValue): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return numberToText(value);
  return Array.isArray(value) ? 'Array' : 'Object';
}

/** At most 15 decimals, trailing zeros dropped: 0.1 + 0.2 prints as 0.3 (and -0 as 0). */
function numberToText(value: number): string {
  return value === 0 ? '0' : String(Number(value.toFixed(15)));
}

/** Upper case for case-insensitive comparison, leaving the dotless ı alone as GitHub does. */
function upper(text: string): string {
  return text.split('ı').map((part) => part.toUpperCase()).join('ı');
}

type Kind = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object';
function kindOf(value: JsonValue): Kind {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value as Kind;
}

/** Null and booleans become numbers; a number against a string compares numbers; else kinds must match. */
function coerce(left: JsonValue, right: JsonValue): [JsonValue, JsonValue] {
  const [lk, rk] = [kindOf(left), kindOf(right)];
  if (lk === rk) return [left, right];
  if (lk === 'null' || lk === 'boolean') return coerce(toNumber(left), right);
  if (rk === 'null' || rk === 'boolean') return coerce(left, toNumber(right));
  if (lk === 'number' && rk === 'string') return [left, toNumber(right)];
  if (lk === 'string' && rk === 'number') return [toNumber(left), right];
  return [left, right];
}

export function looseEquals(left: JsonValue, right: JsonValue): boolean {
  const [a, b] = coerce(left, right);
  if (kindOf(a) !== kindOf(b)) return false;
  if (typeof a === 'string') return upper(a) === upper(b as string);
  // Numbers (NaN equals nothing), booleans, null; arrays and objects by reference.
  return a === b;
}

function lessThan(left: JsonValue, right: JsonValue): boolean {
  const [a, b] = coerce(left, right);
  if (typeof a === 'string' && typeof b === 'string') return upper(a) < upper(b);
  if (typeof a === 'number' && typeof b === 'number') return a < b;
  return typeof a === 'boolean' && typeof b === 'boolean' && !a && b;
}

function compare(op: string, left: JsonValue, right: JsonValue): boolean {
  if (op === '<') return lessThan(left, right);
  if (op === '>') return lessThan(right, left);
  if (op === '<=') return looseEquals(left, right) || lessThan(left, right);
  return looseEquals(left, right) || lessThan(right, left);
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
      return access(evaluate(node.object, ctx), { key: node.name });
    case 'index':
      return access(evaluate(node.object, ctx), indexOf(evaluate(node.index, ctx)));
    case 'filter':
      return access(evaluate(node.object, ctx), 'star');
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

/** An index: `*`, or a key (any scalar, as text) that also reads as a position when a whole number ≥ 0. */
type Index = 'star' | { key?: string; position?: number };

function indexOf(value: JsonValue): Index {
  const number = toNumber(value);
  return {
    key: isPrimitive(value) ? toText(value) : undefined,
    position: Number.isFinite(number) && number >= 0 ? Math.floor(number) : undefined,
  };
}

function access(target: JsonValue, index: Index): JsonValue {
  if (target instanceof FilteredArray) return accessEach(target, index);
  if (Array.isArray(target)) {
    if (index === 'star') return FilteredArray.from(target);
    return index.position === undefined ? null : (target[index.position] ?? null);
  }
  if (target !== null && typeof target === 'object') {
    if (index === 'star') return FilteredArray.from(Object.values(target));
    return index.key === undefined ? null : (property(target, index.key) ?? null);
  }
  return index === 'star' ? new FilteredArray() : null;
}

/** After a filter, an index applies to each item; items without it are left out (null values stay). */
function accessEach(items: FilteredArray, index: Index): FilteredArray {
  const result = new FilteredArray();
  for (const item of items) {
    if (item === null || typeof item !== 'object') continue;
    if (index === 'star') result.push(...(Array.isArray(item) ? item : Object.values(item)));
    else if (Array.isArray(item)) {
      if (index.position !== undefined && index.position < item.length) result.push(item[index.position] ?? null);
    } else if (index.key !== undefined) {
      const value = property(item, index.key);
      if (value !== undefined) result.push(value);
    }
  }
  return result;
}

/**
 * Case-insensitive. Of keys differing only in case GitHub reads the first; fromJSON keeps only that
 * one, so an exact hit (the fast path) is the first. Contexts are not cached: some grow while used.
 */
function property(target: { [key: string]: JsonValue }, name: string): JsonValue | undefined {
  if (Object.prototype.hasOwnProperty.call(target, name)) return target[name];
  const wanted = name.toLowerCase();
  for (const key in target) if (Object.prototype.hasOwnProperty.call(target, key) && key.toLowerCase() === wanted) return target[key];
  return undefined;
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
  const args = argNodes.map((a) => evaluate(a, ctx));
  const [first = null, second = null] = args;
  switch (name) {
    case 'contains':
      return contains(first, second);
    case 'startswith':
      return isPrimitive(first) && isPrimitive(second) && upper(toText(first)).startsWith(upper(toText(second)));
    case 'endswith':
      return isPrimitive(first) && isPrimitive(second) && upper(toText(first)).endsWith(upper(toText(second)));
    case 'case':
      return callCase(args);
    case 'format':
      return format(toText(first), args.slice(1));
    case 'join':
      return join(first, args.length > 1 && isPrimitive(second) ? toText(second) : ',');
    case 'tojson':
      return bounded('toJSON', JSON.stringify(toPlain(first), null, 2));
    case 'fromjson':
      return fromJson(toText(first));
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

/** Arguments are all evaluated first (as GitHub does), then the first true predicate picks its value. */
function callCase(args: JsonValue[]): JsonValue {
  if (args.length % 2 === 0) throw new ExpressionError("Function 'case' needs an odd number of arguments");
  for (let i = 0; i + 1 < args.length; i += 2) {
    const predicate = args[i] ?? null;
    if (typeof predicate !== 'boolean') throw new ExpressionError("Function 'case' predicates must be booleans");
    if (predicate) return args[i + 1] ?? null;
  }
  return args[args.length - 1] ?? null;
}

/** An array holds an item (loose equality); a scalar holds a scalar's text (case-insensitive). */
function contains(search: JsonValue, item: JsonValue): boolean {
  if (Array.isArray(search)) return search.some((element) => looseEquals(item, element));
  if (!isPrimitive(search) || !isPrimitive(item)) return false;
  return toText(search).toLowerCase().includes(toText(item).toLowerCase());
}

/** `{N}` (digits, then anything up to the next '}'), `{{` and `}}`; the result size is checked as it grows. */
function format(template: string, args: JsonValue[]): string {
  const parts: string[] = [];
  let size = 0;
  const append = (text: string): void => {
    size += text.length;
    if (size > EXPRESSION_LIMITS.maxResultChars) tooLarge('format', size);
    parts.push(text);
  };
  let at = 0;
  while (at < template.length) {
    const open = template.indexOf('{', at);
    const close = template.indexOf('}', at);
    if (open >= 0 && (close < 0 || close > open)) {
      if (template[open + 1] === '{') {
        append(template.slice(at, open + 1));
        at = open + 2;
        continue;
      }
      const digits = /^\d+/.exec(template.slice(open + 1, close < 0 ? undefined : close))?.[0];
      if (digits === undefined || close < 0) throw new ExpressionError(`Invalid format string: ${template}`);
      const position = Number(digits);
      if (position >= args.length)
        throw new ExpressionError(`Format string references argument {${position}}, but only ${args.length} given`);
      append(template.slice(at, open));
      append(toText(args[position] ?? null));
      at = close + 1;
    } else if (close >= 0) {
      if (template[close + 1] !== '}') throw new ExpressionError(`Invalid format string: ${template}`);
      append(template.slice(at, close + 1));
      at = close + 2;
    } else {
      append(template.slice(at));
      break;
    }
  }
  return parts.join('');
}

/** A scalar is its own text; an array joins its items' texts; an object joins to ''. */
function join(value: JsonValue, separator: string): string {
  if (isPrimitive(value)) return toText(value);
  if (!Array.isArray(value)) return '';
  let size = 0;
  const texts = value.map((v) => {
    const text = toText(v);
    size += text.length + separator.length;
    if (size > EXPRESSION_LIMITS.maxResultChars) tooLarge('join', size);
    return text;
  });
  return texts.join(separator);
}

function toPlain(value: JsonValue): JsonValue {
  return value instanceof FilteredArray ? Array.from(value) : value;
}

/**
 * JSON.parse, accepting trailing commas before `]`/`}` as GitHub's hosted runner does (citus); keys that
 * differ only in case keep the first, as in GitHub's case-insensitive objects.
 */
export function fromJson(text: string): JsonValue {
  if (text.length > EXPRESSION_LIMITS.maxResultChars) {
    throw new ExpressionError(`fromJSON: input is ${text.length} characters, over the limit of ${EXPRESSION_LIMITS.maxResultChars}`);
  }
  if (jsonTextDepth(text, EXPRESSION_LIMITS.maxJsonDepth) > EXPRESSION_LIMITS.maxJsonDepth) {
    throw new ExpressionError(`fromJSON: the JSON nests deeper than ${EXPRESSION_LIMITS.maxJsonDepth} levels (the limit)`);
  }
  try {
    return JSON.parse(stripTrailingCommas(text), firstKeyPerCase) as JsonValue;
  } catch (err) {
    throw new ExpressionError(`fromJSON: invalid JSON (${(err as Error).message}): ${text.slice(0, 200)}`);
  }
}

function firstKeyPerCase(this: unknown, _key: string, value: JsonValue): JsonValue {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  const lower = new Set(keys.map((k) => k.toLowerCase()));
  if (lower.size === keys.length) return value;
  const result: { [key: string]: JsonValue } = {};
  for (const key of keys) {
    if (!lower.delete(key.toLowerCase())) continue;
    // defineProperty: a "__proto__" key stays a plain key, as JSON.parse made it.
    Object.defineProperty(result, key, { value: value[key], enumerable: true, writable: true, configurable: true });
  }
  return result;
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
