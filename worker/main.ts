/**
 * The worker process: `tsx worker/main.ts`. Runs acceptUpsell and its activities, and the outbox
 * relay that delivers events to the shop's subscribers, until SIGTERM or SIGINT, then drains: it
 * stops polling, lets running activities and deliveries finish (up to SHUTDOWN_GRACE_MS), and exits. Logs JSON lines to stdout; serves /metrics and /healthz on WORKER_METRICS_PORT and
 * the Temporal SDK's metrics on WORKER_SDK_METRICS_PORT.
 */
import { buildGatewayRegistry } from '../gateways/index.ts';
import { ConfigError, secretValues } from '../config/env.ts';
import { createPrisma } from '../db/client.ts';
import { loadWorkerConfig } from './config.ts';
import { createWorkerLogger } from './logging.ts';
import { createWorkerMetrics, startWorkerMetricsServer, type MetricsServer } from './metrics.ts';
import { startOutboxRelay, type OutboxRelay } from './outbox-relay.ts';
import { installWorkerRuntime } from './runtime.ts';
import { connectWorker, createWorker } from './worker.ts';

async function main(): Promise<void> {
  const config = loadWorkerConfig();
  const log = createWorkerLogger({ level: config.logLevel, secrets: secretValues(config) });
  // Before any connection: the Runtime is process-wide and carries logging, metrics and signals.
  installWorkerRuntime({
    log,
    level: config.logLevel,
    ...(config.metrics.sdkPort ? { sdkMetrics: { host: config.metrics.host, port: config.metrics.sdkPort } } : {}),
  });
  const prisma = createPrisma(config.databaseUrl, config.databasePoolSize);
  const metrics = createWorkerMetrics({ prisma, onCollectError: (err) => log.warn({ err }, 'metrics: database gauges could not be read') });
  const connection = await connectWorker(config.temporal);
  // The order write wakes the relay, so an accepted event does not wait for the next poll.
  const wakeRelay: { relay?: OutboxRelay } = {};
  const worker = await createWorker({
    connection,
    temporal: config.temporal,
    deps: {
      prisma,
      gateways: buildGatewayRegistry(config.gateways, { prisma, publicBaseUrl: config.publicBaseUrl }),
      clock: () => new Date(),
      tokenKeys: config.tokenKeys,
      publicBaseUrl: config.publicBaseUrl,
      onOutboxWrite: () => wakeRelay.relay?.wake(),
    },
    metrics,
    maxConcurrentActivities: config.maxConcurrentActivities,
    maxConcurrentWorkflowTasks: config.maxConcurrentWorkflowTasks,
    shutdownGraceMs: config.shutdownGraceMs,
    ...(config.workflowBundlePath ? { workflowBundlePath: config.workflowBundlePath } : {}),
  });
  const relay = (wakeRelay.relay = startOutboxRelay({
    prisma,
    pollMs: config.outbox.pollMs,
    wakeDelayMs: config.outbox.wakeDelayMs,
    leaseMs: config.outbox.leaseMs,
    onFailedAttempt: (event, error, retryInMs) =>
      log.warn({ eventId: event.id, attempt: event.attempts, error, retryInMs }, retryInMs === null ? 'event delivery failed for good' : 'event delivery failed; retrying'),
    onError: (err) => log.warn({ err }, 'outbox relay: a round failed'),
  }));
  let server: MetricsServer | undefined;
  if (config.metrics.port) {
    server = await startWorkerMetricsServer({
      host: config.metrics.host,
      port: config.metrics.port,
      registry: metrics.registry,
      healthy: () => worker.getState() === 'RUNNING',
    });
  }
  const { namespace, taskQueue } = config.temporal;
  log.info({ env: config.env, namespace, taskQueue, metricsPort: server?.port, sdkMetricsPort: config.metrics.sdkPort || undefined }, 'worker started');
  // run() resolves once a SIGTERM/SIGINT (installed by the Runtime) has drained the worker.
  await worker.run();
  await relay.stop();
  await server?.close();
  await connection.close();
  await prisma.$disconnect();
  log.info('worker stopped');
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? `configuration error: ${err.message}` : err);
  process.exit(1);
});
