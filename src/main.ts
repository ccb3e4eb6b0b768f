import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { keepServingOnUnhandledRejections } from 'src/common/process-safety';
import { unknownOrcaopsVariables } from 'src/config/env.validation';
import { dataHome, readEnv } from 'src/config/orcaops.config';
import { stopOwnedClusters } from 'src/database/embedded-postgres';
import { createHttpApp } from 'src/http/create-app';
import { startupFailureMessage } from 'src/http/startup-failure';

/**
 * HTTP entry: `node dist/src/main.js` (the CLI's `orcaops serve` does the same with flags). A start-up
 * failure closes what already started (the application, an embedded PostgreSQL this process started)
 * and rejects with one line saying what is wrong and what to do.
 */
export async function serve(port?: number): Promise<void> {
  const env = readEnv();
  keepServingOnUnhandledRejections();
  const listenPort = port ?? env.ORCAOPS_PORT;
  let app: NestFastifyApplication | undefined;
  try {
    app = await createHttpApp({ abortOnError: false });
    await app.listen(listenPort, env.ORCAOPS_HOST);
  } catch (error) {
    await app?.close().catch(() => undefined);
    await stopOwnedClusters();
    throw new Error(startupFailureMessage(error, { host: env.ORCAOPS_HOST, port: listenPort, databaseUrl: env.DATABASE_URL, home: dataHome(env) }));
  }
  const logger = new Logger('OrcaOps');
  for (const { name, suggestion } of unknownOrcaopsVariables(process.env)) {
    logger.warn(`${name} is not an OrcaOps setting and is ignored${suggestion ? `: did you mean ${suggestion}?` : ''}`);
  }
  logger.log(`listening on http://${env.ORCAOPS_HOST}:${listenPort} (docs at /docs)`);
}

/** serve(), and on a start-up failure its one line on stderr and exit code 1 (nothing is left running). */
export function serveOrExit(port?: number): Promise<void> {
  return serve(port).catch((error: unknown) => {
    process.stderr.write(`orcaops: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}

if (require.main === module) void serveOrExit();
