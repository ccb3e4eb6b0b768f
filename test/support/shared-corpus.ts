/**
 * The shared workflow corpus lives next to the repository (../shared/workflow-corpus), never inside it, so
 * a clone on its own does not have it. Specs that need it go through describeWithCorpus: with the corpus
 * they run; without it they are skipped with one line on stderr saying why, unless CI is set, where a
 * missing corpus is a failure (CI must not turn green by losing its inputs).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** WORKFLOW_CORPUS overrides the default location beside the repository. */
export const WORKFLOW_CORPUS = process.env.WORKFLOW_CORPUS ?? resolve(__dirname, '..', '..', '..', 'shared', 'workflow-corpus');

export type CorpusDecision = 'run' | 'skip' | 'fail';

/** True for the CI variable as CI services set it (`true`, `1`, any name); `''`, `0` and `false` are "not CI". */
export function isCi(value: string | undefined): boolean {
  return value !== undefined && !['', '0', 'false'].includes(value.trim().toLowerCase());
}

export function corpusDecision(present: boolean, ci: boolean): CorpusDecision {
  if (present) return 'run';
  return ci ? 'fail' : 'skip';
}

export function corpusPresent(dir: string): boolean {
  return existsSync(join(dir, 'README.md'));
}

export function skipLine(suite: string, dir: string): string {
  return `skipped "${suite}": the shared workflow corpus is not at ${dir} (clone ../shared next to the repository or set WORKFLOW_CORPUS; under CI this fails)\n`;
}

/** describe() for specs that read the corpus: run, skip with one visible line, or fail under CI. */
export function describeWithCorpus(name: string, body: () => void, dir = WORKFLOW_CORPUS, env = process.env): void {
  const decision = corpusDecision(corpusPresent(dir), isCi(env.CI));
  if (decision === 'run') {
    describe(name, body);
  } else if (decision === 'skip') {
    process.stderr.write(skipLine(name, dir));
    describe.skip(`${name} (no shared workflow corpus)`, body);
  } else {
    describe(name, () => {
      it('has the shared workflow corpus (required when CI is set)', () => {
        throw new Error(`the shared workflow corpus is missing at ${dir} and CI is set: CI must run the corpus specs`);
      });
    });
  }
}
