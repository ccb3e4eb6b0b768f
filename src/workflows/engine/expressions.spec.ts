import type { EvaluationContext } from 'src/workflows/engine/expressions';
import {
  evaluate,
  evaluateCondition,
  evaluateTemplate,
  ExpressionError,
  fromJson,
  interpolate,
  parseCondition,
  parseExpression,
  referencedContexts,
  referencedNeeds,
} from 'src/workflows/engine/expressions';
import type { JsonValue } from 'src/workflows/engine/model';

const ctx: EvaluationContext = {
  contexts: {
    github: {
      event_name: 'push',
      ref: 'refs/heads/main',
      event: { pull_request: { labels: [{ name: 'bug' }, { name: 'ci' }] } },
    },
    env: { MODE: 'fast' },
    matrix: { os: 'Linux', node: 18, vector: { image: 'debian', jobname: 'x' } },
    needs: { 'ci-config': { result: 'success', outputs: { enabled: 'yes', list: '[14,15,16,]' } } },
    steps: {},
    inputs: {},
    vars: {},
    secrets: {},
  },
  status: { success: () => true, failure: () => false, cancelled: () => false },
};

function run(expression: string): JsonValue {
  return evaluate(parseExpression(expression), ctx);
}

describe('expression literals and operators', () => {
  it.each([
    ["'it''s'", "it's"],
    ['0x10', 16],
    ['1.5e2', 150],
    ['-2', -2],
    ['null', null],
    ['true', true],
    ["1 == '1'", true],
    ["'ABC' == 'abc'", true],
    ['null == 0', true],
    ["'' == 0", true],
    ["'x' == 0", false],
    ['true == 1', true],
    ["'a' < 'B'", true],
    ["'abc' > 1", false],
    ['!0', true],
    ["!'false'", false],
    ["'' || 'b'", 'b'],
    ["true && 'a' || 'b'", 'a'],
    ["false && 'a' || 'b'", 'b'],
    ['(1 < 2) == true', true],
    ['3 >= 3 && 2 <= 1', false],
    ['1 != 2', true],
  ])('%s → %p', (expression, expected) => {
    expect(run(expression)).toEqual(expected);
  });

  it('rejects double-quoted strings and trailing garbage', () => {
    expect(() => parseExpression('"x"')).toThrow(ExpressionError);
    expect(() => parseExpression('a ==')).toThrow(/Unexpected end of expression/);
    expect(() => parseExpression('a b')).toThrow(/Located at position 3/);
    expect(() => parseExpression('nope()')).toThrow(/Unrecognized function/);
  });
});

describe('contexts, properties and filters', () => {
  it('reads contexts, ids with dashes, indexes and case-insensitive properties', () => {
    expect(run("needs.ci-config.outputs.enabled == 'yes'")).toBe(true);
    expect(run("matrix['vector'].image")).toBe('debian');
    expect(run('github.EVENT_NAME')).toBe('push');
    expect(run('github.missing.deeper')).toBeNull();
  });

  it('applies object filters', () => {
    expect(run('github.event.pull_request.labels.*.name')).toEqual(['bug', 'ci']);
    expect(run("contains(github.event.pull_request.labels.*.name, 'CI')")).toBe(true);
  });

  it('refuses unknown named values', () => {
    expect(() => run('nosuch.x')).toThrow(/Unrecognized named-value: 'nosuch'/);
  });

  it('lists referenced contexts and needs outputs', () => {
    const node = parseExpression('needs.build.outputs.tag && matrix.os || needs.other.result');
    expect(referencedContexts(node).map((c) => c.name)).toEqual(['needs', 'matrix', 'needs']);
    expect(referencedNeeds(node)).toEqual(
      expect.arrayContaining([{ job: 'build' }, { job: 'other' }, { job: 'build', output: 'tag' }]),
    );
  });
});

describe('functions', () => {
  it.each([
    ["contains('Hello', 'ell')", true],
    ["contains(fromJSON('[1,2]'), '2')", true],
    ["startsWith('Hello', 'he')", true],
    ["endsWith('Hello', 'LO')", true],
    ["format('{0} {{x}} {1}', 'a', 3)", 'a {x} 3'],
    ['join(fromJSON(\'["a","b"]\'))', 'a,b'],
    ['join(fromJSON(\'["a","b"]\'), \' \')', 'a b'],
    ['toJSON(fromJSON(\'{"a":1}\'))', '{\n  "a": 1\n}'],
    ['fromJSON(needs.ci-config.outputs.list)', [14, 15, 16]],
    ["case(matrix.node == 18, 'eighteen', 'other')", 'eighteen'],
    ["hashFiles('**/x')", ''],
  ])('%s → %p', (expression, expected) => {
    expect(run(expression)).toEqual(expected);
  });

  it('accepts trailing commas in fromJSON but not other errors', () => {
    expect(fromJson('[ 14,15,16,17, ]')).toEqual([14, 15, 16, 17]);
    expect(fromJson('{"a": [1,], "b": "x,]",}')).toEqual({ a: [1], b: 'x,]' });
    expect(() => fromJson('[1,,]')).toThrow(/fromJSON/);
  });

  it('uses the hashFiles callback when given', () => {
    const withHash = { ...ctx, hashFiles: (p: string[]) => `h:${p.join('+')}` };
    expect(evaluate(parseExpression("hashFiles('a', 'b')"), withHash)).toBe('h:a+b');
  });
});

describe("fixes from the differential test against GitHub's implementation", () => {
  it('indexes each item after an object filter', () => {
    expect(run("fromJSON('[[1,2],[3]]').*[0]")).toEqual([1, 3]);
    expect(run("fromJSON('[[1,2],[3]]').*[1]")).toEqual([2]);
    expect(run("fromJSON('[{\"a\":[1,2]},{\"a\":[3]}]').*.a[0]")).toEqual([1, 3]);
  });

  it('keeps null values after a filter, leaves out missing keys', () => {
    expect(run("fromJSON('[{\"a\":null},{\"a\":1},{\"b\":2}]').*.a")).toEqual([null, 1]);
  });

  it('formats and joins arrays and objects as their kind', () => {
    expect(run("format('{0}|{1}', github.event, fromJSON('[1]'))")).toBe('Object|Array');
    expect(run("join(fromJSON('[[1],{\"a\":1},2]'), '+')")).toBe('Array+Object+2');
    expect(run('join(github.event)')).toBe('');
    expect(run("join(fromJSON('[1,2]'), github)")).toBe('1,2');
  });

  it('formats placeholders with trailing text up to the brace', () => {
    expect(run("format('{0:x}-{1}', 'a', 'b')")).toBe('a-b');
    expect(() => run("format('{x}', 'a')")).toThrow(/Invalid format string/);
  });

  it('answers false for contains, startsWith and endsWith on arrays or objects where a string is expected', () => {
    expect(run("contains(github.event, '')")).toBe(false);
    expect(run("contains('abc', fromJSON('[]'))")).toBe(false);
    expect(run("startsWith(matrix.vector, '')")).toBe(false);
    expect(run("endsWith('abc', matrix.vector)")).toBe(false);
  });

  it('indexes objects by any scalar as text, arrays by whole numbers from 0', () => {
    const doc = 'fromJSON(\'{"1":"one","true":"yes","":"empty"}\')';
    expect(run(`${doc}[1]`)).toBe('one');
    expect(run(`${doc}[true]`)).toBe('yes');
    expect(run(`${doc}[null]`)).toBe('empty');
    expect(run("fromJSON('[7,8]')[-0.5]")).toBeNull();
    expect(run("fromJSON('[7,8]')[1.9]")).toBe(8);
  });

  it('reads the first of keys that differ only in case', () => {
    expect(run('fromJSON(\'{"A":1,"a":2}\').a')).toBe(1);
    expect(run('toJSON(fromJSON(\'{"A":1,"a":2}\'))')).toBe('{\n  "A": 1\n}');
    expect(fromJson('{"__proto__":{"x":1},"__PROTO__":2}')).toEqual(JSON.parse('{"__proto__":{"x":1}}'));
  });

  it('reads NaN, Infinity, signed numbers as Number() does, and refuses a signed hex', () => {
    expect(run('NaN')).toBeNaN();
    expect(run('Infinity')).toBe(Infinity);
    expect(run('-Infinity')).toBe(-Infinity);
    expect(run('+3')).toBe(3);
    expect(run('1 == +1')).toBe(true);
    expect(() => parseExpression('-0x10')).toThrow(/Unexpected symbol: '-0x10'/);
    expect(run("'0x1F' == 31")).toBe(true);
    expect(run("'infinity' == Infinity")).toBe(false);
  });

  it('prints numbers with at most 15 decimals', () => {
    expect(run("format('{0}', fromJSON('0.30000000000000004'))")).toBe('0.3');
    expect(interpolate('${{ fromJSON(\'-0\') }} ${{ 1e21 }}', ctx)).toBe('0 1e+21');
  });

  it('indexes only contexts, calls and parenthesized expressions', () => {
    expect(() => parseExpression("'abc'[0]")).toThrow(ExpressionError);
    expect(() => parseExpression('true.x')).toThrow(ExpressionError);
    expect(run("('abc')[0]")).toBeNull();
  });

  it('compares with <= and >= as equal-or-ordered (an array equals itself)', () => {
    expect(run('matrix.vector <= matrix.vector')).toBe(true);
    expect(run('matrix.vector < matrix.vector')).toBe(false);
    expect(run('true > false')).toBe(true);
  });

  it('evaluates every case() argument, as GitHub does', () => {
    expect(() => run("case(true, 'a', fromJSON('nope'))")).toThrow(/fromJSON/);
  });
});

describe('templates', () => {
  it('keeps the type of a single expression and stringifies mixed text', () => {
    expect(evaluateTemplate('${{ matrix.node }}', ctx)).toBe(18);
    expect(evaluateTemplate(' ${{ fromJSON(needs.ci-config.outputs.list) }} ', ctx)).toEqual([14, 15, 16]);
    expect(evaluateTemplate('node-${{ matrix.node }}-${{ true }}', ctx)).toBe('node-18-true');
    expect(interpolate("a ${{ '}}' }} b", ctx)).toBe('a }} b');
    // As on GitHub, an object or array prints as its kind.
    expect(interpolate('${{ matrix }} ${{ matrix.vector.* }}', ctx)).toBe('Object Array');
    expect(() => interpolate('${{ matrix.os', ctx)).toThrow(/Unclosed expression/);
  });
});

describe('conditions', () => {
  function holds(text: string | undefined, status = ctx.status): boolean {
    return evaluateCondition(parseCondition(text), { ...ctx, status });
  }
  const failed = { success: () => false, failure: () => true, cancelled: () => false };

  it('wraps conditions without a status function in success()', () => {
    expect(holds("github.event_name == 'push'")).toBe(true);
    expect(holds("github.event_name == 'push'", failed)).toBe(false);
    expect(holds('${{ always() }}', failed)).toBe(true);
    expect(holds("failure() && env.MODE != ''", failed)).toBe(true);
    expect(holds('!cancelled()', failed)).toBe(true);
    expect(holds(undefined, failed)).toBe(false);
    expect(holds('', ctx.status)).toBe(true);
  });

  it('treats outputs as strings: the string false is truthy', () => {
    expect(holds("'false'")).toBe(true);
    expect(holds("fromJSON('false')")).toBe(false);
  });

  it('flags concatenated interpolations as always truthy', () => {
    const parsed = parseCondition('${{ false }} && ${{ false }}');
    expect(parsed.alwaysTruthyConcatenation).toBe(true);
    expect(evaluateCondition(parsed, ctx)).toBe(true);
  });

  it('never treats an unparsable condition as true', () => {
    expect(() => parseCondition("github.event_name == 'push' &&")).toThrow(ExpressionError);
  });
});
