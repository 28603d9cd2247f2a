/**
 * One test file's slice of the real stack: Fastify (called with inject), a Temporal client and an
 * in-process worker (and outbox relay) on the dev server from global setup, on a task queue of its own, and Prisma on
 * the run's fresh database. Gateways are real adapters; extra ones can be handed in.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { buildGateways } from '../../gateways/index.ts';
import type { PaymentGateway } from '../../gateways/gateway.ts';
import { createGatewayRegistry } from '../../gateways/registry.ts';
import { buildApp } from '../../api/app.ts';
import { loadApiConfig, type ApiConfig } from '../../api/config.ts';
import { connectClient, createAcceptFlows } from '../../api/temporal.ts';
import { createWindowFlows } from '../../api/plugins/funnel-window.ts';
import { createPrisma, type Db } from '../../db/client.ts';
import { connectWorker, createWorker } from '../../worker/worker.ts';
import { startOutboxRelay } from '../../worker/outbox-relay.ts';
import { freePort } from '../../scripts/lib/ports.ts';

export const API_KEY = 'test-api-key-0123456789abcdef';
export const SANDBOX_WEBHOOK_SECRET = 'test-sandbox-webhook-secret';

export interface StackOptions {
  env?: Record<string, string>;
  /** builds more gateways (Stripe, Paystack, ...) from the stack's Prisma client */
  gateways?: (prisma: Db) => PaymentGateway[];
  clock?: () => Date;
  /**
   * Also listen on a real TCP port of 127.0.0.1 (for a browser). PUBLIC_BASE_URL is set to it, so
   * the gateways' redirect URLs (the sandbox's SCA page) point at this server.
   */
  listen?: boolean;
}

export interface TestStack {
  app: FastifyInstance;
  prisma: Db;
  client: Client;
  worker: Worker;
  config: ApiConfig;
  taskQueue: string;
  /** http://127.0.0.1:<port> when started with `listen: true` */
  baseUrl?: string;
  stop(): Promise<void>;
}

export function testEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: inject('databaseUrl'),
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: `test-${randomBytes(6).toString('hex')}`,
    OCART_API_KEY: API_KEY,
    OCART_TOKEN_SECRETS: 'k2026:test-signing-secret-0123456789abcdefghij',
    SANDBOX_WEBHOOK_SECRET,
    DATABASE_POOL_SIZE: '5',
    PUBLIC_BASE_URL: 'http://127.0.0.1:3000',
    ...extra,
  };
}

export async function startTestStack(options: StackOptions = {}): Promise<TestStack> {
  // The port is chosen before the config is read: the sandbox bakes the base URL into its redirects.
  const port = options.listen ? await freePort() : 0;
  const baseUrl = options.listen ? `http://127.0.0.1:${port}` : undefined;
  const config = loadApiConfig(testEnv({ ...(baseUrl ? { PUBLIC_BASE_URL: baseUrl } : {}), ...options.env }));
  const prisma = createPrisma(config.databaseUrl, config.databasePoolSize);
  const clock = options.clock ?? (() => new Date());
  const { registry: base, sandbox } = buildGateways(config.gateways, { prisma, publicBaseUrl: config.publicBaseUrl });
  const extra = options.gateways?.(prisma) ?? [];
  const gateways = extra.length ? createGatewayRegistry([...(sandbox ? [sandbox] : []), ...extra]) : base;

  const connection: NativeConnection = await connectWorker(config.temporal);
  const worker = await createWorker({
    connection,
    temporal: config.temporal,
    deps: { prisma, gateways, clock, tokenKeys: config.tokenKeys, publicBaseUrl: config.publicBaseUrl },
  });
  const running = worker.run();
  const relay = startOutboxRelay({ prisma, clock });
  const client = await connectClient(config.temporal);
  const app = await buildApp({
    config,
    prisma,
    flows: createAcceptFlows(client, config.temporal.taskQueue),
    windows: createWindowFlows(client, config.temporal.taskQueue),
    gateways,
    sandbox,
    clock,
  });
  await app.ready();
  if (options.listen) await app.listen({ host: '127.0.0.1', port });

  return {
    app,
    prisma,
    client,
    worker,
    config,
    taskQueue: config.temporal.taskQueue,
    ...(baseUrl ? { baseUrl } : {}),
    async stop() {
      await app.close();
      worker.shutdown();
      await running;
      await relay.stop();
      await connection.close();
      await client.connection.close();
      await prisma.$disconnect();
    },
  };
}

/**
 * An API app on the test stack's config, with its database or Temporal out of reach: a database URL
 * nobody answers at, or a Temporal client whose connection is already closed.
 */
export async function appWithOutage(stack: TestStack, parts: { databaseUrl?: string; closedTemporal?: boolean }): Promise<{ app: FastifyInstance; close: () => Promise<void> }> {
  const prisma = createPrisma(parts.databaseUrl ?? stack.config.databaseUrl, 1);
  const client = parts.closedTemporal ? await connectClient(stack.config.temporal) : stack.client;
  if (parts.closedTemporal) await client.connection.close();
  const app = await buildApp({
    config: stack.config,
    prisma,
    flows: createAcceptFlows(client, stack.taskQueue),
    gateways: createGatewayRegistry([]),
    sandbox: null,
    clock: () => new Date(),
  });
  await app.ready();
  return {
    app,
    close: async () => {
      await app.close();
      await prisma.$disconnect();
    },
  };
}
