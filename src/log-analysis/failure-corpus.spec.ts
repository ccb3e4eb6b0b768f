/**
 * The labelled failure corpus (test/fixtures/failure-logs, written for these tests across the ecosystems
 * the analysis knows): the summary must pick the labelled error line in at least 90% of the logs. The
 * score is printed; each miss is listed so a regression says which log it broke.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { analyseLog } from 'src/log-analysis/analyse-log';
import { matchable } from 'src/log-analysis/lines';
import type { RunFacts } from 'src/log-analysis/log-summary';

interface Label {
  kind: string;
  /** The exact text of the error line (unique in its log); absent when the record explains the failure. */
  line?: string;
  record?: Partial<RunFacts>;
  /** A substring the suggestion must contain. */
  suggests?: string;
}

const DIR = join(__dirname, '..', '..', 'test', 'fixtures', 'failure-logs');
const LABELS = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Record<string, Label>;

function lineNumberOf(log: Buffer, text: string): number {
  // Labels are the text as matched (colour codes removed).
  const lines = log.toString('utf8').split('\n').map(matchable);
  const at = lines.findIndex((l) => l === text);
  if (at < 0 || lines.indexOf(text, at + 1) >= 0) throw new Error(`label line must occur exactly once: ${text}`);
  return at + 1;
}

function grade(file: string, label: Label): string[] {
  const log = readFileSync(join(DIR, file));
  const facts: RunFacts = { status: 'failed', reason: 'step_failed', exitCode: 1, memoryMb: 512, timeoutSeconds: 600, network: 'none', image: 'orcaops/python', ...label.record };
  const s = analyseLog(log, facts);
  const problems: string[] = [];
  const want = label.line === undefined ? null : lineNumberOf(log, label.line);
  if (s.errorLine !== want) problems.push(`error line ${s.errorLine}, want ${want}`);
  if (s.kind !== label.kind) problems.push(`kind ${s.kind}, want ${label.kind}`);
  if (label.suggests && !s.suggestion?.includes(label.suggests)) problems.push(`suggestion ${JSON.stringify(s.suggestion)} lacks ${JSON.stringify(label.suggests)}`);
  if (want !== null && !s.excerpt.some((e) => e.line === want)) problems.push('the excerpt does not show the error line');
  if (s.summary.includes('\n') || s.summary.length > 300) problems.push('the summary is not one line');
  return problems;
}

describe('failure corpus', () => {
  const files = Object.keys(LABELS).sort();

  it('has at least 40 labelled logs, each labelled', () => {
    expect(files.length).toBeGreaterThanOrEqual(40);
    const logs = readFileSync(join(DIR, 'expected.json'), 'utf8');
    expect(logs.length).toBeGreaterThan(0);
  });

  it('picks the right error line in at least 90% of the logs', () => {
    const misses: string[] = [];
    let rightLine = 0;
    for (const file of files) {
      const problems = grade(file, LABELS[file]!);
      if (!problems.some((p) => p.startsWith('error line'))) rightLine++;
      if (problems.length) misses.push(`${file}: ${problems.join('; ')}`);
    }
    const score = rightLine / files.length;
    process.stdout.write(`failure corpus: right error line in ${rightLine}/${files.length} logs (${(score * 100).toFixed(1)}%)\n${misses.map((m) => `  miss ${m}`).join('\n')}\n`);
    expect(score).toBeGreaterThanOrEqual(0.9);
  });
});
