import type { LogLevel } from '@nestjs/common';
import { ConsoleLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { AppModule } from 'src/app.module';
import { readEnv } from 'src/config/orcaops.config';
import { edgeLimitsFrom } from 'src/http/edge/edge-limits';
import { installHttpEdge } from 'src/http/edge/http-edge';
import { registerJsonBody } from 'src/http/json-body';
import { installRequestTelemetry } from 'src/http/request-telemetry';
import { mountOpenApi } from 'src/http/openapi';
import { registerBinaryBodies } from 'src/common/http/binary-body';
import { INTERACTION_LIMITS } from 'src/sandboxes/interaction/interaction.limits';
import { installPreviewBodies } from 'src/sandboxes/previews/preview-body';
import { installPreviewUpgrades } from 'src/http/preview-upgrades';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export function jsonLogger(level: string): ConsoleLogger {
  const upTo = LEVELS.indexOf(level as LogLevel);
  return new ConsoleLogger({ json: true, logLevels: LEVELS.slice(0, upTo < 0 ? 4 : upTo + 1) });
}

/**
 * The server's logger: Nest's start-up ExceptionHandler entry (a JSON dump of the error and its stack) is
 * left out, since serve() prints the failure as one line saying what to do (issue 20 item 7).
 */
class ServerLogger extends ConsoleLogger {
  override error(message: unknown, ...rest: unknown[]): void {
    if (rest[rest.length - 1] === 'ExceptionHandler') return;
    super.error(message, ...rest);
  }
}

function serverLogger(level: string): ConsoleLogger {
  const upTo = LEVELS.indexOf(level as LogLevel);
  return new ServerLogger({ json: true, logLevels: LEVELS.slice(0, upTo < 0 ? 4 : upTo + 1) });
}

/** The HTTP application as the server and the e2e tests use it (not yet listening). */
export async function createHttpApp(options: { logger?: ConsoleLogger | false; swaggerUi?: boolean; abortOnError?: boolean } = {}): Promise<NestFastifyApplication> {
  const env = readEnv();
  const adapter = new FastifyAdapter({
    bodyLimit: env.ORCAOPS_MAX_BODY_BYTES,
    // A caller's X-Request-Id is kept when well-formed, so logs correlate across systems.
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    trustProxy: false,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, adapter, {
    logger: options.logger ?? (options.abortOnError === false ? serverLogger(env.ORCAOPS_LOG_LEVEL) : jsonLogger(env.ORCAOPS_LOG_LEVEL)),
    bufferLogs: false,
    // false (the server): a failed start rejects, so serve() can say why and stop what started.
    abortOnError: options.abortOnError ?? true,
  });
  const fastify = app.getHttpAdapter().getInstance();
  // Sandbox file and archive uploads are the only binary bodies: the largest archive plus headers.
  registerBinaryBodies(fastify, INTERACTION_LIMITS.archiveMaxBytes + 8 * 1024 * 1024);
  registerJsonBody(app);
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });
  installRequestTelemetry(app);
  const origins = env.ORCAOPS_ALLOWED_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean);
  // Browsers only: CORS is off unless an operator names the origins that may call the API.
  if (origins.length) {
    app.enableCors({
      origin: origins.includes('*') ? true : origins,
      allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'last-event-id', 'x-request-id', 'mcp-session-id', 'x-orcaops-session'],
      exposedHeaders: ['x-request-id', 'retry-after'],
    });
  }
  // After CORS, so refusals at the edge still carry the CORS headers a browser needs to read them.
  await installHttpEdge(app, edgeLimitsFrom(env));
  // After the edge: a proxied body is the edge's bounded stream, passed on unparsed.
  installPreviewBodies(fastify);
  installPreviewUpgrades(app);
  app.enableShutdownHooks();
  mountOpenApi(app, options.swaggerUi ?? true);
  return app;
}
