import { Command } from 'commander';
import { ApiClient } from 'src/cli/api-client';
import { CliError } from 'src/cli/cli-error';
import { action, outputOptions } from 'src/cli/command-context';
import { render } from 'src/cli/output';
import { durationMs } from 'src/jobs/records/run-query';

interface HistoryOptions {
  failed?: boolean;
  exitCode?: string;
  kind?: string;
  shell?: string;
  contains?: string;
  since?: string;
  until?: string;
  limit: number;
  cursor?: string;
}

interface CommandRow {
  command: string;
  [key: string]: unknown;
}

const COLUMNS = ['started_at', 'kind', 'shell', 'status', 'exit_code', 'duration_ms', 'output_bytes', 'command'];
/** Characters of a command in the table (--json has all of it). */
const TABLE_COMMAND_CHARS = 60;

/** An ISO time, or an age before now (30m, 24h, 7d) turned into one. */
function isoTime(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const age = durationMs(value);
  const at = age !== undefined ? new Date(Date.now() - age) : new Date(value);
  if (Number.isNaN(at.getTime())) throw new CliError('usage', `${flag} expects an ISO 8601 time or an age like 30m, 24h, 7d, got "${value}"`);
  return at.toISOString();
}

function oneLine(command: string): string {
  const flat = command.replace(/\s*\n\s*/g, ' ⏎ ');
  return flat.length > TABLE_COMMAND_CHARS ? `${flat.slice(0, TABLE_COMMAND_CHARS - 1)}…` : flat;
}

export function historyQuery(o: HistoryOptions): URLSearchParams {
  const params = new URLSearchParams({ limit: String(o.limit) });
  const set = (key: string, value: string | undefined): void => void (value !== undefined && params.set(key, value));
  set('failed', o.failed ? 'true' : undefined);
  set('exit_code', o.exitCode);
  set('kind', o.kind);
  set('shell', o.shell);
  set('contains', o.contains);
  set('since', isoTime('--since', o.since));
  set('until', isoTime('--until', o.until));
  set('cursor', o.cursor);
  return params;
}

/** `orcaops sandbox history ID`: the sandbox's command history (docs/run-records.md#sandbox-command-history). */
export function sandboxHistoryCommand(): Command {
  return new Command('history')
    .description("A sandbox's commands (exec and shell), newest first: status, exit code, duration, output size; secrets masked")
    .argument('<id>', 'sandbox id')
    .option('--failed', 'only commands that did not succeed')
    .option('--exit-code <n>', 'only this exit code')
    .option('--kind <kind>', 'exec | shell')
    .option('--shell <name>', 'only this shell')
    .option('--contains <text>', 'command text contains (case-insensitive)')
    .option('--since <time>', 'started at or after: ISO 8601 or an age (30m, 24h, 7d)')
    .option('--until <time>', 'started before: ISO 8601 or an age')
    .option('--limit <n>', 'commands per page (max 200)', (v) => Number(v), 50)
    .option('--cursor <cursor>', 'next_cursor of a previous page')
    .action(action(async (id: string, o: HistoryOptions, c: Command) => {
      const page = await new ApiClient().request<{ items: CommandRow[]; next_cursor: string | null }>(
        'GET',
        `/v1/sandboxes/${encodeURIComponent(id)}/commands?${historyQuery(o).toString()}`,
      );
      render(outputOptions(c), page, { columns: COLUMNS, items: () => page.items.map((r) => ({ ...r, command: oneLine(r.command) })) });
      if (!outputOptions(c).json && page.next_cursor) process.stderr.write(`more: --cursor ${page.next_cursor}\n`);
    }));
}
