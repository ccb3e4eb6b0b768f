import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * The data directory for an ORCAOPS_HOME value (default ~/.orcaops). Apart from the validated
 * environment so that REST-client commands, which read only this one variable, need not load the
 * validator (issue 20 item 8).
 */
export function dataHomeFrom(home: string | undefined): string {
  return resolve(home ?? join(homedir(), '.orcaops'));
}
