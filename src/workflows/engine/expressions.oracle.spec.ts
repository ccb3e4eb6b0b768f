/**
 * Differential test: our expression evaluator against GitHub's own (`@actions/expressions`, a dev
 * dependency). A seeded generator writes several hundred expressions over rich contexts; a child
 * `node` process evaluates them with GitHub's library (ESM-only, so not loadable in jest's CommonJS);
 * both must agree on success or failure, on the value (type included) and on its string form (what
 * `${{ }}` interpolation and format() print). Deterministic: same seed, same cases, no clock.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { EvaluationContext } from 'src/workflows/engine/expressions';
import { evaluate, ExpressionError, parseExpression, toText } from 'src/workflows/engine/expressions';
import type { JsonValue } from 'src/workflows/engine/model';

// ─── Values as they travel: NaN, ±Infinity and -0 tagged; objects as ordered entries ───────────────

type Tagged = null | boolean | number | string | Tagged[] | { $n: string } | { [key: string]: Tagged };
type Encoded = null | boolean | number | string | Encoded[] | { $n: string } | { $o: [string, Encoded][] };

interface Outcome {
  ok: boolean;
  value?: Encoded;
  text?: string;
  error?: string;
}

const SPECIAL: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity, '-0': -0 };

function decode(value: Tagged): JsonValue {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(decode);
  if (typeof value.$n === 'string' && Object.keys(value).length === 1) return SPECIAL[value.$n] as number;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v)]));
}

function encode(value: JsonValue): Encoded {
  if (typeof value === 'number') {
    const special = Object.keys(SPECIAL).find((k) => Object.is(SPECIAL[k], value));
    return special ? { $n: special } : value;
  }
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return Array.from(value, encode);
  return { $o: Object.entries(value).map(([k, v]) => [k, encode(v)]) };
}

// ─── Contexts ───────────────────────────────────────────────────────────────────────────────────────

const CONTEXTS: Record<string, Tagged> = {
  github: {
    event_name: 'push',
    ref: 'refs/heads/Main',
    repository: 'Orca/Ops',
    run_number: 42,
    sha: '0xDEADbeef',
    actor: null,
    event: {
      forced: false,
      size: null,
      pull_request: {
        number: 7,
        draft: false,
        title: 'it\'s a "quoted" PR',
        labels: [{ name: 'bug', id: 1 }, { name: 'CI', id: 2 }, { name: null }, { id: 4 }],
        head: { ref: 'feature/X', sha: 'abc123' },
      },
      commits: [
        { id: 'a1', message: 'Fix the build', author: { name: 'Ann', email: 'ann@example.com' } },
        { id: 'b2', message: 'feat: add', author: { name: 'bob' }, added: ['a.txt', 'B.md'] },
        { id: 'c3', message: '', author: null, added: [] },
      ],
    },
  },
  env: {
    MODE: 'Fast',
    EMPTY: '',
    ZERO: '0',
    HEX: '0x1F',
    EXP: '1e3',
    SPACES: '  12  ',
    NEG: '-3.5',
    WORD: 'Infinity',
    NAN_TEXT: 'NaN',
    TRUE_TEXT: 'true',
    QUOTE: "a'b",
    JSON_LIST: '[1, 2, 3]',
    JSON_OBJ: '{"a": {"b": [true, null]}, "c": {"b": "x"}}',
    CSV: 'a,b,c',
    BIN: '0b11',
    OCT: '0o17',
    UNDERSCORE: '1_000',
    STREET: 'Straße',
    DOTLESS: 'ılık',
  },
  matrix: {
    os: 'ubuntu-latest',
    node: 20,
    python: '3.10',
    flags: [true, false, null, 0, ''],
    config: { image: 'debian', tags: ['a', 'B'], nested: { deep: { value: 1.5 } } },
    big: 1e21,
    tiny: 1e-7,
    negzero: { $n: '-0' },
    nan: { $n: 'NaN' },
    inf: { $n: 'Infinity' },
    neginf: { $n: '-Infinity' },
    frac: 0.30000000000000004,
    long: 123456789.12345679,
    list: [[1, 2], [3], [], 'x', { a: 1 }],
    include: [{ os: 'linux', arch: 'x64' }, { os: 'Windows', arch: 'arm64', experimental: true }],
  },
  needs: {
    build: { result: 'success', outputs: { version: '1.2.3', count: '3', list: '["x","y"]', flag: 'false' } },
    test: { result: 'failure', outputs: {} },
    'lint-job': { result: 'skipped', outputs: { empty: '' } },
  },
  steps: {
    checkout: { outcome: 'success', conclusion: 'success', outputs: { ref: 'main' } },
    'build-step': { outcome: 'failure', conclusion: 'success', outputs: { path: '/tmp/x', n: '010' } },
  },
  inputs: { debug: true, level: 2, name: 'Orca', list: '', nothing: null, ratio: 0.5 },
  vars: { REGION: 'eu-west-1', RETRIES: '3', FLAG: 'false' },
  secrets: { TOKEN: '***', EMPTY: '' },
  runner: { os: 'Linux', arch: 'X64', temp: '/tmp' },
  strategy: { 'fail-fast': true, 'job-index': 0, 'job-total': 2 },
};

// ─── Seeded generator ───────────────────────────────────────────────────────────────────────────────

/** mulberry32: small, fast, and the same sequence on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NUMBERS = ['0', '1', '-1', '2', '3.5', '-2.5', '0x1F', '0xff', '1e3', '2E-2', '.5', '1.', '0.1', '1e21', '-0', 'NaN', 'Infinity', '-Infinity', '010', '+3', '42'];
const STRINGS = ["''", "'abc'", "'ABC'", "'Abc'", "'it''s'", "'push'", "'PUSH'", "'main'", "'refs/heads/main'", "'0'", "'1'", "' 12 '", "'0x1F'", "'1e3'", "'true'", "'false'", "'null'", "'NaN'", "'Infinity'", "'-3.5'", "'a,b'", "'\"quoted\"'", "'ubuntu-LATEST'", "'bug'", "'ci'", "'x'", "'Fast'", "' '", "'STRASSE'", "'straße'", "'ILIK'", "'ılık'", "'3'", "'0b11'"];
const TEMPLATES = ["'{0}'", "'{0}-{1}'", "'{{0}} {0}'", "'[{1}] {0}'", "'{0}{0}}}'", "'plain'", "'{2}'"];
const JSON_TEXTS = ['[[1,2],[3]]', '{"a":{"b":1},"c":{"b":2}}', '[{"name":"x","v":1},{"name":"Y"},{"v":3}]', '"text"', '1.5', 'null', 'true', '[]', '{}', '{"A":1,"a":2}', '[1, "1", null, true]', '  [1]  ', '0.30000000000000004', '[[[1]],[[2,3]]]', '{"k": [1, {"k": 2}]}', '', 'nope'];
const MISSING = ['missing', 'nope', 'Missing-Key'];
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

class Generator {
  private readonly next: () => number;
  private readonly paths: (string | number)[][] = [];

  constructor(seed: number) {
    this.next = prng(seed);
    for (const [name, value] of Object.entries(CONTEXTS)) this.collect([name], value);
  }

  expression(depth = 3): string {
    if (depth <= 0) return this.atom();
    const choice = this.int(100);
    if (choice < 22) return this.atom();
    if (choice < 40) return `${this.expression(depth - 1)} ${this.pick(['==', '!=', '<', '<=', '>', '>='])} ${this.expression(depth - 1)}`;
    if (choice < 52) return `${this.expression(depth - 1)} ${this.pick(['&&', '||'])} ${this.expression(depth - 1)}`;
    if (choice < 58) return `!${this.expression(depth - 1)}`;
    if (choice < 64) return `(${this.expression(depth - 1)})`;
    if (choice < 70) return `(${this.expression(depth - 1)})${this.postfix()}`;
    return this.call(depth - 1);
  }

  private atom(): string {
    const choice = this.int(100);
    if (choice < 12) return this.pick(NUMBERS);
    if (choice < 24) return this.pick(STRINGS);
    if (choice < 30) return this.pick(['true', 'false', 'null']);
    if (choice < 75) return this.access();
    if (choice < 87) return this.filtered();
    if (choice < 95) return `fromJSON(${this.jsonLiteral()})${this.int(2) ? this.postfix() : ''}`;
    return this.pick(['success()', 'failure()', 'always()', 'cancelled()']);
  }

  /** A path into the contexts, with case changes, index forms and keys that are not there. */
  private access(): string {
    const path = this.pick(this.paths);
    let text = this.recase(path[0] as string);
    for (const segment of path.slice(1)) text += this.segment(segment);
    const tail = this.int(10);
    if (tail === 0) text += `.${this.pick(MISSING)}`;
    if (tail === 1) text += `.${this.pick(MISSING)}.${this.pick(MISSING)}`;
    if (tail === 2) text += this.postfix();
    return text;
  }

  private filtered(): string {
    const collections = this.paths.filter((p) => this.isCollection(p));
    const path = this.pick(collections);
    let text = this.recase(path[0] as string);
    for (const segment of path.slice(1)) text += this.segment(segment);
    text += this.pick(['.*', '[*]']);
    const more = this.int(4);
    for (let i = 0; i < more; i++) text += this.pick(['.*', '.name', '.id', '.author', '.NAME', '[0]', '[1]', "['name']", '.b', '.os']);
    return text;
  }

  private postfix(): string {
    return this.pick(['[0]', '[1]', '[-1]', '[1.5]', "['0']", '[true]', '[null]', "['name']", '.name', '.*', '.*[0]', '[*].b', '.length', '[2]', "['A']"]);
  }

  private segment(key: string | number): string {
    if (typeof key === 'number') return this.pick([`[${key}]`, `['${key}']`, `[${key}.0]`]);
    if (!IDENTIFIER.test(key) || this.int(6) === 0) return `['${this.recase(key).replace(/'/g, "''")}']`;
    return `.${this.recase(key)}`;
  }

  private call(depth: number): string {
    const arg = (): string => this.expression(depth);
    switch (this.int(11)) {
      case 0:
        return `contains(${arg()}, ${arg()})`;
      case 1:
        return `startsWith(${arg()}, ${arg()})`;
      case 2:
        return `endsWith(${arg()}, ${arg()})`;
      case 3: {
        const args = Array.from({ length: 1 + this.int(3) }, arg).join(', ');
        return `format(${this.pick(TEMPLATES)}, ${args})`;
      }
      case 4:
        return this.int(2) ? `join(${arg()})` : `join(${arg()}, ${this.pick(["', '", "''", "'-'", 'null', '1', arg()])})`;
      case 5:
        return `toJSON(${arg()})`;
      case 6:
        return `fromJSON(${this.int(3) ? this.jsonLiteral() : arg()})`;
      case 7:
        return `${this.pick(['CONTAINS', 'StartsWith', 'ENDSWITH', 'Contains'])}(${arg()}, ${arg()})`;
      case 8:
        return `toJson(fromJSON(${this.jsonLiteral()}))`;
      case 9:
        return `case(${arg()} == ${arg()}, ${arg()}, ${arg()})`;
      default:
        return `join(${this.filtered()}, ',')`;
    }
  }

  private jsonLiteral(): string {
    return `'${this.pick(JSON_TEXTS).replace(/'/g, "''")}'`;
  }

  private recase(name: string): string {
    const choice = this.int(6);
    if (choice === 0) return name.toUpperCase();
    if (choice === 1) return name.charAt(0).toUpperCase() + name.slice(1);
    return name;
  }

  private collect(path: (string | number)[], value: Tagged): void {
    this.paths.push(path);
    if (value === null || typeof value !== 'object' || ('$n' in value && !Array.isArray(value))) return;
    const entries: [string | number, Tagged][] = Array.isArray(value)
      ? value.map((v, i) => [i, v])
      : Object.entries(value);
    for (const [key, child] of entries) this.collect([...path, key], child);
  }

  private isCollection(path: (string | number)[]): boolean {
    let value: Tagged = CONTEXTS;
    for (const key of path) value = (value as Record<string, Tagged>)[key] ?? null;
    return value !== null && typeof value === 'object' && !('$n' in value && !Array.isArray(value));
  }

  private int(n: number): number {
    return Math.floor(this.next() * n);
  }

  private pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}

// ─── Hand-picked cases: the divergences seen before, and the corners generation rarely reaches ─────

const FIXED_CASES = [
  "fromJSON('[[1,2],[3]]').*[0]",
  "fromJSON('[[1,2],[3]]').*[1]",
  "fromJSON('[{\"a\":[1,2]},{\"a\":[3]}]').*.a[0]",
  "format('{0}', fromJSON('[1,2]'))",
  "format('{0}|{1}', github.event, matrix.flags)",
  "join(fromJSON('[[1],{\"a\":1},2]'), '+')",
  "join(github.event, '+')",
  "join(matrix.flags, github)",
  "contains(github.event, '')",
  "contains('abc', fromJSON('[]'))",
  "startsWith(matrix.config, '')",
  "endsWith('abc', matrix.config)",
  'matrix.list.*.name',
  "fromJSON('[{\"a\":null},{\"a\":1}]').*.a",
  "fromJSON('{\"1\":\"one\",\"true\":\"yes\",\"\":\"empty\"}')[1]",
  "fromJSON('{\"1\":\"one\",\"true\":\"yes\",\"\":\"empty\"}')[true]",
  "fromJSON('{\"1\":\"one\",\"true\":\"yes\",\"\":\"empty\"}')[null]",
  'matrix.flags[-0.5]',
  "fromJSON('{\"A\":1,\"a\":2}').a",
  "fromJSON('{\"A\":1,\"a\":2}')",
  "toJSON(fromJSON('{\"A\":1,\"a\":2}'))",
  'NaN',
  'Infinity',
  '-Infinity',
  '+3',
  '-0x10',
  'matrix.frac',
  "format('{0}', matrix.frac)",
  "format('{0}', 0.1)",
  'matrix.long',
  'toJSON(matrix)',
  "'abc'[0]",
  "case(true, 'a', fromJSON('nope'))",
  "case(false, fromJSON('nope'), 'b')",
  "format('{0:x}-{1}', 'a', 'b')",
  "format('{x}', 'a')",
  "('abc')[0]",
  'true.x',
  'true > false',
  'matrix.flags <= matrix.flags',
  'matrix.flags < matrix.flags',
  "'infinity' == Infinity",
  "'0x1F' == 31",
  '1 == +1',
  "fromJSON('[7,8]')[1.9]",
  'contains(matrix.flags, null)',
  "fromJSON('-0')",
  '1e21',
  "join(github.event)",
  "fromJSON('[1,2,]')",
  "fromJSON('{\"a\":1,}')",
  "'a''b''c'",
];

/** Either side of the nesting limit (50), where GitHub's parser counts a level. */
const DEPTH_CASES = [48, 49, 50].flatMap((n) => [
  `github${'.event'.repeat(n)}`,
  `github${'[0]'.repeat(n)}`,
  `${'!'.repeat(n)}true`,
  `${'('.repeat(n)}1${')'.repeat(n)}`,
  `${'(1 || '.repeat(n)}1${')'.repeat(n)}`,
  `${'(1 && '.repeat(n)}1${')'.repeat(n)}`,
  `${'format('.repeat(n)}'x'${')'.repeat(n)}`,
  `${'!('.repeat(n)}true${')'.repeat(n)}`,
]);

/**
 * Where GitHub's hosted runner deliberately differs from the library, we follow the runner: each
 * exception names the case, what our engine returns, and why.
 */
const RUNNER_EXCEPTIONS: Record<string, { value: Encoded; why: string }> = {
  // The hosted runner's fromJSON accepts a trailing comma before `]` or `}` (a workflow corpus relies
  // on it, see expressions.spec.ts); the library's JSON.parse rejects it.
  "fromJSON('[1,2,]')": { value: [1, 2], why: 'runner accepts a trailing comma in fromJSON' },
  "fromJSON('{\"a\":1,}')": { value: { $o: [['a', 1]] }, why: 'runner accepts a trailing comma in fromJSON' },
  // The library unescapes with String.replace("''", "'"), which replaces only the first pair; the
  // language (and the runner) reads every `''` inside a string as one quote.
  "'a''b''c'": { value: "a'b'c", why: "every '' in a string literal is one quote" },
};

// ─── Running both ───────────────────────────────────────────────────────────────────────────────────

const ORACLE = join(__dirname, '..', '..', '..', 'test', 'support', 'expression-oracle.mjs');

function runOracle(cases: string[]): Outcome[] {
  const child = spawnSync(process.execPath, [ORACLE], {
    input: JSON.stringify({ contexts: CONTEXTS, cases }),
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (child.status !== 0) throw new Error(`oracle exited ${child.status}: ${child.stderr}`);
  return JSON.parse(child.stdout) as Outcome[];
}

const ourContext: EvaluationContext = {
  contexts: Object.fromEntries(Object.entries(CONTEXTS).map(([k, v]) => [k, decode(v)])),
  status: { success: () => true, failure: () => false, cancelled: () => false },
};

function runOurs(source: string): Outcome {
  try {
    const value = evaluate(parseExpression(source), ourContext);
    return { ok: true, value: encode(value), text: toText(value) };
  } catch (err) {
    if (err instanceof ExpressionError) return { ok: false, error: err.message };
    return { ok: false, error: `CRASH (not an ExpressionError): ${String(err)}` };
  }
}

/** What is compared: success, and on success the value and its string form. */
function comparable(outcome: Outcome): Outcome {
  return outcome.ok ? { ok: true, value: outcome.value, text: outcome.text } : { ok: false };
}

function generatedCases(seed: number, count: number): string[] {
  const generator = new Generator(seed);
  const seen = new Set<string>();
  while (seen.size < count) seen.add(generator.expression());
  return [...seen];
}

describe("expressions agree with GitHub's implementation (@actions/expressions)", () => {
  const cases = [...FIXED_CASES, ...DEPTH_CASES, ...generatedCases(20_2026, 700)];
  let oracle: Outcome[];

  beforeAll(() => {
    oracle = runOracle(cases);
  });

  it('generates several hundred distinct expressions, deterministically', () => {
    expect(cases.length).toBeGreaterThanOrEqual(700);
    expect(generatedCases(20_2026, 700)).toEqual(cases.slice(FIXED_CASES.length + DEPTH_CASES.length));
    // Both outcomes are represented: a differential test of only errors (or none) proves little.
    expect(oracle.filter((o) => o.ok).length).toBeGreaterThan(cases.length / 2);
    expect(oracle.filter((o) => !o.ok).length).toBeGreaterThan(10);
  });

  it('gives the same result, type and string form for every case', () => {
    const differences: string[] = [];
    cases.forEach((source, i) => {
      if (source in RUNNER_EXCEPTIONS) return;
      const ours = runOurs(source);
      const theirs = oracle[i] as Outcome;
      if (ours.error?.startsWith('CRASH') || JSON.stringify(comparable(ours)) !== JSON.stringify(comparable(theirs))) {
        differences.push(`${source}\n    ours:   ${JSON.stringify(ours)}\n    GitHub: ${JSON.stringify(theirs)}`);
      }
    });
    expect(differences).toEqual([]);
  });

  it.each(Object.entries(RUNNER_EXCEPTIONS))('follows the runner, not the library, for %s', (source, { value }) => {
    const ours = runOurs(source);
    expect(ours).toMatchObject({ ok: true, value });
    expect(comparable(oracle[cases.indexOf(source)] as Outcome)).not.toEqual(comparable(ours));
  });
});
