import { Command } from 'commander';
import { ApiClient } from 'src/cli/api-client';
import { action, outputOptions } from 'src/cli/command-context';
import { clientConfigPath, saveClientConfig } from 'src/cli/client-config';
import { info, render } from 'src/cli/output';

export function loginCommand(): Command {
  return new Command('login')
    .description(`Save the API URL and token in ${'~/.orcaops/config.json'}`)
    .requiredOption('--token <token>', 'API token')
    .option('--url <url>', 'API base URL', 'http://127.0.0.1:8000')
    .action(action(async (o: { token: string; url: string }, c: Command) => {
      const me = await new ApiClient({ url: o.url.replace(/\/+$/, ''), token: o.token }).request('GET', '/v1/me');
      const path = saveClientConfig({ url: o.url, token: o.token });
      render(outputOptions(c), me);
      if (!outputOptions(c).json) info(`saved to ${path}`);
    }));
}

export function meCommand(): Command {
  return new Command('me').description('Show the current token, its workspace and permissions').action(
    action(async (_o: object, c: Command) => {
      render(outputOptions(c), await new ApiClient().request('GET', '/v1/me'));
    }),
  );
}

export { clientConfigPath };
