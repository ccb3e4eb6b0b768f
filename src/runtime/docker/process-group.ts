/**
 * Killing an exec's whole process tree, with the engine's own exec API and no host shell strings.
 *
 * Docker has no "kill exec" call, and killing only the exec's first process leaves its children running
 * (and holding the output stream open). So a timed or cancellable exec runs as
 *
 *   sh -c GROUP_WRAPPER sh orcaops-exec-<id> <argv...>
 *
 * Facts this relies on (checked on runc 1.1 with busybox 1.35 ash and Debian 12 dash):
 * - runc makes every exec process a session and process-group leader (pgid = pid). So the wrapper shell
 *   leads a group that all its descendants inherit, unless they call setsid/setpgid themselves.
 * - `setsid` must NOT be put in front of the argv on runc: as a group leader it forks, and both busybox and
 *   util-linux setsid (without -w) then exit 0 at once, losing the exit code and detaching the output.
 *   The wrapper calls setsid only when it is not already a group leader (another runtime), where setsid
 *   does not fork; without setsid it runs in its inherited group and the killer falls back to its pid.
 * - The wrapper stays alive as the parent (`(exec "$@")` then `exit`), so its argv, which carries the
 *   unique marker, stays visible in /proc/<pid>/cmdline. `exec` runs the program itself, not a shell
 *   builtin of the same name, and the trailing `exit` stops the shell from exec'ing the last command in
 *   place (which would drop the marker).
 * - The killer, a second exec as the same user, finds the wrapper with grep over /proc/[0-9]*\/cmdline
 *   (busybox and GNU grep both match across the NUL separators) and sends SIGKILL to its group. Its
 *   pattern `orcaops-exe[c]-<id>` does not match its own argv. Nothing is written to the container's
 *   filesystem, so a full /tmp cannot break the kill.
 */

/** Marker placed in the wrapper's argv; an id from randomUUID, so it cannot collide with user argv. */
export function execMarker(execId: string): string {
  return `orcaops-exec-${execId}`;
}

const RUN_ARGV = '(exec "$@"); exit $?';

export const GROUP_WRAPPER = [
  // $1 is the marker. Lead our own group (runc always does), or run as-is when setsid is missing.
  `if kill -0 -$$ 2>/dev/null || ! command -v setsid >/dev/null 2>&1; then shift; ${RUN_ARGV}; fi`,
  // Not a group leader: setsid does not fork then, so the pid, the argv marker and the exit code are kept.
  `exec setsid sh -c 'shift; ${RUN_ARGV}' sh "$@"`,
].join('\n');

export const GROUP_KILLER = [
  'r=1',
  'for f in $(grep -l -e "$1" /proc/[0-9]*/cmdline 2>/dev/null); do',
  '  p=${f#/proc/}; p=${p%/cmdline}',
  // The group when the wrapper leads one, else the wrapper alone (no-setsid fallback).
  '  kill -9 -"$p" 2>/dev/null || kill -9 "$p" 2>/dev/null',
  '  r=0',
  'done',
  'exit $r',
].join('\n');

/** argv of the wrapped exec. */
export function wrapInProcessGroup(execId: string, argv: string[]): string[] {
  return ['sh', '-c', GROUP_WRAPPER, 'sh', execMarker(execId), ...argv];
}

/** argv of the killer exec; exits 0 when it signalled something, 1 when no wrapper was found. */
export function processGroupKiller(execId: string): string[] {
  // A bracket expression matches the marker but not this pattern's own text in the killer's argv.
  return ['sh', '-c', GROUP_KILLER, 'sh', `orcaops-exe[c]-${execId}`];
}
