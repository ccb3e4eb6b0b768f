import { randomBytes } from 'crypto';
import { analyseLog } from 'src/log-analysis/analyse-log';
import type { RunFacts } from 'src/log-analysis/log-summary';

const failed: RunFacts = { status: 'failed', reason: 'step_failed', exitCode: 1, memoryMb: 256, timeoutSeconds: 60, network: 'none', image: 'orcaops/python' };
const MiB = 1024 * 1024;

describe('analyseLog', () => {
  it('names the exception, the innermost frame and the missing module', () => {
    const log = 'start\nTraceback (most recent call last):\n  File "/workspace/a.py", line 9, in <module>\n    main()\n  File "/workspace/b.py", line 2, in main\n    import numpy\nModuleNotFoundError: No module named \'numpy\'\n';
    const s = analyseLog(log, failed);
    expect(s).toMatchObject({ kind: 'python_exception', errorLine: 7 });
    expect(s.summary).toBe("ModuleNotFoundError: No module named 'numpy' (at /workspace/b.py:2 in main)");
    expect(s.suggestion).toContain('pip install numpy');
    expect(s.excerpt.map((e) => e.line)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(s.excerpt[6]!.text).toBe("ModuleNotFoundError: No module named 'numpy'");
  });

  it('keeps the innermost frame when other output lands inside the traceback (stdout and stderr interleave)', () => {
    const log = 'Traceback (most recent call last):\n  File "<string>", line 5, in <module>\nloading\n  File "<string>", line 4, in main\nModuleNotFoundError: No module named \'requests\'\n';
    expect(analyseLog(log, failed).summary).toBe("ModuleNotFoundError: No module named 'requests' (at <string>:4 in main)");
  });

  it('finds a traceback whose header follows a stdout line cut by its buffer flush', () => {
    const log = 'progress line 2986\nprogress line 29Traceback (most recent call last):\n  File "<string>", line 5, in <module>\n  File "<string>", line 4, in main\nModuleNotFoundError: No module named \'requests\'\n87\nprogress line 2988\n';
    expect(analyseLog(log, failed)).toMatchObject({ kind: 'python_exception', summary: "ModuleNotFoundError: No module named 'requests' (at <string>:4 in main)" });
  });

  it('takes OOM kills and timeouts from the record, not the text', () => {
    const oom = analyseLog('working\nall fine here\n', { ...failed, reason: 'oom_killed', exitCode: 137 });
    expect(oom).toMatchObject({ kind: 'oom_killed', errorLine: null });
    expect(oom.summary).toContain('256 MiB');
    expect(oom.suggestion).toContain('--memory 512m');
    expect(oom.excerpt.map((e) => e.text)).toEqual(['working', 'all fine here']);
    const slow = analyseLog('tick\n', { ...failed, status: 'timed_out', reason: 'timeout', exitCode: null });
    expect(slow).toMatchObject({ kind: 'timeout', errorLine: null });
    expect(slow.suggestion).toContain('--timeout 120');
  });

  it('says little about a success and falls back to the exit code and the tail', () => {
    expect(analyseLog('Traceback (most recent call last):\n', { ...failed, status: 'succeeded', reason: 'completed', exitCode: 0 }).kind).toBe('succeeded');
    const s = analyseLog('one\ntwo\nthree\n', { ...failed, exitCode: 3 });
    expect(s).toMatchObject({ kind: 'unknown', summary: 'failed with exit code 3', errorLine: null });
    expect(s.excerpt.map((e) => e.line)).toEqual([1, 2, 3]);
  });

  it('shows binary and non-UTF-8 output as printable text', () => {
    const log = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0x1b, 0x07, 0x0a]), Buffer.from('sh: foo: not found\n')]);
    const s = analyseLog(log, failed);
    expect(s).toMatchObject({ kind: 'command_not_found', errorLine: 2 });
    // Summary text goes to PostgreSQL, which refuses NUL: control characters become '?'.
    const nul = analyseLog(Buffer.from('error: bad \u0000 byte\n'), failed);
    expect(nul.summary).toBe('error: bad ? byte');
    const controls = (text: string): number[] => [...text].map((c) => c.charCodeAt(0)).filter((c) => (c < 0x20 && c !== 9) || c === 0x7f);
    for (const e of s.excerpt) expect(controls(e.text)).toEqual([]);
    expect(s.excerpt[0]!.text.startsWith('\ufffd')).toBe(true);
  });

  // Hostile shapes: binary, one endless line, every line a trigger word, long lines of '=' and escapes.
  const hostile: Record<string, (bytes: number) => Buffer> = {
    binary: (n) => randomBytes(n),
    'one line': (n) => Buffer.alloc(n, 'a'),
    tracebacks: (n) => repeat('Traceback (most recent call last):\n', n),
    stacks: (n) => repeat('Error: x\n    at f (/a.js:1:1)\n', n),
    equals: (n) => repeat(`${'='.repeat(5000)} failed in ${'='.repeat(5000)}\n`, n),
    escapes: (n) => repeat(`${'\u001b['.repeat(20_000)}\n`, n),
    ordinary: (n) => repeat('INFO 2026-12-07 an ordinary line of output, item 12345\n', n),
  };

  function repeat(unit: string, bytes: number): Buffer {
    return Buffer.from(unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes));
  }

  function fastest(log: Buffer, runs: number): number {
    let best = Infinity;
    for (let i = 0; i < runs; i++) {
      const started = process.hrtime.bigint();
      analyseLog(log, failed);
      best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e6);
    }
    return best;
  }

  it.each(Object.keys(hostile))('reads %s output up to the output cap in linear time and bounded results', (shape) => {
    const make = hostile[shape]!;
    // Linear, not quadratic: 4x the bytes costs well under 16x the time (the fastest of three runs, as
    // the machine is shared); a quadratic scan of 1 MiB would take seconds; the absolute bound only catches a hang.
    const small = fastest(make(MiB / 4), 3);
    const large = fastest(make(MiB), 3);
    expect(large).toBeLessThan(small * 8 + 250);
    const started = process.hrtime.bigint();
    const s = analyseLog(make(10 * MiB), failed);
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(30_000);
    expect(s.excerpt.length).toBeLessThanOrEqual(15);
    for (const e of s.excerpt) expect(e.text.length).toBeLessThanOrEqual(301);
    expect(s.summary.length).toBeLessThanOrEqual(300);
  });

  it('prefers the package manager failure over the exception it causes', () => {
    const log = 'ERROR: No matching distribution found for requets\nTraceback (most recent call last):\n  File "/a.py", line 1, in <module>\nModuleNotFoundError: No module named \'requests\'\n';
    expect(analyseLog(log, failed)).toMatchObject({ kind: 'pip_error', errorLine: 1 });
  });

  it('adds the test totals to a test runner summary', () => {
    const log = 'FAILED t/test_a.py::test_x - assert 1 == 2\n===== 1 failed, 2 passed in 0.1s =====\n';
    expect(analyseLog(log, failed).summary).toBe('pytest: 1 failed, 2 passed in 0.1s; first: pytest: FAILED t/test_a.py::test_x - assert 1 == 2');
  });
});
