import type { Command } from 'commander';
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApiClient } from 'src/cli/api-client';
import { CliError } from 'src/cli/cli-error';
import { action, outputOptions } from 'src/cli/command-context';
import { render } from 'src/cli/output';

const SEARCH_COLUMNS = ['id', 'status', 'reason', 'exit_code', 'image', 'created_at', 'duration_ms'];
const QUERY_HELP = 'e.g. \'status:failed image:orcaops/python* duration>30s "Traceback"\' (docs/run-records.md#query-syntax)';

interface SearchPage {
  items: Array<Record<string, unknown>>;
  next_cursor: string | null;
}

/** `orcaops jobs search|export|delete-by-query`: the run search of docs/run-records.md over REST. */
export function addJobSearchCommands(cmd: Command): void {
  cmd
    .command('search [query...]')
    .description(`Search runs: filters and output text, newest first; ${QUERY_HELP}`)
    .option('--limit <n>', 'runs per page (max 200)', (v) => Number(v), 20)
    .option('--cursor <cursor>', 'next_cursor of a previous page')
    .action(action(async (words: string[], o: { limit: number; cursor?: string }, c: Command) => {
      const params = new URLSearchParams({ q: words.join(' '), limit: String(o.limit) });
      if (o.cursor) params.set('cursor', o.cursor);
      const page = await new ApiClient().request<SearchPage>('GET', `/v1/jobs/search?${params.toString()}`);
      render(outputOptions(c), page, { columns: SEARCH_COLUMNS });
      if (!outputOptions(c).json && page.next_cursor) process.stderr.write(`more: --cursor ${page.next_cursor}\n`);
    }));
  cmd
    .command('export [query...]')
    .description('Every matching run as JSON lines (default) or CSV, streamed (at most 100000)')
    .option('--format <format>', 'jsonl | csv', 'jsonl')
    .option('--limit <n>', 'at most this many runs', (v) => Number(v))
    .option('-o, --output <file>', 'write here instead of stdout (must not exist)')
    .action(action(async (words: string[], o: { format: string; limit?: number; output?: string }) => {
      if (!['jsonl', 'csv'].includes(o.format)) throw new CliError('usage', `--format expects jsonl or csv, got "${o.format}"`);
      const params = new URLSearchParams({ q: words.join(' '), format: o.format });
      if (o.limit) params.set('limit', String(o.limit));
      const response = await new ApiClient().raw('GET', `/v1/jobs/export?${params.toString()}`);
      if (!response.ok) {
        const body = (await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
        throw new CliError((body.error?.code as CliError['code']) ?? 'internal_error', body.error?.message ?? `HTTP ${response.status}`);
      }
      const source = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
      await pipeline(source, o.output ? createWriteStream(o.output, { flags: 'wx' }) : process.stdout);
    }));
  cmd
    .command('delete-by-query <query...>')
    .description('Delete finished runs matching a query (workspace admins; at most 1000 per call, audited)')
    .option('--dry-run', 'count what would be deleted, delete nothing')
    .action(action(async (words: string[], o: { dryRun?: boolean }, c: Command) => {
      const result = await new ApiClient().request('POST', '/v1/jobs/delete-by-query', { q: words.join(' '), dry_run: !!o.dryRun });
      render(outputOptions(c), result);
    }));
}
