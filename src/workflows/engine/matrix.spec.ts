import { ExpansionError, expandJob, instanceKey, resolveImage } from 'src/workflows/engine/instances';
import { loadWorkflow } from 'src/workflows/engine/loader';
import type { ConcreteMatrix } from 'src/workflows/engine/matrix';
import { canonicalJson, displaySuffix, expandMatrix, MatrixError } from 'src/workflows/engine/matrix';
import type { JobSpec } from 'src/workflows/engine/model';

function matrix(partial: Partial<ConcreteMatrix>): ConcreteMatrix {
  return { dimensions: [], include: [], exclude: [], ...partial };
}

function names(m: ConcreteMatrix, job = 'job'): string[] {
  return expandMatrix(m).map((c) => `${job}${displaySuffix(c.nameValues)}`);
}

function jobFrom(yaml: string, id?: string): JobSpec {
  const result = loadWorkflow(yaml);
  if (!result.workflow) throw new Error(JSON.stringify(result.diagnostics));
  return (result.workflow.jobs.find((j) => j.id === id) ?? result.workflow.jobs[0]) as JobSpec;
}

const expansionInputs = {
  contexts: { github: {}, inputs: {}, vars: {}, needs: {} },
  platforms: {},
  defaultImage: 'ubuntu:24.04',
};

describe('expandMatrix', () => {
  it("reproduces GitHub's documented include example (6 jobs)", () => {
    const result = expandMatrix(
      matrix({
        dimensions: [
          { name: 'fruit', values: ['apple', 'pear'] },
          { name: 'animal', values: ['cat', 'dog'] },
        ],
        include: [
          { color: 'green' },
          { color: 'pink', animal: 'cat' },
          { fruit: 'apple', shape: 'circle' },
          { fruit: 'banana' },
          { fruit: 'banana', animal: 'cat' },
        ],
      }),
    );
    expect(result.map((c) => c.values)).toEqual([
      { fruit: 'apple', animal: 'cat', color: 'pink', shape: 'circle' },
      { fruit: 'apple', animal: 'dog', color: 'green', shape: 'circle' },
      { fruit: 'pear', animal: 'cat', color: 'pink' },
      { fruit: 'pear', animal: 'dog', color: 'green' },
      { fruit: 'banana' },
      { fruit: 'banana', animal: 'cat' },
    ]);
    expect(result.map((c) => `job${displaySuffix(c.nameValues)}`)).toEqual([
      'job (apple, cat)',
      'job (apple, dog)',
      'job (pear, cat)',
      'job (pear, dog)',
      'job (banana)',
      'job (banana, cat)',
    ]);
  });

  it('varies the last dimension fastest and applies partial excludes before include', () => {
    const m = matrix({
      dimensions: [
        { name: 'os', values: ['linux', 'mac', 'win'] },
        { name: 'node', values: [18, 20, 22] },
        { name: 'arch', values: ['x64', 'arm'] },
      ],
      exclude: [
        { os: 'win', arch: 'arm' },
        { node: 18, os: 'mac' },
        { os: 'linux', node: 22, arch: 'x64' },
      ],
      include: [{ os: 'win', node: 18, arch: 'arm' }],
    });
    const result = names(m);
    expect(result).toHaveLength(18 - 3 - 2 - 1 + 1);
    expect(result.slice(0, 3)).toEqual([
      'job (linux, 18, x64)',
      'job (linux, 18, arm)',
      'job (linux, 20, x64)',
    ]);
    // The include re-adds a combination that exclude removed: appended, all values shown.
    expect(result[result.length - 1]).toBe('job (win, 18, arm)');
  });

  it('merges include values into matching rows without overwriting original values', () => {
    const result = expandMatrix(
      matrix({
        dimensions: [{ name: 'node', values: [18, 20] }],
        include: [{ node: 20, experimental: true }, { node: 18, extra: 'x' }, { node: 16 }],
      }),
    );
    expect(result.map((c) => c.values)).toEqual([
      { node: 18, extra: 'x' },
      { node: 20, experimental: true },
      { node: 16 },
    ]);
  });

  it('keeps types: the number 18 and the string "18" are different values', () => {
    const result = expandMatrix(
      matrix({ dimensions: [{ name: 'pg', values: [17, 18] }], exclude: [{ pg: '18' }] }),
    );
    expect(result).toHaveLength(2);
  });

  it('handles object values with deep equality and flattens them in names', () => {
    const m = matrix({
      dimensions: [
        {
          name: 'vector',
          values: [
            { image: 'alpine', cc: 'gcc' },
            { image: 'debian', cc: '' },
          ],
        },
      ],
      exclude: [{ vector: { image: 'alpine', cc: 'gcc' } }],
    });
    expect(names(m)).toEqual(['job (debian)']);
  });

  it('expands include-only matrices one combination per entry', () => {
    expect(
      names(
        matrix({
          include: [
            { node: '16', pg: '18' },
            { node: '26', pg: '13' },
          ],
        }),
      ),
    ).toEqual(['job (16, 18)', 'job (26, 13)']);
  });

  it('enforces non-empty vectors and the 256 limit', () => {
    expect(() => expandMatrix(matrix({ dimensions: [{ name: 'x', values: [] }] }))).toThrow(MatrixError);
    const big = Array.from({ length: 17 }, (_, i) => i);
    expect(() =>
      expandMatrix(
        matrix({
          dimensions: [
            { name: 'a', values: big },
            { name: 'b', values: big },
          ],
        }),
      ),
    ).toThrow(/289 jobs \(limit 256\)/);
    const huge = Array.from({ length: 8 }, (_, i) => ({ name: `d${i}`, values: big }));
    expect(() => expandMatrix(matrix({ dimensions: huge }))).toThrow(/before exclude/);
  });
});

describe('instances', () => {
  it('keys instances by job id and canonical matrix JSON, independent of order', () => {
    expect(instanceKey('test', { os: 'a', node: 18 })).toBe(instanceKey('test', { node: 18, os: 'a' }));
    expect(instanceKey('test', {})).toBe('test');
    expect(canonicalJson({ b: [1, { d: 1, c: 2 }], a: null })).toBe('{"a":null,"b":[1,{"c":2,"d":1}]}');
  });

  it('expands a matrix from needs outputs when the job is ready (fromJSON with a trailing comma)', () => {
    const job = jobFrom(
      [
        'jobs:',
        '  gen: {runs-on: ubuntu-latest, outputs: {v: "${{ steps.s.outputs.v }}"}, steps: [{id: s, run: echo}]}',
        '  test:',
        '    needs: gen',
        '    runs-on: ubuntu-latest',
        '    container: "img:pg${{ matrix.pg }}"',
        '    strategy:',
        '      fail-fast: false',
        '      max-parallel: 2',
        '      matrix:',
        '        pg: ${{ fromJson(needs.gen.outputs.v) }}',
        '        exclude: [{pg: 18}]',
        '    steps: [{run: echo}]',
      ].join('\n'),
      'test',
    );
    const inputs = {
      ...expansionInputs,
      contexts: {
        ...expansionInputs.contexts,
        needs: { gen: { result: 'success', outputs: { v: '[ 16,17,18, ]' } } },
      },
    };
    const expanded = expandJob(job, inputs);
    expect(expanded.failFast).toBe(false);
    expect(expanded.maxParallel).toBe(2);
    expect(expanded.instances.map((i) => [i.displayName, i.image])).toEqual([
      ['test (16)', 'img:pg16'],
      ['test (17)', 'img:pg17'],
    ]);
  });

  it('evaluates a whole strategy expression and expression names without a suffix', () => {
    const job = jobFrom(
      [
        'jobs:',
        '  build:',
        '    name: ${{ matrix.name }}',
        '    runs-on: ${{ matrix.os }}',
        '    strategy: ${{ fromJson(inputs.strategy) }}',
        '    steps: [{run: "${{ matrix.runs.build }}"}]',
      ].join('\n'),
    );
    const strategy = JSON.stringify({
      'fail-fast': false,
      matrix: {
        include: [
          { name: 'py 3.13', os: 'ubuntu-latest' },
          { name: 'win', os: 'windows-2022' },
        ],
      },
    });
    const expanded = expandJob(job, {
      ...expansionInputs,
      contexts: { ...expansionInputs.contexts, inputs: { strategy } },
    });
    expect(expanded.instances.map((i) => [i.displayName, i.image ?? i.unsupportedRunner])).toEqual([
      ['py 3.13', 'ubuntu:24.04'],
      ['win', 'windows-2022'],
    ]);
  });

  it('fails expansion clearly for empty matrices and bad expression results', () => {
    const empty = jobFrom(
      'jobs:\n  a:\n    strategy: {matrix: {x: [1], exclude: [{x: 1}]}}\n    steps: [{run: echo}]',
    );
    expect(() => expandJob(empty, expansionInputs)).toThrow(ExpansionError);
    const bad = jobFrom(
      'jobs:\n  a:\n    strategy: {matrix: {x: "${{ fromJSON(inputs.x) }}"}}\n    steps: [{run: echo}]',
    );
    expect(() =>
      expandJob(bad, {
        ...expansionInputs,
        contexts: { ...expansionInputs.contexts, inputs: { x: '{"a":1}' } },
      }),
    ).toThrow(/Matrix vector 'x' must evaluate to a list/);
  });

  it('resolves images: container, image, platforms, default, unsupported labels', () => {
    const options = { platforms: { 'custom-runner': 'ubuntu:22.04' }, defaultImage: 'default:1' };
    const base = jobFrom('jobs:\n  a:\n    runs-on: ubuntu-latest\n    steps: [{run: echo}]');
    expect(resolveImage(base, {}, options)).toEqual({ image: 'default:1' });
    expect(resolveImage({ ...base, runsOn: 'custom-runner' }, {}, options)).toEqual({
      image: 'ubuntu:22.04',
    });
    expect(resolveImage({ ...base, runsOn: 'macos-latest' }, {}, options)).toEqual({
      unsupportedRunner: 'macos-latest',
    });
    expect(resolveImage({ ...base, runsOn: 'my-gpu-box' }, {}, options)).toEqual({
      unsupportedRunner: 'my-gpu-box',
    });
    expect(
      resolveImage({ ...base, image: 'alpine:${{ matrix.v }}' }, { matrix: { v: '3' } }, options),
    ).toEqual({ image: 'alpine:3' });
  });
});
