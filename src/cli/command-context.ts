import type { Command } from 'commander';
import { CliError, exitCodeFor } from 'src/cli/cli-error';
import type { OutputOptions } from 'src/cli/output';
import { ConfigValidationError } from 'src/config/config-validation.error';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';

/** The global --json flag, readable from any subcommand. */
export function outputOptions(command: Command): OutputOptions {
  return { json: Boolean(command.optsWithGlobals<{ json?: boolean }>().json) };
}

/** Wraps a command action: one error shape (--json) or a readable message, and a meaningful exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const command = args[args.length - 1] as Command;
    try {
      await fn(...args);
    } catch (error) {
      const cliError = toCliError(error);
      if (outputOptions(command).json) {
        process.stdout.write(`${JSON.stringify({ error: { code: cliError.code, message: cliError.message, details: cliError.details } }, null, 2)}\n`);
      } else {
        process.stderr.write(`error: ${cliError.message}${cliError.details ? `\n${JSON.stringify(cliError.details, null, 2)}` : ''}\n`);
      }
      process.exitCode = exitCodeFor(cliError.code);
    }
  };
}

function toCliError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  if (error instanceof OrcaOpsError) return new CliError(error.code, error.message, error.details);
  if (error instanceof ConfigValidationError) return new CliError('validation_failed', error.message);
  return new CliError('internal_error', error instanceof Error ? error.message : String(error));
}
