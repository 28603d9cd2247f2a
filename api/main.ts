/**
 * The API process: `tsx api/main.ts`. Logs JSON lines to stdout. On SIGTERM or SIGINT it stops
 * accepting connections, answers 503 to new requests on open ones, lets in-flight requests finish
 * (up to SHUTDOWN_GRACE_MS), then closes Temporal and the database and exits.
 */
import closeWithGrace from 'close-with-grace';
import { buildGateways } from '../gateways/index.ts';
import { ConfigError, secretValues } from '../config/env.ts';
import { createPrisma } from '../db/client.ts';
import { buildApp } from './app.ts';
import { loadApiConfig } from './config.ts';
import { createApiLogger } from './plugins/logging.ts';
import { connectClient, createAcceptFlows } from './temporal.ts';
import { createWindowFlows } from './plugins/funnel-window.ts';

async function main(): Promise<void> {
  const config = loadApiConfig();
  const log = createApiLogger({ level: config.logLevel, secrets: secretValues(config) });
  const prisma = createPrisma(config.databaseUrl, config.databasePoolSize);
  const client = await connectClient(config.temporal);
  const { registry: gateways, sandbox } = buildGateways(config.gateways, { prisma, publicBaseUrl: config.publicBaseUrl });
  const app = await buildApp(
    {
      config,
      prisma,
      flows: createAcceptFlows(client, config.temporal.taskQueue),
      windows: createWindowFlows(client, config.temporal.taskQueue),
      gateways,
      sandbox,
      clock: () => new Date(),
    },
    { loggerInstance: log },
  );

  closeWithGrace(
    {
      delay: config.shutdownGraceMs,
      logger: { error: (msg: unknown) => log.error(String(msg)) },
    },
    async ({ signal, err }) => {
      if (err) log.error({ err }, 'shutting down after an unexpected error');
      else log.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down: no new requests; finishing in-flight ones');
      // Stops listening and waits for in-flight requests; an accept waits on its workflow's answer.
      await app.close();
      await client.connection.close();
      await prisma.$disconnect();
      log.info('stopped');
    },
  );

  await app.listen({ host: config.host, port: config.port });
  log.info({ env: config.env, namespace: config.temporal.namespace, taskQueue: config.temporal.taskQueue }, 'api started');
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? `configuration error: ${err.message}` : err);
  process.exit(1);
});
