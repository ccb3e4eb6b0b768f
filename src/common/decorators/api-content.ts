import type { Type } from '@nestjs/common';
import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';

/** How a non-JSON body is described: text (an event stream, lines, plain text) or raw bytes. */
export type StreamBody = { kind: 'text'; description: string } | { kind: 'binary'; description: string };

/**
 * A 2xx response with several content types (JSON and a stream or bytes, chosen by Accept or a query),
 * which the Swagger plugin cannot infer from a handler that writes to the reply itself.
 */
export function ApiContentResponse(status: number, description: string, json: Type | undefined, others: Record<string, StreamBody> = {}): MethodDecorator {
  const content: Record<string, { schema: Record<string, string> }> = {};
  if (json) content['application/json'] = { schema: { $ref: getSchemaPath(json) } };
  for (const [type, body] of Object.entries(others)) {
    content[type] = { schema: body.kind === 'binary' ? { type: 'string', format: 'binary', description: body.description } : { type: 'string', description: body.description } };
  }
  return applyDecorators(...(json ? [ApiExtraModels(json)] : []), ApiResponse({ status, description, content }));
}
