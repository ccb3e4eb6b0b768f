import { analyseLog } from 'src/log-analysis/analyse-log';
import type { RunFacts } from 'src/log-analysis/log-summary';
import type { OutputChunk } from 'src/log-analysis/stream-lines';
import { joinStreamLines, mapRuns } from 'src/log-analysis/stream-lines';

const failed: RunFacts = { status: 'failed', reason: 'step_failed', exitCode: 1 };
const out = (data: string, step = 0): OutputChunk => ({ step, stream: 'stdout', data: Buffer.from(data) });
const err = (data: string, step = 0): OutputChunk => ({ step, stream: 'stderr', data: Buffer.from(data) });
const progress = (from: number, to: number): string => Array.from({ length: to - from }, (_, i) => `progress line ${from + i}\n`).join('');

describe('joinStreamLines', () => {
  it('keeps each stream`s lines whole when the other stream lands inside one', () => {
    const joined = joinStreamLines([out('a1\na2-'), err('E1\n'), out('cont\n'), err('E2\n')]);
    expect(joined.bytes.toString()).toBe('a1\nE1\na2-cont\nE2\n');
    expect(joined.runs).toEqual([
      { offset: 0, source: 0 },
      { offset: 3, source: 1 },
      { offset: 6, source: 0 },
      { offset: 14, source: 1 },
    ]);
  });

  it('ends a held partial line at a system line, at another step and at the end', () => {
    const joined = joinStreamLines([out('no newline'), { step: -1, stream: 'system', data: Buffer.from('[orcaops] step 2\n') }, out('x', 1), out('y\n', 2), err('tail', 2)]);
    expect(joined.bytes.toString()).toBe('no newline\n[orcaops] step 2\nx\ny\ntail\n');
  });

  it('moves the runs with a transform that changes lengths (masking)', () => {
    const joined = mapRuns(joinStreamLines([out('token=abc\n'), err('boom abc\n')]), (b) => Buffer.from(b.toString().replaceAll('abc', '*****')));
    expect(joined.bytes.toString()).toBe('token=*****\nboom *****\n');
    expect(joined.runs).toEqual([
      { offset: 0, source: 0 },
      { offset: 12, source: 1 },
    ]);
  });
});

describe('analyseLog on joined streams', () => {
  // What the engine delivered in a failed CI run: python's stdout, flushed in 8 KiB blocks, partly copied
  // after the stderr traceback had begun, and cut mid-line.
  const chunks = [
    out(progress(0, 2986) + 'progress line 29'),
    err('Traceback (most recent call last):\n'),
    err('  File "<string>", line 5, in <module>\n'),
    out('86\n' + progress(2987, 2999) + 'progress li'),
    err('  File "<string>", line 4, in main\n'),
    out('ne 2999\n'),
    err("ModuleNotFoundError: No module named 'requests'\n"),
  ];

  it('reads the traceback past a block of stdout inside it', () => {
    const s = analyseLog(joinStreamLines(chunks), failed);
    expect(s).toMatchObject({ kind: 'python_exception', summary: "ModuleNotFoundError: No module named 'requests' (at <string>:4 in main)" });
    expect(s.suggestion).toContain('pip install requests');
  });

  it('loses that traceback when the streams are merged byte by byte (why the lines are joined)', () => {
    const merged = Buffer.concat(chunks.map((c) => c.data));
    expect(analyseLog(merged, failed).kind).not.toBe('python_exception');
  });
});
