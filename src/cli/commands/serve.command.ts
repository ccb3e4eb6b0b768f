import { Command } from 'commander';
import { action } from 'src/cli/command-context';
import { loadServer } from 'src/cli/deferred';

export function serveCommand(): Command {
  return new Command('serve')
    .description('Run the API server (embedded PostgreSQL when DATABASE_URL is unset)')
    .option('--port <port>', 'port (default 8000 or ORCAOPS_PORT)', (v) => Number(v))
    .option('--host <host>', 'interface (default 127.0.0.1 or ORCAOPS_HOST)')
    .action(action(async (o: { port?: number; host?: string }) => {
      if (o.host) process.env.ORCAOPS_HOST = o.host;
      const { serveOrExit } = await loadServer();
      await serveOrExit(o.port);
    }));
}
