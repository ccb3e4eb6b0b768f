import type { INestApplication } from '@nestjs/common';
import type { OpenAPIObject} from '@nestjs/swagger';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

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
}
