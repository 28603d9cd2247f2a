/**
 * Prometheus metrics of the API process, served at GET /metrics. Gateway calls, SCA waits and the
 * outbox happen in the worker, which serves its own /metrics (worker/metrics.ts).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { KNOWN_GATEWAYS } from '../../gateways/registry.ts';
import { ACCEPT_ROUTE, acceptAnswerOf } from './accept-answer.ts';

const WEBHOOK_ROUTE = '/wp-json/ocart/v1/webhooks/:gateway';

/** Every metric this file defines, with what it means: the README lists these. */
export const API_METRIC_NAMES = {
  accepts: 'ocart_accepts_total',
  acceptDuration: 'ocart_accept_duration_seconds',
  httpDuration: 'ocart_http_request_duration_seconds',
  webhooks: 'ocart_webhooks_total',
} as const;

export function registerMetrics(app: FastifyInstance, registry: Registry = new Registry()): Registry {
  // process_* and nodejs_* (CPU, memory, event-loop lag, handles)
  collectDefaultMetrics({ register: registry });

  const accepts = new Counter({
    name: API_METRIC_NAMES.accepts,
    help: 'Accept calls answered, by outcome (the body status: succeeded, requires_action, declined, rejected, error), code (error or decline code) and replayed (an idempotent replay of an earlier answer)',
    labelNames: ['outcome', 'code', 'replayed'],
    registers: [registry],
  });
  const acceptDuration = new Histogram({
    name: API_METRIC_NAMES.acceptDuration,
    help: 'End-to-end accept latency in seconds, from the request arriving to the answer being sent (validation, charge and order when the answer is final)',
    labelNames: ['outcome', 'replayed'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30],
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: API_METRIC_NAMES.httpDuration,
    help: 'HTTP request latency in seconds by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const webhooks = new Counter({
    name: API_METRIC_NAMES.webhooks,
    help: 'Gateway webhooks received, by gateway and HTTP status (400 = signature did not verify)',
    labelNames: ['gateway', 'status_code'],
    registers: [registry],
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    httpDuration.observe({ method: request.method, route, status_code: String(reply.statusCode) }, seconds);
    if (route === ACCEPT_ROUTE && request.method === 'POST') {
      const answer = acceptAnswerOf(request);
      const outcome = answer?.outcome ?? 'unknown';
      const replayed = String(answer?.replayed ?? false);
      accepts.inc({ outcome, replayed, ...(answer?.code ? { code: answer.code } : {}) });
      acceptDuration.observe({ outcome, replayed }, seconds);
    } else if (route === WEBHOOK_ROUTE) {
      const name = (request.params as { gateway?: unknown }).gateway;
      const gateway = typeof name === 'string' && (KNOWN_GATEWAYS as readonly string[]).includes(name) ? name : 'other';
      webhooks.inc({ gateway, status_code: String(reply.statusCode) });
    }
  });

  app.get(
    '/metrics',
    {
      schema: {
        tags: ['operations'],
        operationId: 'metrics',
        summary: 'Prometheus metrics of this API process',
        description: 'The text exposition format. Block this route at the public edge; scrape it from inside.',
        response: {
          200: {
            description: 'Prometheus text format',
            content: { 'text/plain': { schema: Type.String() } },
          },
        },
      },
    },
    async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
  );
  return registry;
}
