import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { keepServingOnUnhandledRejections } from 'src/common/process-safety';
import { readEnv } from 'src/config/orcaops.config';
import { createHttpApp } from 'src/http/create-app';

/** HTTP entry: `node dist/src/main.js` (the CLI's `orcaops serve` does the same with flags). */
export async function serve(port?: number): Promise<void> {
  const env = readEnv();
  keepServingOnUnhandledRejections();
  const app = await createHttpApp();
  const listenPort = port ?? env.ORCAOPS_PORT;
  await app.listen(listenPort, env.ORCAOPS_HOST);
  new Logger('OrcaOps').log(`listening on http://${env.ORCAOPS_HOST}:${listenPort} (docs at /docs)`);
}

if (require.main === module) {
  serve().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
