/**
 * Operations: the OpenAPI document and Swagger UI, metrics (API, worker and the Temporal
 * SDK's), structured logs without secrets, Temporal visibility queries, and the two production
 * entrypoints starting, serving and shutting down gracefully.
 *
 * This file wires its own stack (rather than test/helpers/stack.ts) because it needs what the
 * processes have in production: the Temporal Runtime installed with the JSON logger and the SDK's
 * Prometheus exporter, a worker timing its gateway calls, and an app logging to a capture stream.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Ajv2020 from 'ajv/dist/2020.js';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayRefusedError, GatewayTransientError, type ChargeRequest, type PaymentGateway } from '../gateways/gateway.ts';
import { buildGatewayRegistry } from '../gateways/index.ts';
import { createGatewayRegistry } from '../gateways/registry.ts';
import { createSandboxGateway } from '../gateways/sandbox.ts';
import { buildApp } from '../api/app.ts';
import { loadApiConfig, type ApiConfig } from '../api/config.ts';
import { createApiLogger } from '../api/plugins/logging.ts';
import { API_METRIC_NAMES } from '../api/plugins/metrics.ts';
import { connectClient, createAcceptFlows } from '../api/temporal.ts';
import { secretValues } from '../config/env.ts';
import { createPrisma, type Db } from '../db/client.ts';
import { ERROR_STATUS } from '../domain/errors.ts';
import { SETTING_KEYS } from '../domain/settings.ts';
import { freePort, waitFor } from '../scripts/lib/ports.ts';
import { createWorkerLogger } from '../worker/logging.ts';
import { instrumentGateways } from '../worker/instrumented-gateways.ts';
import { WORKER_METRIC_NAMES, createWorkerMetrics, startWorkerMetricsServer, type MetricsServer } from '../worker/metrics.ts';
import { installWorkerRuntime } from '../worker/runtime.ts';
import { connectWorker, createWorker } from '../worker/worker.ts';
import { pollUntil } from './helpers/poll.ts';
import { accept, auth, readyToAccept } from './helpers/shop.ts';
import { newKey, uid } from './helpers/ids.ts';
import { parentOrderBody, parentOrderPath } from './helpers/parent-order.ts';
import { API_KEY, SANDBOX_WEBHOOK_SECRET, testEnv } from './helpers/stack.ts';

const { EventType } = proto.temporal.api.enums.v1;

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = join(ROOT, 'node_modules/.bin/tsx');

/** A pino destination that keeps every line. */
const capture = (lines: string[]) => ({ write: (line: string) => void lines.push(line) });
const parsed = (lines: string[]) => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

/** Sums the samples of a metric whose labels include all of `labels`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((p): [string, string] => [p[1] ?? '', p[2] ?? '']));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(m[3]);
  }
  return total;
}

const apiLines: string[] = [];
const workerLines: string[] = [];
let config: ApiConfig;
let prisma: Db;
let client: Client;
let connection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
let app: FastifyInstance;
let workerMetricsServer: MetricsServer;
let sdkMetricsPort: number;

beforeAll(async () => {
  config = loadApiConfig(testEnv());
  const secrets = secretValues(config);
  sdkMetricsPort = await freePort();
  // As worker/main.ts does, before any connection: this file runs in a process of its own.
  installWorkerRuntime({
    log: createWorkerLogger({ level: 'debug', secrets, destination: capture(workerLines) }),
    level: 'debug',
    sdkMetrics: { host: '127.0.0.1', port: sdkMetricsPort },
    shutdownSignals: [],
  });
  prisma = createPrisma(config.databaseUrl, config.databasePoolSize);
  const clock = () => new Date();
  const gateways = buildGatewayRegistry(config.gateways, { prisma, publicBaseUrl: config.publicBaseUrl });
  const sandbox = createSandboxGateway({ prisma, publicBaseUrl: config.publicBaseUrl, webhookSecret: SANDBOX_WEBHOOK_SECRET });
  const metrics = createWorkerMetrics({ prisma });
  connection = await connectWorker(config.temporal);
  worker = await createWorker({
    connection,
    temporal: config.temporal,
    deps: { prisma, gateways, clock, tokenKeys: config.tokenKeys, publicBaseUrl: config.publicBaseUrl },
    metrics,
  });
  running = worker.run();
  workerMetricsServer = await startWorkerMetricsServer({ host: '127.0.0.1', port: 0, registry: metrics.registry, healthy: () => worker.getState() === 'RUNNING' });
  client = await connectClient(config.temporal);
  app = await buildApp(
    { config, prisma, flows: createAcceptFlows(client, config.temporal.taskQueue), gateways, sandbox, clock },
    { loggerInstance: createApiLogger({ level: 'info', secrets, destination: capture(apiLines) }) },
  );
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await workerMetricsServer?.close();
  worker?.shutdown();
  await running;
  await connection?.close();
  await client?.connection.close();
  await prisma?.$disconnect();
});

/** A successful accept, ready to look at from every side. */
async function acceptOne(parent: Parameters<typeof readyToAccept>[1] = {}) {
  const ready = await readyToAccept(app, parent);
  const key = newKey();
  const res = await accept(app, ready.offer.id, key, ready.body);
  return { ...ready, key, res };
}

/** The shop-backend routes (bearer key): the documented contract's (docs/api.md), and the event subscribers this service adds. */
const SHOP_ROUTES: Array<[string, string]> = [
  ['put', '/wp-json/ocart/v1/orders/{external_id}'],
  ['get', '/wp-json/ocart/v1/orders/{external_id}'],
  ['post', '/wp-json/ocart/v1/offers'],
  ['get', '/wp-json/ocart/v1/offers/{offer_id}'],
  ['put', '/wp-json/ocart/v1/offers/{offer_id}'],
  ['post', '/wp-json/ocart/v1/upsells/{offer_id}/tokens'],
  ['get', '/wp-json/ocart/v1/settings'],
  ['patch', '/wp-json/ocart/v1/settings'],
  ['post', '/wp-json/ocart/v1/event-subscribers'],
];

/** The parts of the OpenAPI document these tests read (any of them may be missing: the tests check). */
interface OpenApiResponse {
  description?: unknown;
  content?: Record<string, { schema?: unknown } | undefined>;
}
interface OpenApiOperation {
  operationId?: string;
  parameters?: Array<{ in?: string }>;
  responses: Record<string, OpenApiResponse>;
  requestBody?: unknown;
  security?: unknown;
}
interface OpenApiDocument {
  openapi: string;
  info: unknown;
  security?: unknown;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: {
    schemas: Record<string, { properties?: Record<string, { enum?: unknown[] }> }>;
    securitySchemes: Record<string, { type?: string; scheme?: string }>;
  };
}

describe('OpenAPI document and Swagger UI', () => {
  let doc: OpenApiDocument;
  beforeAll(async () => {
    const res = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    doc = res.json<OpenApiDocument>();
  });

  it('GET /docs serves Swagger UI', async () => {
    const res = await app.inject({ method: 'GET', url: '/docs' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toContain('Swagger UI');
    const init = await app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
    expect(init.statusCode).toBe(200);
  });

  it('GET /docs/json is an OpenAPI 3.1 document: info, paths, responses on every operation, unique operation ids, resolvable refs', () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- vitest types its asymmetric matchers (expect.any, expect.stringContaining) as any
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths)) {
      expect(path.startsWith('/')).toBe(true);
      for (const [method, op] of Object.entries(item)) {
        expect(['get', 'put', 'post', 'patch', 'delete', 'head', 'options']).toContain(method);
        expect(Object.keys(op.responses ?? {}).length, `${method} ${path} has responses`).toBeGreaterThan(0);
        for (const [status, response] of Object.entries(op.responses)) {
          expect(status).toMatch(/^([1-5]\d\d|[1-5]XX|default)$/);
          expect(typeof response.description).toBe('string');
        }
        for (const p of op.parameters ?? []) expect(['path', 'query', 'header', 'cookie']).toContain(p.in);
        if (op.operationId) {
          expect(ids.has(op.operationId), `operationId ${op.operationId} is unique`).toBe(false);
          ids.add(op.operationId);
        }
      }
    }
    // Every $ref points at something in the document.
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(walk);
      if (!node || typeof node !== 'object') return;
      const ref = (node as { $ref?: unknown }).$ref;
      if (typeof ref === 'string') {
        expect(ref.startsWith('#/'), ref).toBe(true);
        const target = ref
          .slice(2)
          .split('/')
          .reduce<unknown>((at, part) => (at && typeof at === 'object' ? (at as Record<string, unknown>)[part] : undefined), doc);
        expect(target, `${ref} resolves`).toBeTruthy();
      }
      Object.values(node).forEach(walk);
    };
    walk(doc);
  });

  it('every route of the contract (docs/api.md) is documented with request, response and error schemas', () => {
    const contract: Array<[string, string]> = [
      ['post', '/wp-json/ocart/v1/upsells/{offer_id}/accept'],
      ['get', '/wp-json/ocart/v1/upsells/accepts/{accept_id}'],
      ['get', '/wp-json/ocart/v1/upsells.js'],
      ['post', '/wp-json/ocart/v1/webhooks/{gateway}'],
      ...SHOP_ROUTES,
      ['get', '/healthz'],
      ['get', '/readyz'],
      ['get', '/metrics'],
    ];
    for (const [method, path] of contract) expect(doc.paths[path]?.[method], `${method.toUpperCase()} ${path}`).toBeDefined();
    // The API routes (not the storefront script) carry a success body and at least one error.
    for (const [method, path] of contract.filter(([, p]) => p.startsWith('/wp-json') && !p.endsWith('.js'))) {
      const responses = doc.paths[path]![method]!.responses;
      const statuses = Object.keys(responses).map(Number);
      expect(
        statuses.some((s) => s >= 200 && s < 300 && responses[s]!.content),
        `${method} ${path} documents its success body`,
      ).toBe(true);
      expect(
        statuses.some((s) => s >= 400),
        `${method} ${path} documents its errors`,
      ).toBe(true);
      if (['post', 'put', 'patch'].includes(method)) expect(doc.paths[path]![method]!.requestBody, `${method} ${path} documents its body`).toBeDefined();
    }
  });

  it('every stable error code is in the shared Error schema, and every 4xx/5xx of the API refers to it', () => {
    const error = doc.components.schemas.Error;
    expect(error?.properties?.code?.enum).toEqual(Object.keys(ERROR_STATUS));
    for (const [path, item] of Object.entries(doc.paths)) {
      if (!path.startsWith('/wp-json/ocart/v1/') || path.endsWith('.js')) continue;
      for (const op of Object.values(item)) {
        for (const [status, response] of Object.entries(op.responses)) {
          if (Number(status) < 400) continue;
          expect(JSON.stringify(response.content), `${path} ${status}`).toContain('#/components/schemas/Error');
        }
      }
    }
    // The descriptions name the codes each status can carry.
    const notFound = doc.paths['/wp-json/ocart/v1/offers/{offer_id}']?.get?.responses['404']?.description;
    expect(notFound).toContain('offer_not_found');
  });

  it('the shop API declares its bearer key as a security scheme and every shop route requires it; buyer routes do not', () => {
    const schemes = doc.components.securitySchemes;
    const [name, scheme] = Object.entries(schemes).find(([, s]) => s.type === 'http' && s.scheme === 'bearer') ?? [];
    expect(scheme, 'a bearer scheme').toBeDefined();
    for (const [method, path] of SHOP_ROUTES) {
      const op = doc.paths[path]![method]!;
      expect(op.security, `${method} ${path}`).toEqual([{ [name!]: [] }]);
      expect(Object.keys(op.responses)).toContain('401');
    }
    expect(doc.paths['/wp-json/ocart/v1/upsells/{offer_id}/accept']!.post!.security).toBeUndefined();
    expect(doc.security).toBeUndefined();
  });

  it('the documented schemas describe the bodies the service really sends', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    const components = doc.components.schemas as Record<string, unknown>;
    const inline = (node: unknown): unknown => {
      if (Array.isArray(node)) return node.map(inline);
      if (!node || typeof node !== 'object') return node;
      const ref = (node as { $ref?: string }).$ref;
      if (ref?.startsWith('#/components/schemas/')) return inline(components[ref.split('/').pop()!]);
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, inline(v)]));
    };
    const check = (method: string, path: string, res: { statusCode: number; json(): unknown }) => {
      const schema = doc.paths[path]?.[method]?.responses[String(res.statusCode)]?.content?.['application/json']?.schema;
      expect(schema, `${method} ${path} documents ${res.statusCode}`).toBeDefined();
      const validate = ajv.compile(inline(schema) as object);
      expect(validate(res.json()), `${method} ${path} ${res.statusCode}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    };
    const acceptPath = '/wp-json/ocart/v1/upsells/{offer_id}/accept';
    const statusPath = '/wp-json/ocart/v1/upsells/accepts/{accept_id}';

    const ok = await acceptOne();
    check('post', acceptPath, ok.res);
    check('get', statusPath, await app.inject({ method: 'GET', url: `/wp-json/ocart/v1/upsells/accepts/${ok.key}?cart_id=${ok.order.cartId}` }));
    const sca = await acceptOne({ methodRef: 'pm_card_authenticationRequired' });
    expect(sca.res.statusCode).toBe(202);
    check('post', acceptPath, sca.res);
    const declined = await acceptOne({ methodRef: 'pm_card_chargeDeclined' });
    expect(declined.res.statusCode).toBe(402);
    check('post', acceptPath, declined.res);
    const malformed = await accept(app, ok.offer.id, newKey(), { token: 'not-a-token', cart_id: ok.order.cartId });
    expect(malformed.statusCode).toBe(400);
    check('post', acceptPath, malformed);
    check('post', acceptPath, await accept(app, ok.offer.id, undefined, ok.body));

    check('get', '/wp-json/ocart/v1/orders/{external_id}', await app.inject({ method: 'GET', url: `/wp-json/ocart/v1/orders/${ok.order.externalId}`, headers: auth }));
    check('get', '/wp-json/ocart/v1/offers/{offer_id}', await app.inject({ method: 'GET', url: `/wp-json/ocart/v1/offers/${ok.offer.id}`, headers: auth }));
    check('get', '/wp-json/ocart/v1/offers/{offer_id}', await app.inject({ method: 'GET', url: '/wp-json/ocart/v1/offers/off_missing', headers: auth }));
    check('get', '/wp-json/ocart/v1/settings', await app.inject({ method: 'GET', url: '/wp-json/ocart/v1/settings' }));
    const settings = await app.inject({ method: 'GET', url: '/wp-json/ocart/v1/settings', headers: auth });
    check('get', '/wp-json/ocart/v1/settings', settings);
    const documented = (doc.paths['/wp-json/ocart/v1/settings']?.get?.responses['200']?.content?.['application/json']?.schema as { properties: object }).properties;
    expect(Object.keys(documented).sort()).toEqual([...SETTING_KEYS].sort());
    check(
      'post',
      '/wp-json/ocart/v1/webhooks/{gateway}',
      await app.inject({ method: 'POST', url: '/wp-json/ocart/v1/webhooks/sandbox', payload: '{}', headers: { 'content-type': 'application/json' } }),
    );
    check('get', '/readyz', await app.inject({ method: 'GET', url: '/readyz' }));
  });
});

describe('accept bodies are sent exactly as the workflow wrote them (response schemas document, they never filter)', () => {
  it.each([
    ['succeeded', 'pm_card_visa', 200],
    ['requires_action', 'pm_card_authenticationRequired', 202],
    ['declined', 'pm_card_chargeDeclined', 402],
  ] as const)('%s: the first answer is the recorded response byte for byte, and a replay repeats it', async (status, methodRef, http) => {
    const { res, key, offer, body } = await acceptOne({ methodRef });
    expect(res.statusCode).toBe(http);
    expect(res.json<{ status: string }>().status).toBe(status);
    const record = await pollUntil(
      () => prisma.accept.findUnique({ where: { idempotencyKey: key } }),
      (r) => Boolean(r?.response),
    );
    expect(res.body).toBe(JSON.stringify(record?.response));
    const replay = await accept(app, offer.id, key, body);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.statusCode).toBe(http);
    expect(replay.body).toBe(res.body);
  });

  it('a rejected accept (validation in the worker) keeps its body too', async () => {
    // A parent not paid: a refusal only the worker can make (a forged token is refused at the API's door).
    const { offer, body } = await readyToAccept(app, { status: 'pending' });
    const key = newKey();
    const res = await accept(app, offer.id, key, body);
    expect(res.json()).toMatchObject({ status: 'rejected', code: 'parent_not_paid', accept_id: key });
    const record = await pollUntil(
      () => prisma.accept.findUnique({ where: { idempotencyKey: key } }),
      (r) => Boolean(r?.response),
    );
    expect(res.body).toBe(JSON.stringify(record?.response));
  });

  it('a replay sends fields the schemas do not name, in their stored order', async () => {
    const { res, key, offer, body } = await acceptOne();
    expect(res.statusCode).toBe(200);
    // A body written by a later version, with a field this version's schemas do not know.
    const stored = { future_field: { nested: [1, 'two'] }, ...res.json<Record<string, unknown>>(), zz_last: true };
    await prisma.accept.update({ where: { idempotencyKey: key }, data: { response: stored } });
    const replay = await accept(app, offer.id, key, body);
    expect(replay.body).toBe(JSON.stringify(stored));
  });
});

describe('shop routes send only what their response schemas declare', () => {
  it('a new event subscriber comes back as id, url and active: the secret and creation time stored on its row are not sent', async () => {
    const secret = `whsec_${uid()}_0123456789abcdef`;
    const res = await app.inject({ method: 'POST', url: '/wp-json/ocart/v1/event-subscribers', headers: auth, payload: { url: 'https://shop.example/hooks/ocart', secret } });
    const id = res.json<{ id?: string }>().id ?? '';
    try {
      expect(res.statusCode, res.body).toBe(201);
      expect(Object.keys(res.json<Record<string, unknown>>()).sort()).toEqual(['active', 'id', 'url']);
      expect(res.body).not.toContain(secret);
      // Stored all the same: the schema left it out of the answer, not out of the database.
      expect((await prisma.eventSubscriber.findUniqueOrThrow({ where: { id } })).secret).toBe(secret);
    } finally {
      // No deliveries to an address that does not exist for the accepts of the tests after this one.
      await prisma.eventSubscriber.deleteMany({ where: { id } });
    }
  });
});

describe('metrics', () => {
  const apiMetrics = async () => (await app.inject({ method: 'GET', url: '/metrics' })).body;
  const workerMetrics = async () => (await fetch(`http://127.0.0.1:${workerMetricsServer.port}/metrics`)).text();

  it('GET /metrics moves after an accept: the accept counter by outcome and code, and the latency histogram', async () => {
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const before = res.body;
    const succeeded = { outcome: 'succeeded', replayed: 'false' };

    const ok = await acceptOne();
    expect(ok.res.statusCode).toBe(200);
    await accept(app, ok.offer.id, ok.key, ok.body); // a replay
    await acceptOne({ methodRef: 'pm_card_chargeDeclined' });
    await accept(app, ok.offer.id, undefined, ok.body); // no key

    const after = await apiMetrics();
    const delta = (name: string, labels: Record<string, string>) => sample(after, name, labels) - sample(before, name, labels);
    expect(delta(API_METRIC_NAMES.accepts, succeeded)).toBe(1);
    expect(delta(API_METRIC_NAMES.accepts, { outcome: 'succeeded', replayed: 'true' })).toBe(1);
    expect(delta(API_METRIC_NAMES.accepts, { outcome: 'declined', code: 'card_declined' })).toBe(1);
    expect(delta(API_METRIC_NAMES.accepts, { outcome: 'rejected', code: 'idempotency_key_missing' })).toBe(1);
    expect(delta(`${API_METRIC_NAMES.acceptDuration}_count`, succeeded)).toBe(1);
    expect(delta(`${API_METRIC_NAMES.acceptDuration}_bucket`, { ...succeeded, le: '+Inf' })).toBe(1);
    expect(sample(after, `${API_METRIC_NAMES.acceptDuration}_sum`, succeeded)).toBeGreaterThan(0);
    expect(delta(`${API_METRIC_NAMES.httpDuration}_count`, { route: '/wp-json/ocart/v1/upsells/:offer_id/accept', status_code: '200' })).toBe(2);
    expect(after).toContain('process_cpu_seconds_total');
  });

  it('the worker serves its own /metrics: gateway call latency and errors by gateway, SCA waits in flight, the outbox backlog', async () => {
    const before = await workerMetrics();
    const charge = { gateway: 'sandbox', operation: 'chargeOffSession' };
    await acceptOne();
    await acceptOne({ methodRef: 'pm_card_chargeDeclined' });
    const sca = await acceptOne({ methodRef: 'pm_card_authenticationRequired' });
    expect(sca.res.statusCode).toBe(202);

    const after = await workerMetrics();
    const delta = (name: string, labels: Record<string, string>) => sample(after, name, labels) - sample(before, name, labels);
    const count = `${WORKER_METRIC_NAMES.gatewayCallDuration}_count`;
    expect(delta(count, { ...charge, outcome: 'succeeded' })).toBe(1);
    expect(delta(count, { ...charge, outcome: 'declined' })).toBe(1);
    expect(delta(count, { ...charge, outcome: 'requires_action' })).toBe(1);
    expect(delta(count, { gateway: 'sandbox', operation: 'checkPaymentMethod', outcome: 'ok' })).toBeGreaterThanOrEqual(3);
    expect(sample(after, `${WORKER_METRIC_NAMES.gatewayCallDuration}_sum`, charge)).toBeGreaterThan(0);
    expect(after).toContain(`# TYPE ${WORKER_METRIC_NAMES.gatewayCallErrors} counter`);
    // Database-wide gauges, read when scraped.
    expect(sample(after, WORKER_METRIC_NAMES.scaWaits)).toBeGreaterThanOrEqual(1);
    for (const name of [WORKER_METRIC_NAMES.outboxPending, WORKER_METRIC_NAMES.outboxOldestPendingAge, WORKER_METRIC_NAMES.outboxFailed]) {
      expect(after).toMatch(new RegExp(`^${name} \\d`, 'm'));
    }
    const health = await fetch(`http://127.0.0.1:${workerMetricsServer.port}/healthz`);
    expect(health.status).toBe(200);
  });

  it('gateway calls are timed by outcome, and failures counted by kind, without changing what the adapter returns or throws', async () => {
    const metrics = createWorkerMetrics({ prisma });
    const flaky: PaymentGateway = {
      ...createSandboxGateway({ prisma, publicBaseUrl: config.publicBaseUrl, webhookSecret: SANDBOX_WEBHOOK_SECRET }),
      name: 'flaky',
      async confirmCharge() {
        throw new GatewayTransientError('connection reset');
      },
    };
    const gateways = instrumentGateways(createGatewayRegistry([flaky]), metrics);
    const refused = await gateways
      .byName('flaky')
      .refund('sbx_missing', 100, `refund-${uid()}`)
      .catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(GatewayRefusedError);
    await expect(gateways.byName('flaky').confirmCharge('sbx_1')).rejects.toBeInstanceOf(GatewayTransientError);
    expect(await gateways.forOrder({ savedPaymentMethod: { gateway: 'flaky' } }).findCharge({ idempotencyKey: `none-${uid()}` } as ChargeRequest)).toBeNull();
    expect(gateways.has('flaky')).toBe(true);
    expect(gateways.byName('flaky').name).toBe('flaky');

    const text = await metrics.registry.metrics();
    const errors = WORKER_METRIC_NAMES.gatewayCallErrors;
    expect(sample(text, errors, { gateway: 'flaky', operation: 'refund', kind: 'refused' })).toBe(1);
    expect(sample(text, errors, { gateway: 'flaky', operation: 'confirmCharge', kind: 'transient' })).toBe(1);
    expect(sample(text, errors)).toBe(2);
    expect(sample(text, `${WORKER_METRIC_NAMES.gatewayCallDuration}_count`, { gateway: 'flaky', operation: 'findCharge', outcome: 'not_found' })).toBe(1);
  });

  it('the Temporal SDK exports its worker metrics on WORKER_SDK_METRICS_PORT', async () => {
    await acceptOne();
    const text = await pollUntil(
      () => fetch(`http://127.0.0.1:${sdkMetricsPort}/metrics`).then((r) => r.text()),
      (t) => t.includes('temporal_workflow_completed_total') || t.includes('temporal_activity_execution_latency_seconds'),
      15_000,
    );
    expect(text).toMatch(/^temporal_worker_task_slots_available\{/m);
    expect(text).toMatch(/^temporal_activity_execution_latency_seconds_bucket\{/m);
  });
});

describe('logs', () => {
  it('every API line of an accept is JSON and carries the idempotency key, workflow id, offer and parent order', async () => {
    const { key, res, offer, order, token } = await acceptOne();
    expect(res.statusCode).toBe(200);
    const lines = parsed(apiLines).filter((l) => l.accept_id === key);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line).toMatchObject({ workflow_id: key, offer_id: offer.id, parent_order_id: order.externalId, cart_id: order.cartId, service: 'ocart-api' });
    }
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: 'request completed', level: 'info', statusCode: 200, outcome: 'succeeded', route: '/wp-json/ocart/v1/upsells/:offer_id/accept' }),
    );
    const all = apiLines.join('');
    expect(all).not.toContain(token);
    expect(all).not.toContain(API_KEY);
  });

  it('a refused accept is logged with its code and whatever identity it had', async () => {
    const { offer, order, body } = await readyToAccept(app);
    await accept(app, offer.id, undefined, body);
    const line = parsed(apiLines).find((l) => l.cart_id === order.cartId && l.code === 'idempotency_key_missing');
    expect(line).toMatchObject({ offer_id: offer.id, parent_order_id: order.externalId, statusCode: 400, outcome: 'rejected' });
  });

  it('secrets are redacted: authorization and signature headers, tokens, configured secrets', async () => {
    const { token } = await readyToAccept(app);
    const before = apiLines.length;
    app.log.info(
      {
        req: { headers: { authorization: `Bearer ${API_KEY}`, 'stripe-signature': 't=1,v1=abc', 'x-sandbox-signature': 'deadbeef' } },
        body: { token },
        config: { tokenKeys: config.tokenKeys, apiKey: API_KEY },
      },
      `an error that quotes the key ${API_KEY} and ${token}`,
    );
    const written = apiLines.slice(before).join('');
    expect(written).toContain('[Redacted]');
    for (const secret of [API_KEY, token, 't=1,v1=abc', 'deadbeef', ...config.tokenKeys.map((k) => k.secret)]) expect(written).not.toContain(secret);
  });

  it('worker lines are JSON from the Temporal Runtime logger, with the accept id, offer and parent order; no secrets', async () => {
    const { key, res, offer, order, token } = await acceptOne();
    expect(res.statusCode).toBe(200);
    const mine = await pollUntil(
      async () => parsed(workerLines).filter((l) => l.accept_id === key),
      (ls) => ls.some((l) => l.msg === 'Workflow completed'),
    );
    for (const line of mine) expect(line).toMatchObject({ workflow_id: key, service: 'ocart-worker' });
    // Activity lines once the activity has its input; workflow lines from its search attributes.
    const labelled = mine.filter((l) => l.sdkComponent === 'worker' && l.activityType === 'chargeOffSession' && l.msg === 'Activity completed');
    expect(labelled).toEqual([expect.objectContaining({ offer_id: offer.id, parent_order_id: order.externalId })]);
    // The workflow's own lines (the SDK's lifecycle lines included) read them from its search attributes.
    expect(mine.find((l) => l.msg === 'Workflow started')).toMatchObject({ workflowType: 'acceptUpsell', offer_id: offer.id });
    expect(mine.find((l) => l.msg === 'Workflow completed')).toMatchObject({ offer_id: offer.id, parent_order_id: order.externalId });
    const all = workerLines.join('');
    expect(all).not.toContain(token);
    for (const secret of secretValues(config)) expect(all).not.toContain(secret);
    // The webpack report of the workflow bundle is demoted to debug.
    expect(
      parsed(workerLines)
        .filter((l) => typeof l.msg === 'string' && /webpack [\d.]+ compiled/.test(l.msg))
        .every((l) => l.level === 'debug'),
    ).toBe(true);
  });
});

describe('Temporal visibility: what ops type in the UI or CLI', () => {
  const find = (query: string, key: string) =>
    pollUntil(
      async () => {
        const ids: string[] = [];
        for await (const wf of client.workflow.list({ query })) ids.push(wf.workflowId);
        return ids;
      },
      (ids) => ids.includes(key),
      20_000,
    );

  it('finds an accept by its key, its parent order, its offer and outcome', async () => {
    const { key, offer, order } = await acceptOne();
    expect(await find(`WorkflowId = "${key}"`, key)).toEqual([key]);
    expect(await find(`ParentOrderId = "${order.externalId}"`, key)).toContain(key);
    expect(await find(`OfferId = "${offer.id}" AND UpsellOutcome = "succeeded"`, key)).toContain(key);
    expect(await find(`WorkflowType = "acceptUpsell" AND Gateway = "sandbox" AND ExecutionStatus = "Completed" AND ParentOrderId = "${order.externalId}"`, key)).toContain(key);
    const handle = client.workflow.getHandle(key);
    expect((await handle.describe()).memo).toEqual({ amount: 1500, currency: 'USD' });
    // What the server writes for it: the memo and the parent order came with the start (the token's
    // price and parent), so the run adds no memo, one patch marker (which the SDK follows with its
    // TemporalChangeVersion upsert) and one upsert of ours. Each upsert is a visibility write.
    const events = (await handle.fetchHistory()).events ?? [];
    const started = events[0]?.workflowExecutionStartedEventAttributes;
    expect(started?.memo?.fields && Object.keys(started.memo.fields).sort()).toEqual(['amount', 'currency']);
    expect(started?.searchAttributes?.indexedFields && Object.keys(started.searchAttributes.indexedFields).sort()).toEqual(['OfferId', 'ParentOrderId']);
    expect(events.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED)).toHaveLength(0);
    const upserted = events.map((e) => e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields).filter((f) => f !== undefined && f !== null);
    expect(upserted.map((fields) => Object.keys(fields).sort())).toEqual([['TemporalChangeVersion'], ['Gateway', 'ParentOrderId', 'UpsellOutcome']]);
    expect(events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')).toHaveLength(1);
  });

  it('finds the accepts still waiting for the buyer to authenticate', async () => {
    const { key, offer, res } = await acceptOne({ methodRef: 'pm_card_authenticationRequired' });
    expect(res.statusCode).toBe(202);
    expect(await find(`OfferId = "${offer.id}" AND UpsellOutcome = "requires_action" AND ExecutionStatus = "Running"`, key)).toEqual([key]);
    // The same set counted across all offers: SCA waits in flight, as Temporal sees them.
    const { count } = await client.workflow.count(`UpsellOutcome = "requires_action" AND ExecutionStatus = "Running"`);
    expect(count).toBeGreaterThanOrEqual(1);
  });
});

describe('production entrypoints: api/main.ts and worker/main.ts', () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  function start(script: string, env: NodeJS.ProcessEnv) {
    const child = spawn(TSX, [script], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const out: string[] = [];
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const text = partial + chunk.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      out.push(...lines.filter(Boolean));
    });
    const err: string[] = [];
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, out, err, exited };
  }

  it('start, serve, and on SIGTERM finish in-flight work and exit 0', { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ocart-bundle-'));
    const bundle = join(dir, 'workflow-bundle.js');
    await promisify(execFile)(TSX, ['worker/bundle.ts', bundle], { cwd: ROOT });

    const [port, workerPort, sdkPort] = [await freePort(), await freePort(), await freePort()];
    const base = `http://127.0.0.1:${port}`;
    const env = {
      ...process.env,
      ...testEnv({
        PORT: String(port),
        PUBLIC_BASE_URL: base,
        WORKER_METRICS_PORT: String(workerPort),
        WORKER_SDK_METRICS_PORT: String(sdkPort),
        WORKER_WORKFLOW_BUNDLE: bundle,
        // Slow enough that the accept below is still running when the API is told to stop.
        SANDBOX_LATENCY_MS: '1200',
        LOG_LEVEL: 'info',
      }),
    };
    const workerProcess = start('worker/main.ts', env);
    const apiProcess = start('api/main.ts', env);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${workerPort}/healthz`)).ok, 60_000, 'the worker');
    await waitFor(async () => (await fetch(`${base}/readyz`)).ok, 60_000, 'the API');

    const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
      fetch(`${base}${path}`, { method, headers: { 'content-type': 'application/json', ...auth, ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
    const orderId = `wc-${uid()}`;
    const cartId = `cart-${uid()}`;
    const order = await call('PUT', parentOrderPath(orderId), parentOrderBody({ cartId }));
    expect(order.status).toBe(200);
    const offer = (await (await call('POST', '/wp-json/ocart/v1/offers', { product_id: 'prod_socks', name: 'Socks', amount: 1500, currency: 'USD' })).json()) as { id: string };
    const minted = (await (await call('POST', `/wp-json/ocart/v1/upsells/${offer.id}/tokens`, { order_id: orderId, cart_id: cartId })).json()) as { token: string };
    const key = newKey();

    const inFlight = fetch(`${base}/wp-json/ocart/v1/upsells/${offer.id}/accept`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-idempotency-key': key },
      body: JSON.stringify({ token: minted.token, cart_id: cartId }),
    });
    await new Promise((r) => setTimeout(r, 500));
    apiProcess.child.kill('SIGTERM');
    const answered = await inFlight;
    expect(answered.status).toBe(200);
    expect(((await answered.json()) as { status: string }).status).toBe('succeeded');
    expect(await apiProcess.exited, `${apiProcess.err.join('')}\n${apiProcess.out.join('\n')}`).toBe(0);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();

    const apiLog = apiProcess.out.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(apiLog.map((l) => l.msg)).toEqual(expect.arrayContaining(['api started', 'shutting down: no new requests; finishing in-flight ones', 'stopped']));
    expect(apiLog).toContainEqual(expect.objectContaining({ accept_id: key, offer_id: offer.id, parent_order_id: orderId, outcome: 'succeeded' }));

    // The worker, before it stops: its metrics, the SDK's, and then a drain on SIGTERM.
    const workerText = await (await fetch(`http://127.0.0.1:${workerPort}/metrics`)).text();
    expect(sample(workerText, `${WORKER_METRIC_NAMES.gatewayCallDuration}_count`, { gateway: 'sandbox', operation: 'chargeOffSession', outcome: 'succeeded' })).toBe(1);
    expect(await (await fetch(`http://127.0.0.1:${sdkPort}/metrics`)).text()).toContain('temporal_');
    workerProcess.child.kill('SIGTERM');
    expect(await workerProcess.exited, `${workerProcess.err.join('')}\n${workerProcess.out.slice(-20).join('\n')}`).toBe(0);
    const workerLog = workerProcess.out.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(workerLog.map((l) => l.msg)).toEqual(expect.arrayContaining(['worker started', 'worker stopped']));
    expect([...apiProcess.out, ...workerProcess.out].join('')).not.toContain(minted.token);
  });
});

describe('docker-compose.yml', () => {
  it('parses with the dummy required variables (scripts/check-compose.sh)', async () => {
    const { stdout } = await promisify(execFile)('bash', [join(ROOT, 'scripts/check-compose.sh')], { cwd: ROOT });
    expect(stdout).toMatch(/docker-compose\.yml is valid|skipping/);
  });
});
