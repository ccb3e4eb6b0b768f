/** One line of `orcaops doctor`: `fail` makes the command exit non-zero. */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface DoctorCheck {
  check: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a warn/fail. */
  fix?: string;
}

export function passed(check: string, detail: string): DoctorCheck {
  return { check, status: 'ok', detail };
}

export function problem(check: string, status: 'warn' | 'fail', detail: string, fix: string): DoctorCheck {
  return { check, status, detail, fix };
}

export function skipped(check: string, detail: string): DoctorCheck {
  return { check, status: 'skip', detail };
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
