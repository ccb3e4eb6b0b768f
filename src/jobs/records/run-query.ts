import type { JobReason, JobStatus } from 'src/jobs/job-model';
import { JOB_REASONS, JOB_STATUSES } from 'src/jobs/job-model';

/**
 * The run search syntax of the CLI and MCP (docs/run-records.md#query-syntax), parsed without I/O:
 *
 *   status:failed,timed_out image:orcaops/python* duration>30s exit:1 tag:nightly meta.branch:main
 *   since:7d until:2026-12-01 "Traceback (most recent"  ModuleNotFoundError
 *
 * Terms are ANDed; a comma list is an OR of values; quoted or bare words search the output.
 */
export type Comparison = '=' | '>' | '>=' | '<' | '<=';

export type RunFilter =
  | { field: 'status'; values: JobStatus[] }
  | { field: 'reason'; values: JobReason[] }
  | { field: 'image'; pattern: string }
  | { field: 'fingerprint'; prefix: string }
  | { field: 'tag'; value: string }
  | { field: 'triggered_by'; value: string }
  | { field: 'session'; value: string }
  | { field: 'exit'; op: Comparison; value: number }
  | { field: 'duration'; op: Comparison; ms: number }
  | { field: 'created'; op: Comparison; at: Date }
  | { field: 'meta'; key: string; value: string };

export interface RunQuery {
  filters: RunFilter[];
  /** Substrings the output must contain (case-insensitive), all of them. */
  text: string[];
}

export const QUERY_LIMITS = { maxLength: 1000, maxTerms: 24, minText: 3, maxText: 200 } as const;

/** A malformed query: where (0-based character offset), which token, and what was expected there. */
export class RunQueryError extends Error {
  constructor(
    readonly position: number,
    readonly token: string,
    readonly expected: string,
  ) {
    super(`at position ${position} (${JSON.stringify(token)}): expected ${expected}`);
  }
}

interface Token {
  position: number;
  raw: string;
  key?: string;
  op?: Comparison | ':';
  value: string;
}

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*/;
const OPS: Array<Comparison | ':'> = ['>=', '<=', ':', '>', '<', '='];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const EARLIEST = Date.UTC(2000, 0, 1);
const LATEST = Date.UTC(2100, 0, 1);

export function parseRunQuery(input: string, now = new Date()): RunQuery {
  if (input.length > QUERY_LIMITS.maxLength) throw new RunQueryError(QUERY_LIMITS.maxLength, input.slice(QUERY_LIMITS.maxLength, QUERY_LIMITS.maxLength + 10), `a query of at most ${QUERY_LIMITS.maxLength} characters`);
  const tokens = tokenize(input);
  if (tokens.length > QUERY_LIMITS.maxTerms) throw new RunQueryError(tokens[QUERY_LIMITS.maxTerms]!.position, tokens[QUERY_LIMITS.maxTerms]!.raw, `at most ${QUERY_LIMITS.maxTerms} terms`);
  const query: RunQuery = { filters: [], text: [] };
  for (const token of tokens) {
    if (token.key === undefined) query.text.push(textTerm(token));
    else query.filters.push(filterFor(token, now));
  }
  return query;
}

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    if (/\s/.test(input[i]!)) {
      i++;
      continue;
    }
    const start = i;
    if (input[i] === '"') {
      const [value, end] = quoted(input, i);
      tokens.push({ position: start, raw: input.slice(start, end), value });
      i = end;
      continue;
    }
    const key = KEY.exec(input.slice(i))?.[0];
    const op = key ? OPS.find((o) => input.startsWith(o, i + key.length)) : undefined;
    if (!key || !op) {
      const end = wordEnd(input, i);
      tokens.push({ position: start, raw: input.slice(start, end), value: input.slice(start, end) });
      i = end;
      continue;
    }
    i += key.length + op.length;
    let value: string;
    if (input[i] === '"') [value, i] = quoted(input, i);
    else {
      const end = wordEnd(input, i);
      value = input.slice(i, end);
      i = end;
    }
    const raw = input.slice(start, i);
    if (!value) throw new RunQueryError(start, raw, `a value after "${key}${op}"`);
    tokens.push({ position: start, raw, key: key.toLowerCase(), op, value });
  }
  return tokens;
}

function wordEnd(input: string, from: number): number {
  let end = from;
  while (end < input.length && !/\s/.test(input[end]!)) end++;
  return end;
}

/** A double-quoted string starting at `start`; \" and \\ are escapes. Returns the value and the index after it. */
function quoted(input: string, start: number): [string, number] {
  let value = '';
  for (let i = start + 1; i < input.length; i++) {
    const c = input[i]!;
    if (c === '\\' && (input[i + 1] === '"' || input[i + 1] === '\\')) value += input[++i];
    else if (c === '"') return [value, i + 1];
    else value += c;
  }
  throw new RunQueryError(start, input.slice(start, start + 20), 'a closing double quote');
}

function textTerm(token: Token): string {
  const length = [...token.value].length;
  // Shorter than a trigram, the log index cannot be used: the search would read every chunk.
  if (length < QUERY_LIMITS.minText || length > QUERY_LIMITS.maxText) {
    throw new RunQueryError(token.position, token.raw, `a search text of ${QUERY_LIMITS.minText}–${QUERY_LIMITS.maxText} characters, or a filter like status:failed`);
  }
  return token.value;
}

function filterFor(token: Token, now: Date): RunFilter {
  const { key = '', op, value } = token;
  const fail = (expected: string): never => {
    throw new RunQueryError(token.position, token.raw, expected);
  };
  const colonOnly = (): void => void (op !== ':' && fail(`"${key}:" (this field takes no comparison)`));
  if (key.startsWith('meta.') || key.startsWith('metadata.')) {
    colonOnly();
    // Metadata keys are case-sensitive: taken from the raw token, not the lower-cased field name.
    const metaKey = token.raw.slice(token.raw.indexOf('.') + 1, key.length);
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(metaKey)) fail('a metadata key of 1–64 letters, digits, "_", "." or "-"');
    return { field: 'meta', key: metaKey, value: bounded(value, 256, fail) };
  }
  switch (key) {
    case 'status':
      colonOnly();
      return { field: 'status', values: oneOf(value, JOB_STATUSES, fail) };
    case 'reason':
      colonOnly();
      return { field: 'reason', values: oneOf(value, JOB_REASONS, fail) };
    case 'image':
      colonOnly();
      if (!/^[a-z0-9*][a-z0-9._\-/:@*]{0,255}$/.test(value)) fail('an image name, with * as a wildcard (image:orcaops/python*)');
      return { field: 'image', pattern: value };
    case 'fingerprint':
    case 'fp':
      colonOnly();
      if (!/^[a-f0-9]{8,64}$/.test(value)) fail('8–64 hex digits of a fingerprint');
      return { field: 'fingerprint', prefix: value };
    case 'tag':
      colonOnly();
      return { field: 'tag', value: bounded(value, 64, fail) };
    case 'triggered_by':
    case 'by':
      colonOnly();
      return { field: 'triggered_by', value: bounded(value, 64, fail) };
    case 'session':
      colonOnly();
      if (!UUID.test(value)) fail('a session id (UUID)');
      return { field: 'session', value: value.toLowerCase() };
    case 'exit':
    case 'exit_code':
      if (!/^-?\d{1,3}$/.test(value)) fail('an exit code (an integer, e.g. exit:1 or exit>0)');
      return { field: 'exit', op: comparison(op), value: Number(value) };
    case 'duration': {
      if (op === ':' || op === '=') fail('a comparison: duration>30s, duration<=5m');
      const ms = durationMs(value);
      if (ms === undefined) fail('a duration like 500ms, 30s, 5m, 2h or 1d (at most 366d)');
      return { field: 'duration', op: comparison(op), ms: ms! };
    }
    case 'created':
    case 'since':
    case 'until': {
      const at = timeOf(value, now);
      if (!at) fail('a time: ISO 8601 (2026-12-01, 2026-12-01T10:00Z) or an age like 30m, 24h, 7d');
      const cmp: Comparison = key === 'since' ? '>=' : key === 'until' ? '<' : comparison(op);
      if (key !== 'created' && op !== ':') fail(`"${key}:"`);
      return { field: 'created', op: cmp, at: at! };
    }
    default:
      return fail('a field: status, reason, image, fingerprint, tag, triggered_by, session, exit, duration, created, since, until or meta.KEY');
  }
}

function comparison(op: Token['op']): Comparison {
  return op === ':' || op === undefined ? '=' : op;
}

function bounded(value: string, max: number, fail: (expected: string) => never): string {
  if (value.length > max) fail(`a value of at most ${max} characters`);
  return value;
}

function oneOf<T extends string>(value: string, allowed: readonly T[], fail: (expected: string) => never): T[] {
  const values = value.split(',');
  for (const v of values) if (!allowed.includes(v as T)) fail(`one of ${allowed.join(', ')} (comma-separated for several)`);
  return [...new Set(values as T[])];
}

export function durationMs(value: string): number | undefined {
  const match = DURATION.exec(value);
  if (!match) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2]!]!;
  return ms <= 366 * UNIT_MS.d! ? Math.round(ms) : undefined;
}

/** An ISO time, or an age before `now` (7d = seven days ago); bounded to 2000–2100. */
function timeOf(value: string, now: Date): Date | undefined {
  const age = durationMs(value);
  const at = age !== undefined ? new Date(now.getTime() - age) : /^\d{4}-\d{2}-\d{2}/.test(value) ? new Date(value) : undefined;
  if (!at || Number.isNaN(at.getTime()) || at.getTime() < EARLIEST || at.getTime() > LATEST) return undefined;
  return at;
}
