/** What a run's log analysis produces: one line for a person, the lines that support it, what to do. */
export interface LogSummary {
  /** What kind of failure was found (or `succeeded`, `unknown`); stable, for filters and tests. */
  kind: SummaryKind;
  /** One line a human can read. */
  summary: string;
  /** The 1-based line of the combined output that carries the error, or null when it came from the record. */
  errorLine: number | null;
  /** The supporting lines, with their 1-based line numbers in the combined output. */
  excerpt: ExcerptLine[];
  /** A concrete next step when the cause is known (raise memory, the missing path, `pip install x`). */
  suggestion: string | null;
}

export interface ExcerptLine {
  line: number;
  text: string;
}

export const SUMMARY_KINDS = [
  'succeeded',
  'oom_killed',
  'timeout',
  'cancelled',
  'platform',
  'python_exception',
  'node_error',
  'typescript_error',
  'go_panic',
  'go_build_error',
  'java_exception',
  'command_not_found',
  'no_such_file',
  'permission_denied',
  'pip_error',
  'npm_error',
  'apt_error',
  'pytest_failure',
  'jest_failure',
  'go_test_failure',
  'error_line',
  'unknown',
] as const;
export type SummaryKind = (typeof SUMMARY_KINDS)[number];

/** The facts of the run record the analysis uses (OOM kills and timeouts come from here, not the text). */
export interface RunFacts {
  status: string;
  reason: string | null;
  exitCode: number | null;
  message?: string | null;
  memoryMb?: number;
  timeoutSeconds?: number;
  network?: string;
  image?: string;
}
