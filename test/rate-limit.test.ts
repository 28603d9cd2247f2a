/**
 * Rate limits that hold in production: counted in PostgreSQL (shared by every API replica), per
 * buyer IP behind a trusted proxy, on the accept and the status routes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createGatewayRegistry } from '../gateways/registry.ts';
import { buildApp } from '../api/app.ts';
import { loadApiConfig, parseTrustProxy } from '../api/config.ts';
import { hitWindow } from '../db/rate-limits.ts';
import { createAcceptFlows } from '../api/temporal.ts';
import { ConfigError } from '../config/env.ts';
import { createPrisma, type Db } from '../db/client.ts';
import { statusUrl } from '../workflows/messages.ts';
import { expectNothingCharged } from './helpers/assertions.ts';
import { accept, readyToAccept } from './helpers/shop.ts';
import { newKey, uid } from './helpers/ids.ts';
import { startTestStack, testEnv, type TestStack } from './helpers/stack.ts';

const STATUS_LIMIT = 4;
let stack: TestStack;
/** A second API process on the same database and Temporal: its own app, Prisma pool and limiter. */
let replica: FastifyInstance;
let replicaDb: Db;

beforeAll(async () => {
  stack = await startTestStack({
    env: {
      OCART_RATE_LIMIT_CART_PER_MIN: '3',
      OCART_RATE_LIMIT_IP_PER_MIN: '8',
      OCART_RATE_LIMIT_STATUS_IP_PER_MIN: String(STATUS_LIMIT),
      // inject() comes from 127.0.0.1: that is the "load balancer" here.
      OCART_TRUST_PROXY: '127.0.0.1',
    },
  });
  replicaDb = createPrisma(stack.config.databaseUrl, 2);
  // Limits live in the database every test file shares; the files before this one spoke from
  // 127.0.0.1 too. Start this file's windows empty so the counts below are this file's alone.
  await replicaDb.$executeRaw`DELETE FROM rate_limits`;
  replica = await buildApp({
    config: stack.config,
    prisma: replicaDb,
    flows: createAcceptFlows(stack.client, stack.taskQueue),
    // The API asks the registry only for webhooks, which this test never sends.
    gateways: createGatewayRegistry([]),
    sandbox: null,
    clock: () => new Date(),
  });
  await replica.ready();
});
afterAll(async () => {
  await replica?.close();
  await replicaDb?.$disconnect();
  await stack?.stop();
});

/** A status poll from a buyer behind the load balancer. */
function poll(app: FastifyInstance, buyerIp: string, key = newKey()) {
  return app.inject({ method: 'GET', url: statusUrl(key, 'cart-poller'), headers: { 'x-forwarded-for': buyerIp } });
}

describe('rate limiting on the accept route', () => {
  it('per cart: the 4th accept in a minute gets 429 rate_limited with Retry-After and accept_id, and charges nothing', async () => {
    const { offer, body } = await readyToAccept(stack.app, { methodRef: 'pm_card_chargeDeclined' });
    for (let i = 0; i < 3; i++) expect((await accept(stack.app, offer.id, newKey(), body)).statusCode).not.toBe(429);
    const key = newKey();
    const limited = await accept(stack.app, offer.id, key, body);
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ status: 'rejected', code: 'rate_limited', accept_id: key });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    await expectNothingCharged(stack.prisma, key);
    expect(await stack.prisma.accept.count({ where: { idempotencyKey: key } })).toBe(0);
  });

  it('per IP: other carts from the same address are limited too', async () => {
    // 4 requests were counted for this IP above; 4 more from fresh carts reach the limit of 8.
    for (let i = 0; i < 4; i++) {
      const { offer, body } = await readyToAccept(stack.app, { methodRef: 'pm_card_chargeDeclined' });
      expect((await accept(stack.app, offer.id, newKey(), body)).statusCode).not.toBe(429);
    }
    const { offer, body } = await readyToAccept(stack.app);
    const res = await accept(stack.app, offer.id, newKey(), body);
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBeDefined();
  });
});

describe('limits shared by every API replica', () => {
  it('accepts for one cart alternating between two API instances meet the limit at the configured total, not twice it', async () => {
    const { offer, body } = await readyToAccept(stack.app, { methodRef: 'pm_card_chargeDeclined' });
    const buyer = `198.51.100.${Math.floor(Math.random() * 200) + 1}`;
    const send = (app: FastifyInstance, key: string) =>
      app.inject({
        method: 'POST',
        url: `/wp-json/ocart/v1/upsells/${offer.id}/accept`,
        headers: { 'content-type': 'application/json', 'x-idempotency-key': key, 'x-forwarded-for': buyer },
        payload: JSON.stringify(body),
      });
    const codes: number[] = [];
    for (const app of [stack.app, replica, stack.app]) codes.push((await send(app, newKey())).statusCode);
    expect(codes).not.toContain(429);
    const key = newKey();
    const fourth = await send(replica, key);
    expect(fourth.statusCode).toBe(429);
    expect(fourth.json()).toMatchObject({ code: 'rate_limited', accept_id: key });
    expect(await stack.prisma.accept.count({ where: { idempotencyKey: key } })).toBe(0);
  });

  it('status polls alternating between two API instances are limited at the configured total (the status route is limited too)', async () => {
    const buyer = `203.0.113.${Math.floor(Math.random() * 200) + 1}`;
    for (let i = 0; i < STATUS_LIMIT; i++) {
      const res = await poll(i % 2 === 0 ? stack.app : replica, buyer);
      expect(res.statusCode, res.body).toBe(404);
    }
    const key = newKey();
    const limited = await poll(replica, buyer, key);
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ status: 'rejected', code: 'rate_limited', accept_id: key });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  });
});

describe('per IP behind a load balancer (OCART_TRUST_PROXY)', () => {
  it('with the proxy trusted, two buyers behind it are counted apart', async () => {
    const a = `192.0.2.${Math.floor(Math.random() * 100) + 1}`;
    const b = `192.0.2.${Math.floor(Math.random() * 100) + 101}`;
    for (let i = 0; i < STATUS_LIMIT; i++) await poll(stack.app, a);
    expect((await poll(stack.app, a)).statusCode).toBe(429);
    expect((await poll(stack.app, b)).statusCode).toBe(404);
  });

  it('without it, X-Forwarded-For is a header anyone writes: the socket address is counted', async () => {
    const untrusting = await buildApp({
      config: { ...stack.config, trustProxy: false },
      prisma: replicaDb,
      flows: createAcceptFlows(stack.client, stack.taskQueue),
      gateways: createGatewayRegistry([]),
      sandbox: null,
      clock: () => new Date(),
    });
    try {
      const socket = `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.7`;
      const codes: number[] = [];
      for (let i = 0; i <= STATUS_LIMIT; i++) {
        const res = await untrusting.inject({
          method: 'GET',
          url: statusUrl(newKey(), 'cart-poller'),
          remoteAddress: socket,
          headers: { 'x-forwarded-for': `192.0.2.${i + 1}` },
        });
        codes.push(res.statusCode);
      }
      expect(codes).toEqual([...Array<number>(STATUS_LIMIT).fill(404), 429]);
    } finally {
      await untrusting.close();
    }
  });
});

describe('the PostgreSQL store', () => {
  it('counts hits in a fixed window and starts a new one when it ends', async () => {
    const key = `test-window:${uid()}`;
    // The window is timed by the caller's clock: no waiting.
    const t0 = Date.parse('2026-12-03T10:00:00.000Z');
    expect((await hitWindow(stack.prisma, key, 400, new Date(t0))).current).toBe(1);
    const second = await hitWindow(stack.prisma, key, 400, new Date(t0 + 100));
    expect(second).toEqual({ current: 2, ttl: 300 });
    expect((await hitWindow(stack.prisma, key, 400, new Date(t0 + 399))).current).toBe(3);
    expect(await hitWindow(stack.prisma, key, 400, new Date(t0 + 400))).toEqual({ current: 1, ttl: 400 });
  });

  it('concurrent hits from two clients lose no count', async () => {
    const key = `test-concurrent:${uid()}`;
    const hits = await Promise.all(Array.from({ length: 20 }, (_, i) => hitWindow(i % 2 ? stack.prisma : replicaDb, key, 60_000, new Date())));
    expect(hits.map((h) => h.current).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });
});

describe('configuration', () => {
  it('OCART_TRUST_PROXY takes false, true, a hop count, or addresses/CIDRs, and refuses anything else', () => {
    expect(parseTrustProxy(undefined)).toBe(false);
    expect(parseTrustProxy('false')).toBe(false);
    expect(parseTrustProxy('true')).toBe(true);
    expect(parseTrustProxy('2')).toBe(2);
    expect(parseTrustProxy('10.0.0.0/8, 192.168.1.7,::1/128,loopback')).toEqual(['10.0.0.0/8', '192.168.1.7', '::1/128', 'loopback']);
    for (const bad of ['yes', '10.0.0.0/33', '300.1.1.1', '10.0.0.1/8/2', 'fe80::/129', '99', ' , ']) {
      expect(() => parseTrustProxy(bad), bad).toThrow(ConfigError);
    }
    expect(() => loadApiConfig(testEnv({ OCART_TRUST_PROXY: 'everyone' }))).toThrow(/OCART_TRUST_PROXY/);
    expect(loadApiConfig(testEnv()).trustProxy).toBe(false);
  });

  it('OCART_ACCEPT_WAIT_MS defaults to 25 s and is validated', () => {
    expect(loadApiConfig(testEnv()).acceptWaitMs).toBe(25_000);
    expect(loadApiConfig(testEnv({ OCART_ACCEPT_WAIT_MS: '5000' })).acceptWaitMs).toBe(5000);
    for (const bad of ['0', '-1', 'soon', '999999999']) {
      expect(() => loadApiConfig(testEnv({ OCART_ACCEPT_WAIT_MS: bad })), bad).toThrow(/OCART_ACCEPT_WAIT_MS/);
    }
  });
});
