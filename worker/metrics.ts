/**
 * The worker's own Prometheus metrics: gateway calls (timed around every gateway adapter call),
 * and two database-wide gauges read when scraped: accepts waiting for SCA and the event outbox.
 * Served with /healthz by startWorkerMetricsServer. The Temporal SDK's worker metrics (slots,
 * polls, task latencies) come from its own exporter on WORKER_SDK_METRICS_PORT (worker/runtime.ts).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Db } from '../db/client.ts';
import { countWaitingForBuyer } from '../db/accepts.ts';
import { outboxBacklog } from '../db/outbox.ts';

/** Every metric this file defines: the README lists them with their meaning. */
export const WORKER_METRIC_NAMES = {
  gatewayCallDuration: 'ocart_gateway_call_duration_seconds',
  gatewayCallErrors: 'ocart_gateway_call_errors_total',
  scaWaits: 'ocart_sca_waits_in_flight',
  outboxPending: 'ocart_outbox_pending_events',
  outboxOldestPendingAge: 'ocart_outbox_oldest_pending_age_seconds',
  outboxFailed: 'ocart_outbox_failed_events',
  collectErrors: 'ocart_metrics_collect_errors_total',
} as const;

export type GatewayCallOutcome = 'succeeded' | 'requires_action' | 'declined' | 'not_found' | 'ok' | 'refused' | 'transient' | 'error';

export interface WorkerMetrics {
  registry: Registry;
  /** one gateway call finished: `outcome` is its result, or the kind of error it threw */
  observeGatewayCall(gateway: string, operation: string, outcome: GatewayCallOutcome, seconds: number): void;
}

const ERROR_OUTCOMES = new Set<GatewayCallOutcome>(['refused', 'transient', 'error']);
/** A scrape reuses database readings younger than this, so several scrapers cost one query set. */
const READING_TTL_MS = 5_000;
const QUERY_TIMEOUT_MS = 3_000;

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    work.finally(() => clearTimeout(timer)).then(resolve, reject);
  });
}

interface DatabaseReadings {
  scaWaits: number;
  outboxPending: number;
  outboxOldestPendingAgeSeconds: number;
  outboxFailed: number;
}

export function createWorkerMetrics(o: { prisma: Db; clock?: () => Date; onCollectError?: (err: unknown) => void }): WorkerMetrics {
  const registry = new Registry();
  const clock = o.clock ?? (() => new Date());
  collectDefaultMetrics({ register: registry });

  const gatewayCallDuration = new Histogram({
    name: WORKER_METRIC_NAMES.gatewayCallDuration,
    help: 'Gateway API call latency in seconds, by gateway, operation (checkPaymentMethod, chargeOffSession, confirmCharge, cancelCharge, refund, findCharge) and outcome (succeeded, requires_action, declined, not_found, ok, refused, transient, error)',
    labelNames: ['gateway', 'operation', 'outcome'],
    buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20],
    registers: [registry],
  });
  const gatewayCallErrors = new Counter({
    name: WORKER_METRIC_NAMES.gatewayCallErrors,
    help: 'Gateway calls that failed, by gateway, operation and kind: transient (retried by Temporal), refused (not retried), error (unexpected). Declines are outcomes, not errors',
    labelNames: ['gateway', 'operation', 'kind'],
    registers: [registry],
  });
  const collectErrors = new Counter({
    name: WORKER_METRIC_NAMES.collectErrors,
    help: 'Scrapes whose database-derived gauges could not be read (they keep their last value)',
    registers: [registry],
  });

  let last: { at: number; readings: Promise<DatabaseReadings> } | undefined;
  let known: DatabaseReadings = { scaWaits: 0, outboxPending: 0, outboxOldestPendingAgeSeconds: 0, outboxFailed: 0 };
  const read = async (): Promise<DatabaseReadings> => {
    const now = clock();
    const [scaWaits, outbox] = await withTimeout(Promise.all([countWaitingForBuyer(o.prisma), outboxBacklog(o.prisma)]), QUERY_TIMEOUT_MS);
    const age = outbox.oldestPendingAt ? Math.max(0, (now.getTime() - outbox.oldestPendingAt.getTime()) / 1000) : 0;
    return { scaWaits, outboxPending: outbox.pending, outboxOldestPendingAgeSeconds: age, outboxFailed: outbox.failed };
  };
  /** One query set per scrape (and per READING_TTL_MS), shared by the four gauges below. */
  const readings = async (): Promise<DatabaseReadings> => {
    const nowMs = Date.now();
    if (!last || nowMs - last.at > READING_TTL_MS) {
      last = {
        at: nowMs,
        readings: read().then(
          (r) => (known = r),
          (err: unknown) => {
            collectErrors.inc();
            o.onCollectError?.(err);
            return known;
          },
        ),
      };
    }
    return last.readings;
  };
  const databaseGauge = (name: string, help: string, pick: (r: DatabaseReadings) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        this.set(pick(await readings()));
      },
    });
  databaseGauge(
    WORKER_METRIC_NAMES.scaWaits,
    'Accepts waiting for the buyer to finish SCA (status requires_action), across the whole database: aggregate with max, not sum',
    (r) => r.scaWaits,
  );
  databaseGauge(WORKER_METRIC_NAMES.outboxPending, 'Outbox events not yet delivered (status pending), database-wide: aggregate with max', (r) => r.outboxPending);
  databaseGauge(
    WORKER_METRIC_NAMES.outboxOldestPendingAge,
    'Age in seconds of the oldest undelivered outbox event (0 when none), database-wide: aggregate with max',
    (r) => r.outboxOldestPendingAgeSeconds,
  );
  databaseGauge(WORKER_METRIC_NAMES.outboxFailed, 'Outbox events whose delivery gave up (status failed): they need a person', (r) => r.outboxFailed);

  return {
    registry,
    observeGatewayCall(gateway, operation, outcome, seconds) {
      gatewayCallDuration.observe({ gateway, operation, outcome }, seconds);
      if (ERROR_OUTCOMES.has(outcome)) gatewayCallErrors.inc({ gateway, operation, kind: outcome });
    },
  };
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** GET /metrics (Prometheus text) and GET /healthz (200 while the worker runs, else 503). */
export async function startWorkerMetricsServer(o: { host: string; port: number; registry: Registry; healthy: () => boolean }): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      o.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': o.registry.contentType }).end(text),
        () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n'),
      );
    } else if (path === '/healthz') {
      const up = o.healthy();
      res.writeHead(up ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: up ? 'ok' : 'stopping' }));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
