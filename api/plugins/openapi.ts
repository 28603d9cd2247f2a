/**
 * The OpenAPI document, generated from the route schemas (so the two cannot drift), served as
 * JSON at /docs/json and through Swagger UI at /docs. Register before the routes: the generator
 * collects routes as they are added.
 *
 * Response schemas here document; they never shape a body. Fastify would otherwise serialise
 * each response through its schema (fast-json-stringify), dropping every property the schema
 * does not name and reordering the rest, and accept replays must stay byte-identical to the
 * first answer, which the workflow wrote. So responses are serialised with JSON.stringify, as
 * they were before any response schema existed; test/ops.test.ts checks the bodies against the
 * documented schemas instead.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ERROR_CODES, ErrorSchema } from '../../contract/errors.ts';
import { ERROR_STATUS, type ErrorCode } from '../../domain/errors.ts';

/** The security scheme name the shop-backend routes reference. */
export const SHOP_API_KEY = 'shopApiKey';
export const SHOP_SECURITY = [{ [SHOP_API_KEY]: [] }];

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  402: 'Payment required',
  403: 'Forbidden',
  404: 'Not found',
  409: 'Conflict',
  410: 'Gone',
  413: 'Payload too large',
  415: 'Unsupported media type',
  422: 'Unprocessable',
  429: 'Too many requests (see Retry-After)',
  500: 'Internal error',
  502: 'Gateway error',
  503: 'Unavailable',
};

/** The codes that answer with this HTTP status, from the one table. */
export function codesFor(status: number): ErrorCode[] {
  return ERROR_CODES.filter((code) => ERROR_STATUS[code] === status);
}

/** A reference to the shared Error body, described by the codes its status can carry. */
export function errorRef(status: number, note?: string): TSchema {
  const codes = codesFor(status)
    .map((c) => `\`${c}\``)
    .join(', ');
  return Type.Unsafe({ $ref: 'Error#', description: `${STATUS_TEXT[status] ?? 'Error'}: ${codes}${note ? `. ${note}` : ''}` });
}

/** Error responses for a route, keyed by status. */
export function errorResponses(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((s) => [s, errorRef(s)]));
}

export async function registerOpenApi(app: FastifyInstance, o: { publicBaseUrl: string }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'OCart one-click upsells',
        version: '1',
        description:
          "Buyer-facing accept and status routes, gateway webhooks, and the shop backend's server-to-server API. Amounts are integer minor units beside an ISO 4217 currency. Every error carries a stable `code` (see the Error schema).",
      },
      servers: [{ url: o.publicBaseUrl }],
      tags: [
        { name: 'buyer', description: 'Called from the thank-you page' },
        { name: 'gateways', description: 'Signed gateway webhooks' },
        { name: 'shop', description: 'The shop backend, server to server, with the API key' },
        { name: 'operations', description: 'Health, readiness, metrics and this document' },
      ],
      components: {
        securitySchemes: {
          [SHOP_API_KEY]: { type: 'http', scheme: 'bearer', description: 'OCART_API_KEY, sent as `Authorization: Bearer <key>`' },
        },
      },
    },
    // Shared schemas keep their own names ($id) under components/schemas.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  app.addSchema(ErrorSchema);
  await app.register(swaggerUi, { routePrefix: '/docs' });
}
