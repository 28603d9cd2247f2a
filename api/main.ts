/** The API process: `tsx api/main.ts`. Listens until SIGTERM, then drains in-flight requests. */
import { buildGatewayRegistry } from '../activities/gateways/index.ts';
import { createSandboxGateway } from '../activities/gateways/sandbox.ts';
import { ConfigError } from '../config/env.ts';
import { createPrisma } from '../db/client.ts';
import { buildApp } from './app.ts';
import { loadApiConfig } from './config.ts';
import { connectClient, createAcceptFlows } from './temporal.ts';

async function main(): Promise<void> {
  const config = loadApiConfig();
  const prisma = createPrisma(config.databaseUrl, config.databasePoolSize);
  const client = await connectClient(config.temporal);
  const gateways = buildGatewayRegistry(config.gateways, { prisma, publicBaseUrl: config.publicBaseUrl });
  const sandbox = config.gateways.sandbox
    ? createSandboxGateway({ prisma, publicBaseUrl: config.publicBaseUrl, webhookSecret: config.gateways.sandbox.webhookSecret })
    : null;
  const app = await buildApp(
    { config, prisma, flows: createAcceptFlows(client, config.temporal.taskQueue), gateways, sandbox, clock: () => new Date() },
    { logger: { level: config.logLevel, redact: ['req.headers.authorization', 'req.headers["x-paystack-signature"]', 'req.headers["stripe-signature"]'] } },
  );
  await app.listen({ host: config.host, port: config.port });

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    await app.close();
    await client.connection.close();
    await prisma.$disconnect();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? `configuration error: ${err.message}` : err);
  process.exit(1);
});
