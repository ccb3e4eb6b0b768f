import type { INestApplication } from '@nestjs/common';
import type { OpenAPIObject} from '@nestjs/swagger';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { FastifyInstance } from 'fastify';
import { toGptActionsDocument } from 'src/http/gpt-actions';

export function buildOpenApiDocument(app: INestApplication, serverUrl?: string): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('OrcaOps API')
    .setDescription(
      'Run code safely in locked-down containers: jobs, sandboxes and workflows per workspace. ' +
        'Authenticate with a workspace token: `Authorization: Bearer orcaops_ws_...`.',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'OrcaOps API token' });
  if (serverUrl) builder.addServer(serverUrl);
  return SwaggerModule.createDocument(app, builder.build(), {
    operationIdFactory: (_controller, method) => method,
  });
}

/**
 * Swagger UI at /docs and the document at /openapi.json (both public). `ui: false` skips the UI's
 * static assets (jest cannot load @fastify/static's ESM-only dependency; the document is the same).
 */
export function mountOpenApi(app: INestApplication, ui = true): void {
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
    ui,
    jsonDocumentUrl: 'openapi.json',
    yamlDocumentUrl: 'openapi.yaml',
  });
  mountGptActions(app);
}

/**
 * GET /openapi.gpt.json (public, like /openapi.json): the document for ChatGPT Custom GPT Actions.
 * `?server_url=` names the public https URL ChatGPT will call; otherwise this request's host is used.
 */
function mountGptActions(app: INestApplication): void {
  let full: OpenAPIObject | undefined;
  const fastify = app.getHttpAdapter().getInstance() as FastifyInstance;
  fastify.get<{ Querystring: { server_url?: string } }>('/openapi.gpt.json', (request, reply) => {
    full ??= buildOpenApiDocument(app);
    const given = request.query.server_url;
    const serverUrl = typeof given === 'string' && /^https?:\/\/[^\s]+$/.test(given) ? given : `${request.protocol}://${request.host}`;
    void reply.send(toGptActionsDocument(full as unknown as Record<string, unknown>, serverUrl));
  });
}
