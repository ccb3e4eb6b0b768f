import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isConnectionError } from 'src/common/database-connection';
import { httpStatusFor } from 'src/common/errors/error-status';
import { ErrorCode, OrcaOpsError } from 'src/common/errors/orcaops.error';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown; request_id?: string };
}

/** Statuses Nest or Fastify raise before our code runs, mapped to our codes. */
function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return 'bad_request';
    case 401:
      return 'unauthenticated';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 409:
      return 'conflict';
    case 408:
      return 'request_timeout';
    case 413:
      return 'payload_too_large';
    case 415:
      return 'unsupported_media_type';
    case 429:
      return 'rate_limited';
    case 503:
      return 'service_unavailable';
    default:
      return status >= 500 ? 'internal_error' : 'bad_request';
  }
}

interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  message?: string;
}

export function toErrorBody(exception: unknown, requestId: string | undefined, logger: Logger, workspaceId?: string): [number, ErrorBody] {
  if (exception instanceof OrcaOpsError) {
    const body: ErrorBody = { error: { code: exception.code, message: exception.message, request_id: requestId } };
    if (exception.details !== undefined) body.error.details = exception.details;
    return [httpStatusFor(exception.code), body];
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const message = status === 404 ? 'No such route' : exception.message;
    return [status, { error: { code: codeForStatus(status), message, request_id: requestId } }];
  }
  const fastifyError = exception as FastifyLikeError;
  if (typeof fastifyError?.statusCode === 'number' && fastifyError.statusCode < 500) {
    const status = fastifyError.statusCode;
    const message = status === 413 ? 'Request body is too large' : (fastifyError.message ?? 'Bad request');
    return [status, { error: { code: codeForStatus(status), message, request_id: requestId } }];
  }
  if (isConnectionError(exception)) {
    // A database outage or failover: the client retries later; the server stays up and recovers by itself.
    return [503, { error: { code: 'service_unavailable', message: 'The database is unreachable; retry later', request_id: requestId } }];
  }
  const errorId = randomUUID();
  logger.error({ msg: 'unhandled error', errorId, requestId, workspaceId, err: String((exception as Error)?.stack ?? exception) });
  return [
    500,
    { error: { code: 'internal_error', message: `Internal error (error id ${errorId})`, request_id: requestId } },
  ];
}

/** The one HTTP exception filter: one JSON error shape for every failure. */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const request = ctx.getRequest<FastifyRequest>();
    const reply = ctx.getResponse<FastifyReply>();
    // The guard's tenant context, when the request got that far (common/ knows no tenancy types).
    const principal = (request as { tenant?: { principal?: { workspaceId?: string } } } | undefined)?.tenant?.principal;
    const [status, body] = toErrorBody(exception, request?.id, this.logger, principal?.workspaceId);
    if (reply.sent) return;
    if (body.error.code === 'engine_unavailable' || body.error.code === 'service_unavailable') {
      void reply.header('retry-after', '5');
    }
    const retryAfter = (body.error.details as { retry_after_seconds?: unknown } | undefined)?.retry_after_seconds;
    if (body.error.code === 'rate_limited' && typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter));
    void reply.status(status).header('content-type', 'application/json; charset=utf-8').send(body);
  }
}
