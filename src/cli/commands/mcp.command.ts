import { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { CliError } from 'src/cli/cli-error';
import { loadClientConfig } from 'src/cli/client-config';
import { action } from 'src/cli/command-context';
import { info, printJson } from 'src/cli/output';
import { loadGptActions, loadStdioRelay } from 'src/cli/deferred';

/**
 * `orcaops mcp`: MCP on stdin/stdout for Claude Code and other local agents. A relay to the server's
 * /mcp with the workspace token, so tools, permissions and policies are the server's. Nothing but
 * protocol goes to stdout; diagnostics go to stderr.
 */
export function mcpCommand(): Command {
  return new Command('mcp')
    .description('MCP server on stdio for Claude Code and local agents (relays to $ORCAOPS_URL/mcp with $ORCAOPS_TOKEN, and $ORCAOPS_SESSION when set)')
    .action(async () => {
      const config = loadClientConfig();
      if (!config.token) {
        process.stderr.write('orcaops mcp: no token. Set ORCAOPS_TOKEN to a workspace token, or run "orcaops login --token ...".\n');
        process.exitCode = 3;
        return;
      }
      const { runStdioRelay } = await loadStdioRelay();
      await runStdioRelay({ url: config.url, token: config.token, session: config.session });
    });
}

/** `orcaops openapi [--gpt]`: the server's OpenAPI document, or the cut for ChatGPT Custom GPT Actions. */
export function openapiCommand(): Command {
  return new Command('openapi')
    .description('Print the OpenAPI document; --gpt: the document for ChatGPT Custom GPT Actions')
    .option('--gpt', 'only the job and sandbox operations, within GPT Actions limits (OpenAPI 3.1)')
    .option('--server-url <url>', 'public https URL ChatGPT will call (default: the API URL)')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action(action(async (o: { gpt?: boolean; serverUrl?: string; output?: string }) => {
      const { url } = loadClientConfig();
      let response: Response;
      try {
        response = await fetch(`${url}/openapi.json`);
      } catch (error) {
        throw new CliError('connection_failed', `Cannot reach OrcaOps at ${url} (${(error as Error).message}); is \`orcaops serve\` running?`);
      }
      if (!response.ok) throw new CliError('internal_error', `GET ${url}/openapi.json answered HTTP ${response.status}`);
      const full = (await response.json()) as Record<string, unknown>;
      const doc = o.gpt ? (await loadGptActions()).toGptActionsDocument(full, o.serverUrl ?? url) : full;
      if (!o.output) return printJson(doc);
      writeFileSync(o.output, `${JSON.stringify(doc, null, 2)}\n`);
      info(`wrote ${o.output}`);
    }));
}
