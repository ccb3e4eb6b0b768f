import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

function parts(version: string): number[] {
  return version
    .replace(/^v/, '')
    .split('.')
    .map((p) => Number.parseInt(p, 10) || 0);
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
    const diff = (a[i] ?? 0) - (b[i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}

/**
 * Whether `version` satisfies an engines range made of `>=x.y.z` / `>x.y.z` / `<x.y.z` / `<=x.y.z`
 * comparators joined by spaces. undefined when the range uses anything else (not guessed at).
 */
export function satisfiesRange(version: string, range: string): boolean | undefined {
  const comparators = range.trim().split(/\s+/).filter(Boolean);
  if (comparators.length === 0) return undefined;
  const results = comparators.map((comparator) => {
    const match = /^(>=|>|<=|<)v?(\d+(?:\.\d+){0,2})$/.exec(comparator);
    if (!match?.[1] || !match[2]) return undefined;
    const order = compare(parts(version), parts(match[2]));
    return { '>=': order >= 0, '>': order > 0, '<=': order <= 0, '<': order < 0 }[match[1]];
  });
  return results.includes(undefined) ? undefined : results.every(Boolean);
}

/** package.json "engines.node" of this checkout, found by walking up from the compiled or source file. */
export function requiredNodeRange(from = __dirname): string | undefined {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; engines?: { node?: string } };
    if (pkg.name === 'orcaops') return pkg.engines?.node;
  }
  return undefined;
}
