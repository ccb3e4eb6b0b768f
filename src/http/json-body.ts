import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { RawServerDefault } from 'fastify';
import { parse as parseForm } from 'node:querystring';
import { OrcaOpsError } from 'src/common/errors/orcaops.error';
import { INPUT_LIMITS, jsonTextDepth } from 'src/common/input-limits';

/**
 * JSON bodies (REST and /mcp) with a nesting limit checked on the text before parsing: V8's JSON.parse
 * takes about a second on a 1 MiB `[[[[…`, and class-transformer recurses into what it returns. The
 * scan is linear and stops at the limit. Parsing itself is Fastify's default parser with its default
 * prototype-poisoning rules, as Nest registers it. Registering a parser here stops Nest from adding its
 * own, so the form parser Nest would add is kept too.
 *
 * An empty body is no body (undefined, as without a Content-Type): many SDKs and the Custom GPT runtime
 * send `Content-Type: application/json` on POST actions that take none (cancel, approve, end...), which
 * Fastify's parser refuses with a 400. Routes with a body DTO validate undefined as they would a
 * missing body; malformed JSON is still a 400.
 */
export function registerJsonBody(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  app.useBodyParser<RawServerDefault>('application/json', {}, (request, body, done) => {
    if (body.length === 0) {
      done(null, undefined);
      return;
    }
    const text = body.toString('utf8');
    if (jsonTextDepth(text) > INPUT_LIMITS.maxDepth) {
      const error = new OrcaOpsError('validation_failed', `The JSON body nests arrays/objects deeper than ${INPUT_LIMITS.maxDepth} levels (the limit)`, {
        fields: [{ field: 'body', messages: [`nesting deeper than ${INPUT_LIMITS.maxDepth} levels`] }],
        limit: INPUT_LIMITS.maxDepth,
      });
      // Fastify's own error path reads statusCode; the Nest filter reads the code.
      done(Object.assign(error, { statusCode: 400 }), undefined);
      return;
    }
    void parseJson(request, text, done);
  });
  app.useBodyParser('application/x-www-form-urlencoded', {}, (_request, body, done) => done(null, parseForm(body.toString('utf8'))));
}
