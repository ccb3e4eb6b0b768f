import picomatch from 'picomatch';
import { RE2JS } from 're2js';

/**
 * Image globs (picomatch syntax) matched in linear time. picomatch compiles a glob to a backtracking
 * JavaScript regex, and `*a*a*a*c` against a 31-character image takes 16 s (issue 19), so its regex
 * runs on RE2 instead. RE2 has no lookaround: the three guards picomatch adds so that a wildcard never
 * matches an empty or dot-leading path segment are dropped, which changes nothing for image
 * references (the engine refuses empty and dot-leading components). Globs that need real lookaround
 * (negation, `!(…)`) are refused on save.
 */

const DOT_GUARDS = ['(?!(?:^|\\/)\\.)', '(?!\\.)', '(?=.)'];
/** Compiled RE2 instructions of one glob (a 256-character glob of braces and classes stays far below). */
const MAX_GLOB_PROGRAM = 2_000;

export type CompiledGlob = { ok: true; matches: (text: string) => boolean } | { ok: false; problem: string };

const cache = new Map<string, CompiledGlob>();
const CACHE_ENTRIES = 1_000;

function compile(glob: string): CompiledGlob {
  let source: string;
  try {
    source = picomatch.makeRe(glob).source;
  } catch (error) {
    return { ok: false, problem: `invalid glob: ${(error as Error).message}` };
  }
  for (const guard of DOT_GUARDS) source = source.split(guard).join('');
  if (/\(\?[=!<]/.test(source)) return { ok: false, problem: 'unsupported glob: negation (!(…)) cannot be matched in linear time' };
  let regex: RE2JS;
  try {
    regex = RE2JS.compile(source);
  } catch (error) {
    return { ok: false, problem: `unsupported glob: ${(error as Error).message}` };
  }
  const size = (regex as unknown as { re2Input?: { prog?: { inst?: unknown[] } } }).re2Input?.prog?.inst?.length ?? 0;
  if (size > MAX_GLOB_PROGRAM) return { ok: false, problem: `glob too complex: ${size} compiled instructions, the limit is ${MAX_GLOB_PROGRAM}` };
  return { ok: true, matches: (text) => regex.matches(text) };
}

/** The glob compiled once per process. */
export function compileImageGlob(glob: string): CompiledGlob {
  let compiled = cache.get(glob);
  if (!compiled) {
    compiled = compile(glob);
    if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
    cache.set(glob, compiled);
  }
  return compiled;
}
