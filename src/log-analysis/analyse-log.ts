import type { Candidate, CandidateInput } from 'src/log-analysis/detectors';
import { Detectors } from 'src/log-analysis/detectors';
import { countLines, lineEnd, linesBack, matchable, MAX_MATCH_CHARS, printable } from 'src/log-analysis/lines';
import type { ExcerptLine, LogSummary, RunFacts } from 'src/log-analysis/log-summary';
import type { SourcedOutput, SourceRun } from 'src/log-analysis/stream-lines';
import { raiseMemory, raiseTimeout } from 'src/log-analysis/suggestions';

/** The most output analysed: the tail, when a log is longer (the job output cap is 10 MiB). */
export const MAX_ANALYSED_BYTES = 16 * 1024 * 1024;
const MAX_EXCERPT_LINES = 15;
const TAIL_LINES = 5;
const MAX_SUMMARY_CHARS = 300;
/**
 * Lines the detectors read in full, at most, from the start and again from the last TAIL_WINDOW bytes:
 * output made only of trigger words (a tenant's choice) costs this many line reads, not one per line.
 */
const MAX_VISITS = 10_000;
const TAIL_WINDOW = 256 * 1024;

/**
 * Every line a detector starts on holds one of these words. The scan jumps from one to the next with one
 * native search over literals (no quantifiers, so no backtracking) and reads only those lines and the
 * lines a multi-line report needs (a detector is busy). Each word costs about 0.1 ms per MiB, so only
 * words that start a report are here; ordinary output costs a search, not a detector run, per line.
 */
const TRIGGER = /Traceback|rror|RROR|xception|panic|atal|ATAL|FAIL|ailed|No module|Retrying|ERR!|E: |\.go:|not found|No such|denied|Read-only|Segmentation|\u00e2\u0097\u008f/g;

interface Tracked extends Candidate {
  offset: number;
}

const PLATFORM_HINTS: Record<string, string> = {
  image_not_found: 'the image is not on the engine: build it (orcaops images build) or use another image',
  engine_unavailable: 'the container engine did not answer: retry, or ask an operator to check the engine',
  policy_denied: 'a workspace policy refused the job: see the message, or ask an admin about the policy',
  approval_rejected: 'an approver rejected the job',
  approval_expired: 'nobody approved the job in time: submit it again',
  interrupted: 'the server stopped while the job ran: run it again',
};

/**
 * One pass over a job's output (stdout and stderr as they interleaved): the error line that matters, the
 * lines around it and a suggestion, combined with the run record (OOM kills and timeouts come from the
 * record, never the text). Linear in the log's length with a fixed amount of state; binary or non-UTF-8
 * bytes are shown as `?` or replacement characters. A job's output comes as whole lines with their sources
 * (joinStreamLines), so a traceback on stderr is read past the stdout lines that landed inside it. Mask
 * secrets in `log` before calling.
 */
export function analyseLog(log: Buffer | string | SourcedOutput, facts: RunFacts): LogSummary {
  if (facts.status === 'succeeded') return { kind: 'succeeded', summary: 'succeeded', errorLine: null, excerpt: [], suggestion: null };
  const sourced = typeof log !== 'string' && !Buffer.isBuffer(log) ? log : null;
  let bytes = typeof log === 'string' ? Buffer.from(log, 'utf8') : Buffer.isBuffer(log) ? log : log.bytes;
  let runs = sourced?.runs ?? [];
  if (bytes.length > MAX_ANALYSED_BYTES) {
    const cut = bytes.length - MAX_ANALYSED_BYTES;
    bytes = bytes.subarray(cut);
    runs = tailRuns(runs, cut);
  }
  const text = bytes.toString('latin1');
  const { best, lines, totals } = scan(text, facts, runs);
  const tail = excerptOf(bytes, text, lines, text.length === 0 ? 0 : lastLineStart(text), TAIL_LINES - 1, 0);
  const excerpt = best ? excerptOf(bytes, text, best.line, best.offset, best.before, best.after) : tail;
  const found = best ? oneLine(utf8(totals && isRunner(best.kind) ? `${totals}; first: ${best.summary}` : best.summary)) : null;
  const suggestion = best?.suggestion ? printableText(utf8(best.suggestion)) : null;
  return (
    fromRecord(facts, best !== null, found, excerpt, tail) ?? {
      kind: best?.kind ?? 'unknown',
      summary: found ?? oneLine(facts.exitCode !== null ? `failed with exit code ${facts.exitCode}${facts.message ? `: ${facts.message}` : ''}` : (facts.message ?? facts.reason ?? facts.status)),
      errorLine: best?.line ?? null,
      excerpt,
      suggestion,
    }
  );
}

function scan(text: string, facts: RunFacts, runs: SourceRun[]): { best: Tracked | null; lines: number; totals: string | null } {
  let best: Tracked | null = null;
  // The run holding the current line: offsets only grow, so one pointer moves forward.
  let run = 0;
  const sourceAt = (at: number): number | undefined => {
    while (run + 1 < runs.length && runs[run + 1]!.offset <= at) run++;
    return runs[run]?.source;
  };
  let lineNo = 0;
  let offset = 0;
  let lineStart = 0;
  const offer = (input: CandidateInput): Candidate => {
    const line = input.line ?? lineNo;
    const c: Tracked = { before: 3, after: 2, ...input, line, offset: line === lineNo ? lineStart : linesBack(text, lineStart, lineNo - line).offset };
    if (!best || c.priority > best.priority || (c.priority === best.priority && c.lastWins)) best = c;
    return c;
  };
  const detectors = new Detectors(facts, offer);
  const trigger = new RegExp(TRIGGER.source, 'g');
  let visits = 0;
  let jumped = false;
  while (offset < text.length) {
    if (++visits > MAX_VISITS) {
      const tail = text.lastIndexOf('\n', text.length - TAIL_WINDOW) + 1;
      if (jumped || tail <= offset) {
        lineNo += countLines(text, offset, text.length);
        break;
      }
      lineNo += countLines(text, offset, tail);
      offset = tail;
      visits = 0;
      jumped = true;
    }
    if (!detectors.busy(lineNo + 1)) {
      trigger.lastIndex = offset;
      const hit = trigger.exec(text);
      if (!hit) {
        lineNo += countLines(text, offset, text.length);
        break;
      }
      const start = text.lastIndexOf('\n', hit.index) + 1;
      lineNo += countLines(text, offset, start);
      offset = start;
    }
    const end = lineEnd(text, offset);
    lineNo++;
    lineStart = offset;
    detectors.visit(lineNo, matchable(text.slice(offset, Math.min(end, offset + MAX_MATCH_CHARS * 4))), sourceAt(offset));
    offset = end + 1;
  }
  detectors.finish();
  return { best, lines: lineNo, totals: detectors.totals };
}

/** The runs of the last bytes after the first `cut` bytes are dropped. */
function tailRuns(runs: SourceRun[], cut: number): SourceRun[] {
  const out: SourceRun[] = [];
  for (let i = 0; i < runs.length; i++) {
    const next = runs[i + 1];
    if (next && next.offset <= cut) continue;
    out.push({ offset: Math.max(0, runs[i]!.offset - cut), source: runs[i]!.source });
  }
  return out;
}

function lastLineStart(text: string): number {
  return text.lastIndexOf('\n', text.length - 2) + 1;
}

/** Lines line-before .. line+after (at most MAX_EXCERPT_LINES), decoded as UTF-8 from the original bytes. */
function excerptOf(bytes: Buffer, text: string, line: number, offset: number, before: number, after: number): ExcerptLine[] {
  if (line === 0) return [];
  const back = linesBack(text, offset, before);
  const out: ExcerptLine[] = [];
  let at = back.offset;
  for (let n = line - back.moved; n <= line + after && out.length < MAX_EXCERPT_LINES && at < text.length; n++) {
    const end = lineEnd(text, at);
    out.push({ line: n, text: printable(matchable(bytes.toString('utf8', at, Math.min(end, at + MAX_MATCH_CHARS * 4)))) });
    at = end + 1;
  }
  return out;
}

/** Text read as Latin-1 back to what it was (ASCII literals are unchanged). */
function utf8(latin1: string): string {
  return Buffer.from(latin1, 'latin1').toString('utf8');
}

/** Outcomes the record explains better than the text. */
function fromRecord(facts: RunFacts, matched: boolean, found: string | null, excerpt: ExcerptLine[], tail: ExcerptLine[]): LogSummary | null {
  const also = found ? `; last error in the output: ${found}` : '';
  if (facts.reason === 'oom_killed') {
    const limit = facts.memoryMb ? ` at the ${facts.memoryMb} MiB limit` : '';
    return { kind: 'oom_killed', summary: oneLine(`out of memory: killed by the memory limit${limit}${also}`), errorLine: null, excerpt: matched ? excerpt : tail, suggestion: raiseMemory(facts) };
  }
  if (facts.reason === 'timeout' || facts.status === 'timed_out') {
    const after = facts.timeoutSeconds ? ` after ${facts.timeoutSeconds} s` : '';
    return { kind: 'timeout', summary: oneLine(`timed out${after}; the last lines show what it was doing`), errorLine: null, excerpt: tail, suggestion: raiseTimeout(facts) };
  }
  if (facts.reason === 'cancelled' || facts.status === 'cancelled') {
    return { kind: 'cancelled', summary: oneLine(facts.message ?? 'cancelled'), errorLine: null, excerpt: tail, suggestion: null };
  }
  if (facts.reason && facts.reason !== 'step_failed' && facts.reason !== 'completed') {
    return { kind: 'platform', summary: oneLine(`${facts.reason}${facts.message ? `: ${facts.message}` : ''}`), errorLine: null, excerpt: tail, suggestion: PLATFORM_HINTS[facts.reason] ?? null };
  }
  return null;
}

function isRunner(kind: string): boolean {
  return kind === 'pytest_failure' || kind === 'jest_failure' || kind === 'go_test_failure';
}

/** One printable line (no control characters: PostgreSQL text cannot hold NUL), at most MAX_SUMMARY_CHARS. */
function oneLine(text: string): string {
  const flat = printableText(text).replace(/\s+/g, ' ').trim();
  return flat.length > MAX_SUMMARY_CHARS ? `${flat.slice(0, MAX_SUMMARY_CHARS - 1)}…` : flat;
}

function printableText(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out += c < 0x20 || c === 0x7f ? (c === 9 || c === 10 || c === 13 ? ' ' : '?') : text[i];
  }
  return out;
}
