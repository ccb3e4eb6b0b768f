import { readEnv } from 'src/config/orcaops.config';
import type { CrashPoint } from 'src/config/env.validation';

/**
 * Fault injection for the crash-safety tests: when `ORCAOPS_TEST_CRASH_AT` names this point (refused in
 * production), the server SIGKILLs itself here, as a power cut or the OOM killer would. What that leaves
 * behind (rows, containers) must recover on the next start.
 */
export function crashPoint(point: CrashPoint): void {
  if (readEnv().ORCAOPS_TEST_CRASH_AT === point) process.kill(process.pid, 'SIGKILL');
}
