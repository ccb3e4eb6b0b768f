import { Command } from 'commander';
import { ApiClient } from 'src/cli/api-client';
import { CliError } from 'src/cli/cli-error';
import { action, outputOptions } from 'src/cli/command-context';
import { render } from 'src/cli/output';

const COLUMNS = ['id', 'host', 'username', 'updated_at'];

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/**
 * `orcaops registry`: this workspace's registry credentials (workspace admins). The password is read
 * from stdin or $ORCAOPS_REGISTRY_PASSWORD (never a flag: it would sit in shell history and `ps`) and
 * never shown again.
 */
export function registryCommand(): Command {
  const cmd = new Command('registry').description("This workspace's registry credentials, used for its pulls from that host (workspace admin)");
  cmd
    .command('login <host>')
    .description('Store (or replace) credentials for a registry host, e.g. ghcr.io or registry.example.com:5000')
    .requiredOption('-u, --username <name>', 'registry user name')
    .option('--password-stdin', 'read the password or token from stdin (else from $ORCAOPS_REGISTRY_PASSWORD)')
    .action(action(async (host: string, o: { username: string; passwordStdin?: boolean }, c: Command) => {
      const fromEnv = process.env.ORCAOPS_REGISTRY_PASSWORD;
      if (!o.passwordStdin && !fromEnv) {
        throw new CliError('usage', 'give the password on stdin (echo "$TOKEN" | orcaops registry login HOST -u USER --password-stdin) or in $ORCAOPS_REGISTRY_PASSWORD');
      }
      const password = o.passwordStdin ? await readStdin() : (fromEnv ?? '');
      if (!password) throw new CliError('usage', 'the password read from stdin is empty');
      render(outputOptions(c), await new ApiClient().request('PUT', '/v1/registry-credentials', { host, username: o.username, password }));
    }));
  cmd
    .command('list')
    .description('Registry credentials of this workspace (host and user name only)')
    .action(action(async (_o: object, c: Command) => {
      render(outputOptions(c), await new ApiClient().request('GET', '/v1/registry-credentials'), {
        columns: COLUMNS,
        items: (v) => (v as { items: Array<Record<string, unknown>> }).items,
      });
    }));
  cmd
    .command('rm <id>')
    .description('Delete registry credentials')
    .action(action(async (id: string) => {
      await new ApiClient().request('DELETE', `/v1/registry-credentials/${encodeURIComponent(id)}`);
    }));
  return cmd;
}
