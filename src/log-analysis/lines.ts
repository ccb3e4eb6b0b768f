/** Longest part of a line the detectors look at: a 10 MiB line without a newline costs one slice. */
export const MAX_MATCH_CHARS = 1024;
/** Longest line kept in an excerpt. */
export const MAX_EXCERPT_CHARS = 300;

/**
 * The part of a raw line the detectors match: the last carriage-return segment (progress bars), ANSI
 * colour codes removed, at most MAX_MATCH_CHARS. Linear in the line length, no regular expression.
 */
export function matchable(raw: string): string {
  let line = raw.length > MAX_MATCH_CHARS * 4 ? raw.slice(0, MAX_MATCH_CHARS * 4) : raw;
  if (line.endsWith('\r')) line = line.slice(0, -1);
  const cr = line.lastIndexOf('\r');
  if (cr >= 0) line = line.slice(cr + 1);
  if (line.includes('\u001b')) line = stripAnsi(line);
  return line.length > MAX_MATCH_CHARS ? line.slice(0, MAX_MATCH_CHARS) : line;
}

function stripAnsi(line: string): string {
  const parts: string[] = [];
  let from = 0;
  for (let i = line.indexOf('\u001b'); i >= 0; i = line.indexOf('\u001b', from)) {
    parts.push(line.slice(from, i));
    let j = i + 1;
    if (line[j] === '[') {
      j++;
      // Parameters and intermediates until the final byte (@ to ~).
      while (j < line.length && !(line.charCodeAt(j) >= 0x40 && line.charCodeAt(j) <= 0x7e)) j++;
      j++;
    }
    from = j;
  }
  parts.push(line.slice(from));
  return parts.join('');
}

/** A line as shown in an excerpt: printable, bounded. */
export function printable(line: string): string {
  let out = '';
  const end = Math.min(line.length, MAX_EXCERPT_CHARS);
  for (let i = 0; i < end; i++) {
    const c = line.charCodeAt(i);
    out += c === 9 || (c >= 0x20 && c !== 0x7f && (c < 0x80 || c > 0x9f)) ? line[i] : '?';
  }
  return line.length > MAX_EXCERPT_CHARS ? `${out}…` : out;
}

/** The end of the line that starts at `offset` (its newline, or the end of the text). */
export function lineEnd(text: string, offset: number): number {
  const end = text.indexOf('\n', offset);
  return end < 0 ? text.length : end;
}

/** The start of the line `n` lines above the line that starts at `offset` (stops at the first line). */
export function linesBack(text: string, offset: number, n: number): { offset: number; moved: number } {
  let at = offset;
  let moved = 0;
  while (moved < n && at > 0) {
    at = text.lastIndexOf('\n', at - 2) + 1;
    moved++;
  }
  return { offset: at, moved };
}

/** How many lines start in [from, to) of `text` (`from` is a line start). */
export function countLines(text: string, from: number, to: number): number {
  let n = 0;
  let at = from;
  while (at < to) {
    n++;
    const nl = text.indexOf('\n', at);
    if (nl < 0) break;
    at = nl + 1;
  }
  return n;
}
