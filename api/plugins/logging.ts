/**
 * Structured JSON logs for the API (pino). One line per request; every line of an accept carries
 * its idempotency key (= workflow id), offer and claimed parent order; secrets never get written.
 */
import { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import type { LogLevel } from '../../config/env.ts';
import { createJsonLogger } from '../../config/json-logger.ts';
import { ACCEPT_ROUTE, acceptAnswerOf, acceptBindingsFromRaw, claimedParent } from './accept-answer.ts';

const SIGNATURE_HEADERS = ['stripe-signature', 'x-paystack-signature', 'x-sandbox-signature'];

/**
 * The API's own paths for pino to blank (request headers, the accept body's token), beyond the
 * shared SECRET_FIELD_PATHS; scrubSecrets then catches known values anywhere else.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  ...SIGNATURE_HEADERS.map((h) => `req.headers["${h}"]`),
  'headers.authorization',
  ...SIGNATURE_HEADERS.map((h) => `headers["${h}"]`),
  'body.token',
  'action.client_secret',
];

export interface ApiLoggerOptions {
  level: LogLevel;
  /** values scrubbed from every line (config/env.ts secretValues) */
  secrets: readonly string[];
  /** where lines go; stdout by default (tests pass a capture stream) */
  destination?: DestinationStream;
}

export function createApiLogger(o: ApiLoggerOptions): Logger {
  return createJsonLogger({ service: 'ocart-api', redact: REDACTED_PATHS, ...o });
}

/** Probes are scraped every few seconds: their lines go to debug. */
const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * One line per request, written when it completes, so it can carry the accept's outcome too.
 * (Fastify's separate "incoming request" line would be written before the body names the parent.)
 */
export class ApiLogController extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const route = request.routeOptions.url;
    const answer = acceptAnswerOf(request);
    const line = {
      method: request.method,
      url: request.url,
      ...(route ? { route } : {}),
      statusCode: reply.statusCode,
      responseTime: reply.elapsedTime,
      remoteAddress: request.ip,
      ...(answer ? { outcome: answer.outcome, ...(answer.code ? { code: answer.code } : {}), replayed: answer.replayed } : {}),
    };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else if (route && QUIET_ROUTES.has(route)) reply.log.debug(line, 'request completed');
    else reply.log.info(line, 'request completed');
  }
}

/** Binds the accept's identity to the request's logger: from the URL and key at once, the parent once the body is read. */
export function registerAcceptLogContext(app: FastifyInstance): void {
  app.setChildLoggerFactory(function childLogger(logger, bindings, options, rawRequest) {
    return logger.child({ ...bindings, ...acceptBindingsFromRaw(rawRequest.url, rawRequest.headers) }, options);
  });
  // Instance hooks run before the route's own, so the parent is bound even when the key check refuses.
  app.addHook('preValidation', async (request, reply) => {
    if (request.routeOptions.url !== ACCEPT_ROUTE) return;
    const claimed = claimedParent(request.body);
    if (claimed.parent_order_id || claimed.cart_id) {
      const child = request.log.child(claimed);
      request.log = child;
      reply.log = child;
    }
  });
}
