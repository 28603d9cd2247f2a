/** The worker process: `tsx worker/main.ts`. Runs acceptUpsell and its activities until SIGTERM. */
import { Runtime } from '@temporalio/worker';
import { buildGatewayRegistry } from '../activities/gateways/index.ts';
import { createPrisma } from '../db/client.ts';
import { ConfigError } from '../config/env.ts';
import { loadWorkerConfig } from './config.ts';
import { connectWorker, createWorker } from './worker.ts';

async function main(): Promise<void> {
  const config = loadWorkerConfig();
  Runtime.install({ shutdownSignals: ['SIGINT', 'SIGTERM'] });
  const prisma = createPrisma(config.databaseUrl, config.databasePoolSize);
  const connection = await connectWorker(config.temporal);
  const worker = await createWorker({
    connection,
    temporal: config.temporal,
    deps: {
      prisma,
      gateways: buildGatewayRegistry(config.gateways, { prisma, publicBaseUrl: config.publicBaseUrl }),
      clock: () => new Date(),
      tokenKeys: config.tokenKeys,
      publicBaseUrl: config.publicBaseUrl,
    },
    maxConcurrentActivities: config.maxConcurrentActivities,
    maxConcurrentWorkflowTasks: config.maxConcurrentWorkflowTasks,
  });
  console.log(JSON.stringify({ msg: 'worker started', taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace }));
  // run() resolves after SIGTERM/SIGINT once in-flight activities have drained.
  await worker.run();
  await connection.close();
  await prisma.$disconnect();
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? `configuration error: ${err.message}` : err);
  process.exit(1);
});
