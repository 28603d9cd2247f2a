/**
 * The HTTP app as a plugin tree: schemas, auth, and error-to-status mapping. It reaches Temporal
 * only through api/temporal.ts (shared message definitions), never through workflow bodies.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { GatewayRegistry } from '../activities/gateways/registry.ts';
import type { createSandboxGateway } from '../activities/gateways/sandbox.ts';
import type { Db } from '../db/client.ts';
import type { ApiConfig } from './config.ts';
import { installErrorHandler } from './errors.ts';
import { acceptRoutes } from './routes/accept.ts';
import { healthRoutes } from './routes/health.ts';
import { sandboxRoutes } from './routes/sandbox.ts';
import { shopRoutes } from './routes/shop.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import type { AcceptFlows } from './temporal.ts';

export interface AppDeps {
  config: ApiConfig;
  prisma: Db;
  flows: AcceptFlows;
  gateways: GatewayRegistry;
  sandbox: ReturnType<typeof createSandboxGateway> | null;
  clock: () => Date;
}

export async function buildApp(deps: AppDeps, options: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: deps.config.bodyLimitBytes,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    ...options,
  }).withTypeProvider<TypeBoxTypeProvider>();
  // The sandbox's confirmation form posts urlencoded; everything else is JSON.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  installErrorHandler(app);
  await app.register(healthRoutes, deps);
  await app.register(acceptRoutes, deps);
  await app.register(webhookRoutes, deps);
  await app.register(shopRoutes, deps);
  await app.register(sandboxRoutes, deps);
  return app;
}
