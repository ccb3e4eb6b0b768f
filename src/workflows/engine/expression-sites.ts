/**
 * Where expressions may appear and which contexts each position may read (GitHub's availability
 * table, design §3.3.1; OrcaOps adds workflow `env` to job-level `if`). The loader records one site
 * per expression-bearing value; validation parses and checks them all.
 */

export type ContextSet = ReadonlySet<string>;

const set = (...names: string[]): ContextSet => new Set(names);

export const CONTEXTS = {
  workflowEnv: set('github', 'inputs', 'vars', 'secrets'),
  jobIf: set('github', 'needs', 'inputs', 'vars', 'env'),
  /** name, runs-on, container, services, timeout-minutes, continue-on-error. */
  jobMeta: set('github', 'needs', 'strategy', 'matrix', 'inputs', 'vars'),
  /** strategy cannot see matrix. */
  jobStrategy: set('github', 'needs', 'inputs', 'vars'),
  jobEnv: set('github', 'needs', 'strategy', 'matrix', 'secrets', 'inputs', 'vars'),
  jobOutputs: set(
    'github',
    'needs',
    'strategy',
    'matrix',
    'job',
    'runner',
    'env',
    'secrets',
    'steps',
    'inputs',
    'vars',
  ),
  stepIf: set('github', 'needs', 'strategy', 'matrix', 'job', 'runner', 'env', 'vars', 'steps', 'inputs'),
  step: set(
    'github',
    'needs',
    'strategy',
    'matrix',
    'job',
    'runner',
    'env',
    'vars',
    'steps',
    'inputs',
    'secrets',
  ),
} as const;

export const ALL_CONTEXTS: ContextSet = set(
  'github',
  'env',
  'vars',
  'matrix',
  'needs',
  'steps',
  'job',
  'runner',
  'strategy',
  'inputs',
  'secrets',
);

export interface ExpressionSite {
  /** Document path, e.g. `jobs.build.steps[1].if`. */
  path: string;
  text: string;
  /** `condition`: an `if:` (bare or wrapped, status functions allowed); `template`: `${{ }}` in a string. */
  kind: 'condition' | 'template';
  contexts: ContextSet;
  /** The job the site belongs to (for `needs` checks). */
  jobId?: string;
}
