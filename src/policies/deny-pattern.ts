import { RE2JS } from 're2js';

/**
 * Command deny patterns run on RE2 (re2js), a linear-time engine: a pattern an admin writes cannot
 * make one evaluation backtrack exponentially and hold the event loop (issue 19). RE2 has no
 * backreferences or lookaround; such patterns are refused when the policy is saved. Time is linear in
 * the text times the pattern's program size, so the program size is bounded too.
 */

/** Compiled RE2 instructions one pattern may have (`\w{1,999}` is ~2,000; `rm\s+-rf` is 9). */
export const MAX_PATTERN_PROGRAM = 500;
/** Compiled RE2 instructions all patterns of one policy document may have together. */
export const MAX_DOCUMENT_PROGRAM = 2_000;

/** Sum of the repeat counts (`{n}`, `{n,m}`) one pattern may have: checked before compiling, which costs as much as the program is large. */
export const MAX_REPEAT_TOTAL = 250;

export type CompiledPattern = { ok: true; regex: RE2JS; size: number } | { ok: false; problem: string };

const cache = new Map<string, CompiledPattern>();
const CACHE_ENTRIES = 1_000;

function programSize(regex: RE2JS): number {
  // re2js keeps the compiled program on its RE2 instance; not in the typings.
  const inner = regex as unknown as { re2Input?: { prog?: { inst?: unknown[] } } };
  return inner.re2Input?.prog?.inst?.length ?? 0;
}

function repeatTotal(source: string): number {
  let total = 0;
  for (const match of source.matchAll(/\{(\d{1,6})(?:,(\d{0,6}))?\}/g)) total += Math.max(Number(match[1]), Number(match[2] || 0));
  return total;
}

function compile(source: string): CompiledPattern {
  const repeats = repeatTotal(source);
  if (repeats > MAX_REPEAT_TOTAL) {
    return { ok: false, problem: `regular expression too complex: its repeat counts add up to ${repeats}, the limit is ${MAX_REPEAT_TOTAL}` };
  }
  let regex: RE2JS;
  try {
    regex = RE2JS.compile(source);
  } catch (error) {
    const reason = (error as Error).message.replace(/^error parsing regexp: /, '');
    return { ok: false, problem: `invalid regular expression (RE2 syntax: no backreferences or lookaround): ${reason}` };
  }
  const size = programSize(regex);
  if (size > MAX_PATTERN_PROGRAM) {
    return { ok: false, problem: `regular expression too complex: ${size} compiled instructions, the limit is ${MAX_PATTERN_PROGRAM} (use smaller repeat counts)` };
  }
  return { ok: true, regex, size };
}

/** The pattern compiled once per process (policies are re-read every few seconds, patterns rarely change). */
export function compileDenyPattern(source: string): CompiledPattern {
  let compiled = cache.get(source);
  if (!compiled) {
    compiled = compile(source);
    if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
    cache.set(source, compiled);
  }
  return compiled;
}
