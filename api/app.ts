/**
 * The HTTP app as a plugin tree: schemas, auth, and error-to-status mapping. It reaches Temporal
 * only through api/temporal.ts (shared message definitions), never through workflow bodies.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { GatewayRegistry } from '../gateways/registry.ts';
import type { createSandboxGateway } from '../gateways/sandbox.ts';
import type { Db } from '../db/client.ts';
import type { ApiConfig, TrustProxy } from './config.ts';
import { errorBody, installErrorHandler } from './errors.ts';
import { registerAcceptAnswers } from './plugins/accept-answer.ts';
import { registerConnectionDraining } from './plugins/draining.ts';
import { ApiLogController, registerAcceptLogContext } from './plugins/logging.ts';
import { registerCors } from './plugins/cors.ts';
import { registerFunnels } from './plugins/funnel-service.ts';
import type { WindowFlows } from './plugins/funnel-window.ts';
import { registerMetrics } from './plugins/metrics.ts';
import { registerOpenApi } from './plugins/openapi.ts';
import { registerRateLimits } from './plugins/rate-limit.ts';
import { acceptRoutes } from './routes/accept.ts';
import { adminRoutes } from './routes/admin.ts';
import { analyticsRoutes } from './routes/analytics.ts';
import { currencyRoutes } from './routes/currencies.ts';
import { demoRoutes } from './routes/demo.ts';
import { eligibilityRoutes } from './routes/eligibility.ts';
import { declineRoutes, funnelRoutes } from './routes/funnels.ts';
import { healthRoutes } from './routes/health.ts';
import { impressionRoutes } from './routes/impressions.ts';
import { buyerEligibilityRoutes } from './routes/buyer-eligibility.ts';
import { recentAcceptRoutes } from './routes/recent-accepts.ts';
import { refundRoutes } from './routes/refunds.ts';
import { sandboxRoutes } from './routes/sandbox.ts';
import { shopRoutes } from './routes/shop.ts';
import { storefrontRoutes } from './routes/storefront.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import type { AcceptFlows } from './temporal.ts';

export interface AppDeps {
  config: ApiConfig;
  prisma: Db;
  flows: AcceptFlows;
  gateways: GatewayRegistry;
  sandbox: ReturnType<typeof createSandboxGateway> | null;
  clock: () => Date;
  /** the parent orders' post-purchase windows (workflow postPurchaseWindow); without it no window opens */
  windows?: WindowFlows;
}

/**
 * `options` go to Fastify. Logging is off unless given: pass `loggerInstance: createApiLogger(...)`
 * (api/plugins/logging.ts), as api/main.ts does and as tests do with a capture stream.
 */
function refuseBadUrl(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  request.log.info({ err }, 'request refused by the router');
  void reply.status(400).send(errorBody('invalid_request', 'the URL is not valid'));
}

/**
 * OCART_TRUST_PROXY in Fastify's terms. A hop count becomes "trust the nearest N hops": Fastify
 * 5.12 treats a bare number as trusting nothing (it cannot check the immediate peer), so the count
 * is only as safe as the network: use it only when nothing but the load balancer reaches the API,
 * and prefer the load balancer's addresses/CIDRs.
 */
function fastifyTrustProxy(trust: TrustProxy): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trust !== 'number') return trust;
  const hops = trust;
  return hops === 0 ? false : (_address, hop) => hop < hops;
}

export async function buildApp(deps: AppDeps, options: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: deps.config.bodyLimitBytes,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    genReqId: () => randomUUID(),
    // Long path parameters reach the route schemas (which cap them) instead of a bare 414.
    routerOptions: { maxParamLength: 1024 },
    // Bad URLs (broken percent-encoding) get our error body and a log line like every other refusal.
    frameworkErrors: refuseBadUrl,
    logController: new ApiLogController(),
    // Behind a load balancer, request.ip (and so every per-IP limit) is the buyer's address only when
    // the proxy's X-Forwarded-For is trusted; from anyone else it is a header a client writes itself.
    trustProxy: fastifyTrustProxy(deps.config.trustProxy),
    ...options,
  }).withTypeProvider<TypeBoxTypeProvider>();
  // JSON only: a text/plain body is 415 unsupported_media_type, not a string for the schema to refuse.
  app.removeContentTypeParser('text/plain');
  installErrorHandler(app);
  // Operations first: the OpenAPI generator and the hooks must see every route added after them.
  await registerOpenApi(app, { publicBaseUrl: deps.config.publicBaseUrl });
  registerAcceptAnswers(app);
  registerFunnels(app, deps);
  registerAcceptLogContext(app);
  registerMetrics(app);
  registerCors(app, deps.config.allowedOrigins);
  registerConnectionDraining(app);
  await registerRateLimits(app, deps.prisma, deps.clock);
  await app.register(healthRoutes, deps);
  await app.register(acceptRoutes, deps);
  await app.register(impressionRoutes, deps);
  await app.register(webhookRoutes, deps);
  await app.register(shopRoutes, deps);
  await app.register(analyticsRoutes, deps);
  await app.register(eligibilityRoutes, deps);
  await app.register(buyerEligibilityRoutes, deps);
  await app.register(refundRoutes, deps);
  await app.register(recentAcceptRoutes, deps);
  await app.register(funnelRoutes, deps);
  await app.register(declineRoutes, deps);
  await app.register(sandboxRoutes, deps);
  await app.register(storefrontRoutes, deps);
  await app.register(currencyRoutes, deps);
  await app.register(demoRoutes, deps);
  await app.register(adminRoutes, deps);
  return app;
}
