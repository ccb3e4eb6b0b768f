import { Command } from 'commander';
import { createWriteStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApiClient } from 'src/cli/api-client';
import { CliError } from 'src/cli/cli-error';
import type { ErrorCode } from 'src/common/errors/orcaops.error';
import { action, outputOptions } from 'src/cli/command-context';
import { info, printJson, render } from 'src/cli/output';

const LIST_COLUMNS = ['occurred_at', 'action', 'outcome', 'actor_type', 'actor_id', 'resource_type', 'resource_id', 'session_id'];

interface FilterOptions {
  since?: string;
  until?: string;
  action?: string;
  session?: string;
  actor?: string;
  resourceType?: string;
  resourceId?: string;
  workspace?: string;
}

function withFilters(cmd: Command): Command {
  return cmd
    .option('--since <time>', 'events at or after this ISO 8601 time')
    .option('--until <time>', 'events before this ISO 8601 time')
    .option('--action <action>', 'action name; * matches anything (e.g. "sandbox.*")')
    .option('--session <id>', 'events of this agent session')
    .option('--actor <tokenId>', 'events by this token')
    .option('--resource-type <type>', 'job, sandbox, session, token, ...')
    .option('--resource-id <id>', 'events about this resource')
    .option('--workspace <id>', 'one workspace (organisation admin tokens only)');
}

function query(o: FilterOptions): URLSearchParams {
  const q = new URLSearchParams();
  const map: Array<[keyof FilterOptions, string]> = [
    ['since', 'since'], ['until', 'until'], ['action', 'action'], ['session', 'session_id'], ['actor', 'actor'],
    ['resourceType', 'resource_type'], ['resourceId', 'resource_id'], ['workspace', 'workspace_id'],
  ];
  for (const [option, param] of map) if (o[option]) q.set(param, o[option]);
  return q;
}

/** Counts lines as they pass, so the export can say how many events it wrote. */
function lineCounter(): Transform & { lines: number } {
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      for (const byte of chunk) if (byte === 10) counter.lines++;
      done(null, chunk);
    },
  }) as Transform & { lines: number };
  counter.lines = 0;
  return counter;
}

/** `orcaops audit list|export`: the audit trail (permission audit:read). */
export function auditCommand(): Command {
  const cmd = new Command('audit').description('The audit trail: who did what, when, in which session');
  withFilters(cmd.command('list').description('Audit events, newest first (one page)'))
    .option('--limit <n>', 'how many (max 500)', (v) => Number(v), 50)
    .option('--cursor <cursor>', 'next_cursor of the previous page')
    .action(action(async (o: FilterOptions & { limit: number; cursor?: string }, c: Command) => {
      const q = query(o);
      q.set('limit', String(o.limit));
      if (o.cursor) q.set('cursor', o.cursor);
      render(outputOptions(c), await new ApiClient().request('GET', `/v1/audit?${q.toString()}`), { columns: LIST_COLUMNS });
    }));
  withFilters(cmd.command('export').description('Every matching event as JSON lines (newest first), streamed to stdout or --output'))
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .action(action(async (o: FilterOptions & { output?: string }, c: Command) => {
      const response = await new ApiClient().raw('GET', `/v1/audit/export?${query(o).toString()}`, undefined, { headers: { accept: 'application/x-ndjson' } });
      if (!response.ok || !response.body) {
        const parsed = (await response.json().catch(() => ({}))) as { error?: { code?: ErrorCode; message?: string; details?: unknown } };
        throw new CliError(parsed.error?.code ?? 'internal_error', parsed.error?.message ?? `HTTP ${response.status}`, parsed.error?.details);
      }
      const counter = lineCounter();
      const body = Readable.fromWeb(response.body);
      if (o.output) {
        await pipeline(body, counter, createWriteStream(o.output));
        if (outputOptions(c).json) printJson({ output: o.output, events: counter.lines });
        else info(`wrote ${counter.lines} events to ${o.output}`);
      } else {
        await pipeline(body, counter, process.stdout, { end: false });
      }
    }));
  return cmd;
}
