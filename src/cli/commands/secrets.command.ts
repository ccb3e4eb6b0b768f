import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { ApiClient } from 'src/cli/api-client';
import { CliError } from 'src/cli/cli-error';
import { action, outputOptions } from 'src/cli/command-context';
import { info, render } from 'src/cli/output';

const COLUMNS = ['name', 'scope', 'updated_at', 'updated_by'];

interface ScopeOptions {
  org?: boolean;
}

const path = (o: ScopeOptions, name?: string): string =>
  `/v1/secrets${o.org ? '/organisation' : ''}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;

/** The whole of stdin (a value is never taken from argv: it would sit in shell history and `ps`). */
async function readStdin(stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  if ((stdin as NodeJS.ReadStream).isTTY) info('Type the value, then press Ctrl-D (it is not echoed back anywhere else).');
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** The value: the file as is, or stdin without the one trailing newline `echo` and terminals add. */
async function valueFrom(o: { fromFile?: string }): Promise<string> {
  let value: string;
  if (o.fromFile) {
    try {
      value = readFileSync(o.fromFile, 'utf8');
    } catch (error) {
      throw new CliError('usage', `cannot read ${o.fromFile}: ${(error as Error).message}`);
    }
  } else {
    value = (await readStdin()).replace(/\r?\n$/, '');
  }
  if (!value) throw new CliError('usage', 'the secret value is empty');
  return value;
}

export function secretsCommand(): Command {
  const cmd = new Command('secrets').description('Workspace and organisation secrets (values are write-only: never shown again)');
  const scoped = (c: Command): Command => c.option('--org', 'the organisation’s secrets (inherited by every workspace; organisation token)');
  scoped(cmd.command('list').description('Names and metadata of the secrets this workspace can use (own and inherited)'))
    .action(action(async (o: ScopeOptions, c: Command) => {
      render(outputOptions(c), await new ApiClient().request('GET', path(o)), { columns: COLUMNS });
    }));
  scoped(
    cmd
      .command('set <name>')
      .description('Create or replace a secret; the value comes from stdin (e.g. `orcaops secrets set API_KEY < key.txt`) or --from-file, never from the command line')
      .option('-f, --from-file <path>', 'read the value from this file (kept byte for byte)'),
  ).action(action(async (name: string, o: ScopeOptions & { fromFile?: string }, c: Command) => {
    const value = await valueFrom(o);
    render(outputOptions(c), await new ApiClient().request('PUT', path(o, name), { value }));
  }));
  scoped(cmd.command('delete <name>').description('Delete a secret (jobs that ask for it are refused from now on)'))
    .action(action(async (name: string, o: ScopeOptions, c: Command) => {
      render(outputOptions(c), await new ApiClient().request('DELETE', path(o, name)));
    }));
  return cmd;
}
