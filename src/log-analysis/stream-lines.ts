/** One stored piece of a job's output, in the order it arrived. */
export interface OutputChunk {
  step: number;
  stream: string;
  data: Buffer;
}

/** Where a run of whole lines from one source (a step's stdout, its stderr, system lines) starts. */
export interface SourceRun {
  offset: number;
  source: number;
}

/** A job's output as whole lines, with the source of every line (see joinStreamLines). */
export interface SourcedOutput {
  bytes: Buffer;
  /** Ordered by offset; the first starts at 0 when there is any output. */
  runs: SourceRun[];
}

/**
 * The output as whole lines in arrival order. The engine copies stdout and stderr separately, so a
 * program's streams interleave at arbitrary byte positions: a stdout line cut by its buffer flush can have
 * a stderr line glued to its end, and a whole block of stdout can land inside a stderr traceback. Each
 * source's partial line is held until its newline (or until a system line, another step or the end), and
 * every line keeps its source, so the analysis can read a traceback without the other stream's lines.
 * Linear in the output's size.
 */
export function joinStreamLines(chunks: Iterable<OutputChunk>): SourcedOutput {
  const parts: Buffer[] = [];
  const runs: SourceRun[] = [];
  const ids = new Map<string, number>();
  const held = new Map<number, { step: number; parts: Buffer[] }>();
  let size = 0;
  const emit = (source: number, pieces: Buffer[]): void => {
    if (runs.length === 0 || runs[runs.length - 1]!.source !== source) runs.push({ offset: size, source });
    for (const p of pieces) {
      parts.push(p);
      size += p.length;
    }
  };
  const release = (keep?: (step: number) => boolean): void => {
    for (const [source, partial] of held) {
      if (keep?.(partial.step)) continue;
      held.delete(source);
      emit(source, [...partial.parts, NEWLINE]);
    }
  };
  for (const chunk of chunks) {
    const key = `${chunk.step}:${chunk.stream}`;
    let source = ids.get(key);
    if (source === undefined) ids.set(key, (source = ids.size));
    if (chunk.stream === 'system') {
      release();
      emit(source, [chunk.data]);
      continue;
    }
    release((step) => step === chunk.step);
    const nl = chunk.data.lastIndexOf(10);
    const partial = held.get(source);
    if (nl < 0) {
      if (partial) partial.parts.push(chunk.data);
      else held.set(source, { step: chunk.step, parts: [chunk.data] });
      continue;
    }
    emit(source, [...(partial?.parts ?? []), chunk.data.subarray(0, nl + 1)]);
    if (nl + 1 < chunk.data.length) held.set(source, { step: chunk.step, parts: [chunk.data.subarray(nl + 1)] });
    else held.delete(source);
  }
  release();
  return { bytes: Buffer.concat(parts, size), runs };
}

const NEWLINE = Buffer.from('\n');

/** The output with each run's bytes transformed (masking, which may change lengths); runs move with them. */
export function mapRuns(output: SourcedOutput, transform: (bytes: Buffer) => Buffer): SourcedOutput {
  if (output.runs.length === 0) return { bytes: transform(output.bytes), runs: [] };
  const parts: Buffer[] = [];
  const runs: SourceRun[] = [];
  let size = 0;
  output.runs.forEach((run, i) => {
    const part = transform(output.bytes.subarray(run.offset, output.runs[i + 1]?.offset ?? output.bytes.length));
    runs.push({ offset: size, source: run.source });
    parts.push(part);
    size += part.length;
  });
  return { bytes: Buffer.concat(parts, size), runs };
}
