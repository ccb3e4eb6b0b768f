import { evaluate, EXPRESSION_LIMITS, ExpressionError, interpolate, parseExpression } from 'src/workflows/engine/expressions';
import { loadWorkflow } from 'src/workflows/engine/loader';

const ctx = { contexts: { github: {}, env: { big: 'x'.repeat(600_000) } } };

function doubled(times: number): string {
  let expr = "'ab'";
  for (let i = 0; i < times; i++) expr = `format('{0}{0}', ${expr})`;
  return expr;
}

describe('expression limits', () => {
  it('should fail a string doubled 40 times at the result size limit, quickly', () => {
    const started = performance.now();
    expect(() => evaluate(parseExpression(doubled(40)), ctx)).toThrow(/over the limit of 1048576 characters/);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('should bound join, toJSON, interpolation and fromJSON', () => {
    expect(() => evaluate(parseExpression("join(fromJSON('[1]'), env.big)"), ctx)).not.toThrow();
    expect(() => interpolate('${{ env.big }}${{ env.big }}', ctx)).toThrow(/interpolation result/);
    expect(() => evaluate(parseExpression(`fromJSON('${'['.repeat(40)}${']'.repeat(40)}')`), ctx)).toThrow(/deeper than 32 levels/);
    expect(() => evaluate(parseExpression("toJSON(format('{0}{0}', env.big))"), ctx)).toThrow(ExpressionError);
  });

  it('should refuse expressions that are too long or nest too deep', () => {
    expect(() => parseExpression(`'${'a'.repeat(EXPRESSION_LIMITS.maxLength)}'`)).toThrow(/over the limit of 21000/);
    expect(() => parseExpression(`${'('.repeat(60)}1${')'.repeat(60)}`)).toThrow(/deeper than 50 levels/);
    expect(() => parseExpression(`${'!'.repeat(60)}true`)).toThrow(/deeper than 50 levels/);
    expect(evaluate(parseExpression(`${'('.repeat(40)}1${')'.repeat(40)}`), ctx)).toBe(1);
    // Counted as GitHub counts: each accessor of a chain and the rest of an `||`/`&&` chain are a level.
    expect(() => parseExpression(`github${'.a'.repeat(50)}`)).toThrow(/deeper than 50 levels/);
    expect(evaluate(parseExpression(`github${'.a'.repeat(49)}`), ctx)).toBeNull();
    expect(() => parseExpression(`${'(1 || '.repeat(25)}1${')'.repeat(25)}`)).toThrow(/deeper than 50 levels/);
    expect(evaluate(parseExpression(`${'(1 || '.repeat(24)}1${')'.repeat(24)}`), ctx)).toBe(1);
  });
});

describe('workflow YAML limits', () => {
  it('should refuse a billion-laughs document quickly, naming the limit', () => {
    let yaml = 'x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
    for (let i = 1; i < 10; i++) yaml += `x${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
    const started = performance.now();
    const result = loadWorkflow(`${yaml}jobs:\n  a:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n        v: *a9\n    steps: [{run: echo}]\n`);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(result.workflow).toBeUndefined();
    expect(result.diagnostics).toEqual([expect.objectContaining({ code: 'limit', message: expect.stringMatching(/aliases|nodes/) })]);
  });

  it('should refuse deep flow nesting before parsing it', () => {
    const started = performance.now();
    const result = loadWorkflow(`jobs: ${'['.repeat(50_000)}${']'.repeat(50_000)}`);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(result.diagnostics).toEqual([expect.objectContaining({ code: 'limit', message: expect.stringContaining('deeper than 32 levels') })]);
  });

  it('should refuse deep block nesting', () => {
    let yaml = 'jobs:\n';
    for (let i = 1; i < 40; i++) yaml += `${' '.repeat(i * 2)}k${i}:\n`;
    expect(loadWorkflow(yaml).diagnostics).toEqual([expect.objectContaining({ code: 'limit' })]);
  });
});

describe('workflow file size and duplicate keys', () => {
  it('should refuse a file over 128 KiB before parsing it', () => {
    const result = loadWorkflow(`jobs:\n${'  # padding\n'.repeat(12_000)}`);
    expect(result.diagnostics).toEqual([expect.objectContaining({ code: 'limit', message: expect.stringContaining('over the limit of 131072') })]);
  });

  it('should report duplicate keys (checked in linear time) at the repeated key', () => {
    const result = loadWorkflow('jobs:\n  a:\n    image: x\n    steps: [{run: echo}]\n  a:\n    image: y\n');
    expect(result.workflow).toBeUndefined();
    expect(result.diagnostics).toEqual([expect.objectContaining({ code: 'yaml', line: 5, message: "Map keys must be unique ('a')" })]);
    let many = 'jobs:\n';
    for (let i = 0; i < 9_000; i++) many += `  j${i}: 1\n`;
    const started = performance.now();
    loadWorkflow(`${many}  j1: 2\n`);
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});

describe('workflow duration clamps', () => {
  it('should clamp the run timeout to a day and retry delays to an hour', () => {
    const result = loadWorkflow('timeout: 1000h\njobs:\n  a:\n    image: x\n    retry: {max: 2, backoff: {delay: 100h, max-delay: 200h}}\n    steps: [{run: echo}]\n');
    expect(result.workflow?.timeoutMs).toBe(24 * 3_600_000);
    expect(result.workflow?.jobs[0]?.retry.backoff).toMatchObject({ delayMs: 3_600_000, maxDelayMs: 3_600_000 });
  });
});
