/**
 * CORS for the buyer-facing routes only (accept, decline, status, impressions, eligibility, upsells.js), for thank-you pages served
 * from another origin than this API. Origins are an explicit allow-list (OCART_ALLOWED_ORIGINS);
 * the shop API, webhooks and docs never answer cross-origin browsers.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const BUYER_ROUTES = /^\/wp-json\/ocart\/v1\/upsells(\.js$|\/[^/]+\/(?:accept|decline|impressions|eligibility)$|\/accepts\/[^/]+$)/;

function allow(reply: FastifyReply, origin: string): void {
  reply.header('Access-Control-Allow-Origin', origin);
  reply.header('Vary', 'Origin');
  reply.header('Access-Control-Expose-Headers', 'Idempotent-Replayed, Retry-After');
}

export function registerCors(app: FastifyInstance, allowedOrigins: readonly string[]): void {
  if (allowedOrigins.length === 0) return;
  const allowed = new Set(allowedOrigins);
  const buyerOrigin = (request: FastifyRequest): string | null => {
    const origin = request.headers.origin;
    const path = request.url.split('?')[0] ?? '';
    return origin && allowed.has(origin) && BUYER_ROUTES.test(path) ? origin : null;
  };
  // Preflight: answered here, before routing (there are no OPTIONS routes).
  app.addHook('onRequest', async (request, reply) => {
    const origin = buyerOrigin(request);
    if (!origin) return;
    allow(reply, origin);
    if (request.method === 'OPTIONS') {
      // Returned, so no later hook or the not-found handler runs: the 204 stands.
      return reply
        .header('Access-Control-Allow-Methods', 'GET, POST')
        .header('Access-Control-Allow-Headers', 'Content-Type, X-Idempotency-Key')
        .header('Access-Control-Max-Age', '600')
        .status(204)
        .send();
    }
  });
}
