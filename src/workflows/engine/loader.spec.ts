import { formatDiagnostics, loadWorkflow } from 'src/workflows/engine/loader';
import type { Diagnostic, LoadResult, Workflow } from 'src/workflows/engine/model';

function load(text: string, skipUnsupported = false): LoadResult {
  return loadWorkflow(text, { file: 'wf.yml', skipUnsupported });
}

function loaded(text: string): Workflow {
  const result = load(text);
  if (!result.workflow) throw new Error(formatDiagnostics(result.diagnostics));
  return result.workflow;
}

function errors(text: string): Diagnostic[] {
  return load(text).diagnostics.filter((d) => d.severity === 'error');
}

describe('loadWorkflow: GitHub Actions files', () => {
  const github = [
    'name: CI',
    'on: [push]',
    'permissions: {contents: read}',
    'env:',
    '  FLAG: true',
    '  N: 3',
    'jobs:',
    '  build:',
    '    runs-on: ubuntu-latest',
    '    outputs:',
    '      tag: ${{ steps.meta.outputs.tag }}',
    '    steps:',
    '      - uses: actions/checkout@v4',
    '      - id: meta',
    '        run: echo "tag=v1" >> "$GITHUB_OUTPUT"',
    '      - run: make',
    '  test:',
    '    needs: build',
    "    if: needs.build.outputs.tag != ''",
    '    container: node:22',
    '    strategy:',
    '      fail-fast: false',
    '      matrix: {node: [18, 20]}',
    '    steps:',
    '      - run: npm test',
    '        continue-on-error: true',
    '        timeout-minutes: 5',
  ].join('\n');

  it('loads unchanged, with warnings for GitHub-only keys and `on` kept as a string key', () => {
    const result = load(github);
    expect(result.workflow).toBeDefined();
    expect(result.diagnostics.map((d) => `${d.line}:${d.column} ${d.code}`)).toEqual([
      '2:1 ignored-key',
      '3:1 ignored-key',
    ]);
    const wf = result.workflow as Workflow;
    expect(wf.env).toEqual({ FLAG: 'true', N: '3' });
    const [build, test] = wf.jobs;
    expect(build?.steps.map((s) => [s.id, s.action.kind])).toEqual([
      ['__actions_checkout', 'checkout'],
      ['meta', 'run'],
      ['__run', 'run'],
    ]);
    expect(build?.outputs).toEqual({ tag: '${{ steps.meta.outputs.tag }}' });
    expect(test?.needs).toEqual(['build']);
    expect(test?.container?.image).toBe('node:22');
    expect(test?.strategy).toEqual({
      kind: 'static',
      spec: {
        failFast: false,
        matrix: expect.objectContaining({
          dimensions: [expect.objectContaining({ name: 'node', values: [18, 20] })],
        }),
      },
    });
    expect(test?.steps[0]).toMatchObject({ continueOnError: true, timeoutMinutes: 5 });
    expect(test?.timeoutMinutes).toBe(360);
  });

  it('resolves anchors and aliases, and YAML 1.2 keeps on/yes/no as strings', () => {
    const wf = loaded(
      [
        'jobs:',
        '  a:',
        '    strategy:',
        '      matrix:',
        "        include: [{node: &n '20', v: yes}, {node: *n, v: no}]",
        '    steps: [{run: echo}]',
      ].join('\n'),
    );
    const spec = wf.jobs[0]?.strategy;
    expect(spec?.kind === 'static' && spec.spec.matrix).toMatchObject({
      include: [
        { node: '20', v: 'yes' },
        { node: '20', v: 'no' },
      ],
    });
  });

  it('rejects other uses: targets, or skips them with a warning when asked', () => {
    const text =
      'jobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/setup-node@v4\n      - run: echo';
    expect(errors(text)).toEqual([
      expect.objectContaining({
        code: 'unsupported-step',
        line: 5,
        column: 15,
        message: expect.stringContaining("'actions/setup-node@v4'"),
      }),
    ]);
    const skipped = load(text, true);
    expect(skipped.workflow?.jobs[0]?.steps[0]?.action).toEqual({
      kind: 'unsupported',
      uses: 'actions/setup-node@v4',
      with: {},
    });
    expect(skipped.diagnostics).toEqual([
      expect.objectContaining({ severity: 'warning', code: 'unsupported-step' }),
    ]);
  });

  it('marks Windows and macOS jobs unsupported', () => {
    const wf = load('jobs:\n  w:\n    runs-on: windows-latest\n    steps: [{run: dir, shell: cmd}]').workflow;
    expect(wf?.jobs[0]?.unsupportedRunner).toBe('windows-latest');
  });
});

describe('loadWorkflow: native keys and the predecessor aliases', () => {
  it('reads image, retry, duration timeouts, max-parallel and platforms', () => {
    const wf = loaded(
      [
        'max-parallel: 3',
        'timeout: 1h30m',
        'platforms: {ubuntu-latest: "ubuntu:24.04"}',
        'jobs:',
        '  a:',
        '    image: alpine:3.20',
        '    timeout: 90s',
        '    retry: {count: 2, when: [infra], backoff: {delay: 5s, factor: 3, max-delay: 1m}}',
        '    artifacts: [{name: dist, path: dist/*.whl, when: always}]',
        '    steps: [{run: echo}]',
      ].join('\n'),
    );
    expect(wf).toMatchObject({
      maxParallel: 3,
      timeoutMs: 5_400_000,
      platforms: { 'ubuntu-latest': 'ubuntu:24.04' },
    });
    expect(wf.jobs[0]).toMatchObject({
      image: 'alpine:3.20',
      timeoutMinutes: 1.5,
      retry: { max: 2, when: ['infra'], backoff: { delayMs: 5000, factor: 3, maxDelayMs: 60_000 } },
      artifacts: [{ name: 'dist', paths: ['dist/*.whl'], when: 'always', ifNoFiles: 'warn' }],
    });
  });

  it('normalises requires, commands, on_complete, job-level matrix, services lists and seconds timeouts', () => {
    const result = load(
      [
        'jobs:',
        '  build:',
        '    image: python:3.12',
        '    commands: ["pip install .", "pytest"]',
        '    artifacts: [dist/]',
        '  report:',
        '    image: alpine',
        '    requires: [build]',
        '    on_complete: always',
        '    timeout: 120',
        '    matrix: {parameters: {py: ["3.11", "3.12"]}}',
        '    services: ["postgres:15", {cache: "redis:7"}]',
        '    commands: [echo done]',
      ].join('\n'),
    );
    expect(result.diagnostics.every((d) => d.severity === 'warning')).toBe(true);
    const [build, report] = result.workflow?.jobs ?? [];
    expect(build?.steps.map((s) => s.action)).toEqual([
      { kind: 'run', script: 'pip install .' },
      { kind: 'run', script: 'pytest' },
    ]);
    expect(build?.artifacts).toEqual([
      { name: 'dist', paths: ['dist/'], when: 'success', ifNoFiles: 'warn' },
    ]);
    expect(report).toMatchObject({ needs: ['build'], if: 'always()', timeoutMinutes: 2 });
    expect(report?.services.map((s) => [s.id, s.image])).toEqual([
      ['postgres', 'postgres:15'],
      ['cache', 'redis:7'],
    ]);
    const strategy = report?.strategy;
    expect(strategy?.kind === 'static' && strategy.spec.matrix).toMatchObject({
      dimensions: [{ name: 'py', values: ['3.11', '3.12'] }],
    });
  });

  it('reads services with health options, structured health checks and credentials', () => {
    const wf = loaded(
      [
        'jobs:',
        '  a:',
        '    runs-on: ubuntu-latest',
        '    services:',
        '      postgres:',
        '        image: postgres:16',
        '        env: {POSTGRES_PASSWORD: x}',
        '        ports: [5432]',
        '        options: --health-cmd pg_isready --health-interval 10s',
        '        credentials: {username: u, password: p}',
        '      redis:',
        '        image: redis:7',
        '        healthcheck: {cmd: "redis-cli ping", interval: 2s, retries: 5}',
        '        readiness-timeout: 2m',
        '    steps: [{run: echo}]',
      ].join('\n'),
    );
    expect(wf.jobs[0]?.services).toEqual([
      expect.objectContaining({
        id: 'postgres',
        ports: ['5432'],
        options: '--health-cmd pg_isready --health-interval 10s',
      }),
      expect.objectContaining({
        id: 'redis',
        healthcheck: { cmd: 'redis-cli ping', intervalMs: 2000, retries: 5 },
        readinessTimeoutMs: 120_000,
      }),
    ]);
  });
});

describe("loadWorkflow: the 'cleanup' key", () => {
  const withCleanup = (value: string): string => `cleanup: ${value}\njobs:\n  a:\n    image: orcaops/busybox\n    steps: [{run: 'true'}]\n`;

  it("loads 'always' (what the runner does) and defaults to it", () => {
    expect(loaded(withCleanup('always')).cleanup).toBe('always');
    expect(loaded("jobs:\n  a:\n    image: orcaops/busybox\n    steps: [{run: 'true'}]\n").cleanup).toBe('always');
  });

  it("refuses 'on-success' and 'never', naming the key and its line, instead of ignoring them", () => {
    for (const value of ['on-success', 'never']) {
      const result = load(withCleanup(value));
      expect(result.workflow).toBeUndefined();
      expect(result.diagnostics).toEqual([
        expect.objectContaining({ severity: 'error', code: 'unsupported-cleanup', path: 'cleanup', line: 1, message: expect.stringContaining(`'cleanup: ${value}' is not supported`) }),
      ]);
    }
    expect(errors(withCleanup('sometimes'))).toEqual([expect.objectContaining({ code: 'bad-type', path: 'cleanup' })]);
  });
});

describe('validation: every error at once, with positions', () => {
  it('names unknown needs with a suggestion and prints cycles as a path', () => {
    const text = [
      'jobs:',
      '  build: {runs-on: ubuntu-latest, steps: [{run: echo}]}',
      '  deploy: {needs: [buld], steps: [{run: echo}]}',
      '  a: {needs: c, steps: [{run: echo}]}',
      '  b: {needs: a, steps: [{run: echo}]}',
      '  c: {needs: b, steps: [{run: echo}]}',
      '  self: {needs: self, steps: [{run: echo}]}',
    ].join('\n');
    expect(formatDiagnostics(errors(text), 'wf.yml').split('\n')).toEqual([
      "wf.yml:3:20: error: Job 'deploy' depends on unknown job 'buld'. Did you mean 'build'?",
      "wf.yml:4:14: error: Job 'a' depends on job 'c' which creates a cycle in the dependency graph: a → c → b → a",
      "wf.yml:7:17: error: Job 'self' cannot depend on itself",
    ]);
  });

  it('reports unparsable expressions, context misuse, unknown keys, bad types and bad ids together', () => {
    const text = [
      'jobs:',
      '  a:',
      '    runs-on: ubuntu-latest',
      '    if: matrix.os == "x"',
      '    timeout-minutes: soon',
      '    colour: blue',
      '    steps:',
      "      - if: github.ref == 'main' &&",
      '        run: echo ${{ steps.x.outputs.y }}',
      '      - id: __mine',
      '        run: echo',
      '  b:',
      '    needs: a',
      '    env: {T: "${{ needs.a.outputs.tag }}"}',
      '    steps: [{run: echo}]',
    ].join('\n');
    const found = errors(text).map((d) => `${d.line} ${d.code}`);
    expect(found).toEqual([
      '4 bad-expression',
      '5 bad-type',
      '6 unknown-key',
      '8 bad-expression',
      '10 bad-id',
      '14 unknown-output',
    ]);
  });

  it('warns when an expression reads a step id the job does not have', () => {
    const text =
      'jobs:\n  a:\n    outputs: {tag: "${{ steps.mta.outputs.tag }}"}\n    steps: [{id: meta, run: echo}]';
    expect(load(text).diagnostics).toEqual([
      expect.objectContaining({
        code: 'unknown-step',
        severity: 'warning',
        message: expect.stringContaining("Did you mean 'meta'?"),
      }),
    ]);
  });

  it('only lets a job download artifacts from its direct needs', () => {
    const text =
      'jobs:\n  a: {steps: [{run: echo}]}\n  b: {needs: a, steps: [{run: echo}]}\n  c: {needs: b, download: [b/dist, a/dist], steps: [{run: echo}]}';
    expect(errors(text).map((d) => `${d.line}:${d.column} ${d.message}`)).toEqual([
      "4:36 Job 'c' downloads from 'a', which is not one of its needs",
    ]);
  });

  it('points at the offending token inside a single-line expression', () => {
    const text = "jobs:\n  a:\n    if: github.ref == = 'x'\n    steps:\n      - run: echo ${{ 1 + 2 }}";
    expect(errors(text).map((d) => `${d.line}:${d.column}`)).toEqual(['3:23', '5:25']);
  });

  it('rejects matrix vectors without values and exclude keys that are not dimensions', () => {
    const text =
      'jobs:\n  a:\n    strategy:\n      matrix: {os: [], py: [1], exclude: [{py2: 1}]}\n    steps: [{run: echo}]';
    expect(errors(text).map((d) => d.message)).toEqual([
      "Matrix vector 'os' does not contain any values",
      "Matrix exclude key 'py2' does not match any key within the matrix",
    ]);
  });

  it('warns on always-true concatenated conditions and unquoted floats', () => {
    const text =
      'jobs:\n  a:\n    if: ${{ false }} && ${{ false }}\n    strategy: {matrix: {py: [3.9, 3.10]}}\n    steps: [{run: echo}]';
    expect(load(text).diagnostics.map((d) => d.code)).toEqual(['always-true-if', 'matrix-float']);
  });

  it('warns when github.event data is pasted into a script', () => {
    const text = "jobs:\n  a:\n    steps:\n      - run: echo '${{ github.event.pull_request.title }}'";
    expect(load(text).diagnostics).toEqual([
      expect.objectContaining({ code: 'script-injection', line: 4, severity: 'warning' }),
    ]);
  });

  it('reports YAML syntax errors with positions', () => {
    expect(errors('jobs:\n  a: [\n')).toEqual([
      expect.objectContaining({ code: 'yaml', line: expect.any(Number) }),
    ]);
  });
});
