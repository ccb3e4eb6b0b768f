import type { SandboxCommandStatus } from 'src/sandboxes/history/sandbox-command.entity';

/** Bounds of the command history (docs/run-records.md#sandbox-command-history). */
export const SANDBOX_HISTORY_LIMITS = {
  /** Stored characters of a command's text (masked first, then cut). */
  commandMaxChars: 4096,
  /** Commands kept per sandbox; older ones are deleted. */
  perSandbox: 10_000,
  /** The cap is enforced every this many writes per sandbox (so it may be exceeded by up to this many). */
  pruneEvery: 100,
  pageMax: 200,
  pageDefault: 50,
  containsMaxChars: 200,
} as const;

/** Environment variable names whose values are treated as secrets (as in job summaries). */
const SECRET_NAME = /(TOKEN|SECRET|PASSW|API_?KEY|PRIVATE|CREDENTIAL|AUTH)/i;

/** The values of env variables whose names look secret: masked in the stored command like workspace secrets. */
export function secretLookingValues(env: Record<string, string>): string[] {
  return Object.entries(env)
    .filter(([name]) => SECRET_NAME.test(name))
    .map(([, value]) => value);
}

/** argv as one readable line: words with shell-special characters single-quoted. */
export function argvText(args: string[]): string {
  return args.map((a) => (a === '' || /[^A-Za-z0-9_@%+=:,./-]/.test(a) ? `'${a.replace(/'/g, `'\\''`)}'` : a)).join(' ');
}

/** The text as stored: masked whole first (the caller does), so a cut never leaves part of a value. */
export function storedCommand(masked: string): { command: string; truncated: boolean } {
  if (masked.length <= SANDBOX_HISTORY_LIMITS.commandMaxChars) return { command: masked, truncated: false };
  // Cut on a code point, not inside a surrogate pair.
  const cut = [...masked.slice(0, SANDBOX_HISTORY_LIMITS.commandMaxChars)];
  if (cut.length && /[\uD800-\uDBFF]$/.test(cut[cut.length - 1]!)) cut.pop();
  return { command: cut.join(''), truncated: true };
}

export interface CommandEnd {
  exitCode: number | null;
  timedOut?: boolean;
  cancelled?: boolean;
  interrupted?: boolean;
  shellExited?: boolean;
  engineError?: boolean;
}

/** How a command ended, as status and reason (reason null when it simply exited). */
export function commandOutcome(end: CommandEnd): { status: SandboxCommandStatus; reason: string | null } {
  if (end.engineError) return { status: 'error', reason: 'engine_error' };
  if (end.timedOut) return { status: 'timed_out', reason: 'timeout' };
  const reason = end.cancelled ? 'cancelled' : end.interrupted ? 'interrupted' : end.shellExited ? 'shell_exited' : null;
  return { status: end.exitCode === 0 ? 'succeeded' : 'failed', reason };
}
