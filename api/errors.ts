/** Maps every error to a stable code and its status, through the one table in domain/errors.ts. */
import type { FastifyError, FastifyInstance } from 'fastify';
import { DomainError, type ErrorCode, ERROR_STATUS } from '../domain/errors.ts';
import { errorBody } from '../contract/errors.ts';
import { isDatabaseUnavailable } from '../db/client.ts';
import { acceptBindingsFromRaw } from './plugins/accept-answer.ts';

export { errorBody, type ErrorBody } from '../contract/errors.ts';

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_request',
  FST_ERR_VALIDATION: 'invalid_request',
};

export function classifyError(err: unknown): { code: ErrorCode; message: string } {
  if (err instanceof DomainError) return { code: err.code, message: err.message };
  const fe = err as FastifyError & { validation?: unknown };
  if (fe?.validation) return { code: 'invalid_request', message: fe.message };
  if (fe?.code && FASTIFY_CODES[fe.code]) return { code: FASTIFY_CODES[fe.code]!, message: fe.message };
  if (fe instanceof SyntaxError) return { code: 'invalid_request', message: 'the body is not valid JSON' };
  if (fe?.statusCode === 429) return { code: 'rate_limited', message: 'too many requests; retry later' };
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return { code: 'invalid_request', message: fe.message };
  // An outage is said as one on every route: nothing was done, the same request may be sent again.
  if (isDatabaseUnavailable(err)) return { code: 'temporarily_unavailable', message: 'the database cannot be reached right now; retry shortly' };
  return { code: 'internal_error', message: 'something went wrong on our side' };
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const { code, message } = classifyError(err);
    const status = ERROR_STATUS[code];
    if (status >= 500) request.log.error({ err }, 'request failed');
    if (code === 'temporarily_unavailable' && !reply.hasHeader('Retry-After')) reply.header('Retry-After', '2');
    // Every refusal of an accept names it when its key is known (a valid X-Idempotency-Key, or the
    // status route's id), whatever refused it: body validation, the token, the rate limiter.
    const acceptId = acceptBindingsFromRaw(request.url, request.headers).accept_id;
    // 5xx details stay in the logs; a temporary outage may say what it is.
    const shown = status >= 500 && code !== 'temporarily_unavailable' ? 'something went wrong on our side' : message;
    reply.status(status).send(errorBody(code, shown, acceptId));
  });
  app.setNotFoundHandler((_request, reply) => {
    reply.status(404).send(errorBody('not_found', 'no such route'));
  });
}
