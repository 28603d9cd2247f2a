/**
 * The outbox relay on real PostgreSQL (a database of this file's own, so no other file's relay or
 * subscriber takes part) with real HTTP subscribers: a failing subscriber is retried on the backoff
 * and the event finally marked failed; a wake starts one round after its delay; two relays on one
 * database deliver each event once; a worker process killed mid-delivery leaves the event to the next
 * worker, which delivers it.
 * (That an accepted event reaches a subscriber signed, with its stable id, is test/accept-outcomes.)
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_ID_HEADER, EVENT_RETRY, retryDelayMs } from '../activities/event-delivery.ts';
import { createPrisma, type Db } from '../db/client.ts';
import { createFreshDatabase, type FreshDatabase } from '../scripts/lib/fresh-db.ts';
import { launch, type ServiceProcess } from '../scripts/lib/services.ts';
import { startOutboxRelay, type OutboxRelay } from '../worker/outbox-relay.ts';
import { pollUntil } from './helpers/poll.ts';
import { testEnv } from './helpers/stack.ts';

let db: FreshDatabase;
let prisma: Db;
beforeAll(async () => {
  db = await createFreshDatabase('ocart_relay');
  prisma = createPrisma(db.url, 5);
});
afterAll(async () => {
  await prisma?.$disconnect();
  await db?.drop();
});

interface Received {
  id: string;
  atMs: number;
}

/** A subscriber endpoint: `answer` decides each request's fate (a status, or leave it hanging). */
async function subscriber(answer: (n: number, req: IncomingMessage, res: ServerResponse) => void) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push({ id: String(req.headers[EVENT_ID_HEADER]), atMs: Date.now() });
      answer(received.length, req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const sub = await prisma.eventSubscriber.create({ data: { id: `sub_${randomUUID()}`, url, secret: 'relay-test-secret-0123456789' } });
  return {
    received,
    of: (id: string) => received.filter((r) => r.id === id),
    async close() {
      await prisma.eventSubscriber.update({ where: { id: sub.id }, data: { active: false } });
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Outbox rows as the order write leaves them: pending, due now. */
async function writeEvents(n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, () => `evt_${randomUUID()}`);
  await prisma.outboxEvent.createMany({
    data: ids.map((id) => ({ id, type: 'ocart/upsell/accepted', acceptKey: `key_${id}`, payload: { id, type: 'ocart/upsell/accepted', data: {} } })),
  });
  return ids;
}

const rows = (ids: string[]) => prisma.outboxEvent.findMany({ where: { id: { in: ids } }, orderBy: { id: 'asc' } });

describe('outbox relay', () => {
  it("keeps the deliverEvent activity's retry schedule: 30 attempts, 2 s doubling to at most an hour, then failed", () => {
    const waits = Array.from({ length: 30 }, (_, i) => retryDelayMs(EVENT_RETRY, i + 1));
    expect(waits.slice(0, 4)).toEqual([2_000, 4_000, 8_000, 16_000]);
    expect(waits[28]).toBe(3_600_000);
    expect(waits[29]).toBeNull();
    const totalHours = waits.reduce<number>((sum, w) => sum + (w ?? 0), 0) / 3_600_000;
    expect(totalHours).toBeGreaterThan(18);
    expect(totalHours).toBeLessThan(24);
  });

  it('retries a failing subscriber on the backoff, then marks the event failed with its last error', async () => {
    const sub = await subscriber((_n, _req, res) => res.writeHead(503).end());
    const retry = { initialIntervalMs: 100, backoffCoefficient: 2, maximumIntervalMs: 300, maximumAttempts: 4 };
    const relay = startOutboxRelay({ prisma, pollMs: 20, retry });
    try {
      const [id] = await writeEvents(1);
      const [event] = await pollUntil(
        () => rows([id!]),
        ([e]) => e?.status !== 'pending',
        15_000,
      );
      expect(event).toMatchObject({ status: 'failed', attempts: 4 });
      expect(event!.lastError).toMatch(/HTTP 503/);
      const posts = sub.of(id!);
      expect(posts).toHaveLength(4);
      // Each wait at least the schedule's (100, 200, then capped at 300 ms).
      const gaps = posts.slice(1).map((p, i) => p.atMs - posts[i]!.atMs);
      [100, 200, 300].forEach((least, i) => expect(gaps[i]).toBeGreaterThanOrEqual(least - 5));
      // Failed is final: nothing more is sent.
      await new Promise((r) => setTimeout(r, 500));
      expect(sub.of(id!)).toHaveLength(4);
    } finally {
      await relay.stop();
      await sub.close();
    }
  });

  it('a subscriber that fails once gets the event again and it ends delivered', async () => {
    const sub = await subscriber((n, _req, res) => res.writeHead(n === 1 ? 500 : 204).end());
    const relay = startOutboxRelay({ prisma, pollMs: 20, retry: { ...EVENT_RETRY, initialIntervalMs: 100 } });
    try {
      const [id] = await writeEvents(1);
      const [event] = await pollUntil(
        () => rows([id!]),
        ([e]) => e?.status !== 'pending',
        15_000,
      );
      expect(event).toMatchObject({ status: 'delivered', attempts: 2, lastError: null });
      expect(event!.deliveredAt).toBeInstanceOf(Date);
      expect(sub.of(id!)).toHaveLength(2);
    } finally {
      await relay.stop();
      await sub.close();
    }
  });

  it('a wake (an order write) starts one round after wakeDelayMs, which takes the wakes that came meanwhile; with 0 at once', async () => {
    const sub = await subscriber((_n, _req, res) => res.writeHead(204).end());
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    // The relay's claims, seen on its way to the database: how many events each round took.
    const claimed: number[] = [];
    const sql = new Proxy(prisma.sql, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (prop !== '$queryRaw' || typeof value !== 'function') return value;
        return async (strings: TemplateStringsArray, ...values: unknown[]) => {
          const rows = (await value.call(target, strings, ...values)) as unknown[];
          if (strings.join('').includes('SKIP LOCKED')) claimed.push(rows.length);
          return rows;
        };
      },
    });
    const watched = new Proxy(prisma, { get: (target, prop, receiver): unknown => (prop === 'sql' ? sql : Reflect.get(target, prop, receiver)) });
    // Its first round runs at start and finds nothing; the next poll is a minute away, so only a wake delivers.
    const delayed = startOutboxRelay({ prisma: watched, pollMs: 60_000, wakeDelayMs: 1_000 });
    try {
      await pause(200);
      const [first] = await writeEvents(1);
      const wokenAt = Date.now();
      delayed.wake();
      await pause(300);
      const [second] = await writeEvents(1);
      delayed.wake();
      await pollUntil(
        () => rows([first!, second!]),
        (es) => es.every((e) => e.status === 'delivered'),
        5_000,
      );
      // One round after the start's empty one, for both events; none more once the second wake's own
      // second would have passed.
      await pause(wokenAt + 1_600 - Date.now());
      expect(claimed).toEqual([0, 2]);
      const after = [first!, second!].map((id) => sub.of(id)[0]!.atMs - wokenAt);
      expect(Math.min(...after)).toBeGreaterThanOrEqual(990);
      // Timed from the first wake: the second did not push the round back by another second.
      expect(Math.max(...after)).toBeLessThan(1_250);
    } finally {
      await delayed.stop();
    }
    const immediate = startOutboxRelay({ prisma, pollMs: 60_000, wakeDelayMs: 0 });
    try {
      await pause(200);
      const [id] = await writeEvents(1);
      const wokenAt = Date.now();
      immediate.wake();
      await pollUntil(
        () => rows([id!]),
        ([e]) => e?.status === 'delivered',
        5_000,
      );
      expect(sub.of(id!)[0]!.atMs - wokenAt).toBeLessThan(500);
    } finally {
      await immediate.stop();
      await sub.close();
    }
  });

  it('two relays on one database deliver each of 60 events exactly once', async () => {
    // A little latency per POST, so both relays have deliveries under way at the same time.
    const sub = await subscriber((_n, _req, res) => setTimeout(() => res.writeHead(200).end(), 5));
    const second = createPrisma(db.url, 5);
    const delivered: string[][] = [[], []];
    const relays: OutboxRelay[] = [prisma, second].map((p, i) => startOutboxRelay({ prisma: p, pollMs: 10, batchSize: 4, onDelivered: (e) => delivered[i]!.push(e.id) }));
    try {
      const ids = await writeEvents(60);
      const events = await pollUntil(
        () => rows(ids),
        (es) => es.every((e) => e.status !== 'pending'),
        30_000,
      );
      expect(events.map((e) => [e.status, e.attempts])).toEqual(ids.map(() => ['delivered', 1]));
      for (const id of ids) expect(sub.of(id), id).toHaveLength(1);
      // Both took part: the claim skips what the other holds rather than queueing behind it.
      expect(delivered[0]!.length + delivered[1]!.length).toBe(60);
      expect(delivered[0]!.length).toBeGreaterThan(0);
      expect(delivered[1]!.length).toBeGreaterThan(0);
    } finally {
      await Promise.all(relays.map((r) => r.stop()));
      await second.$disconnect();
      await sub.close();
    }
  });

  it('a worker process killed mid-delivery: the event stays pending, and the next worker delivers it', async () => {
    let hang = true;
    const sub = await subscriber((_n, _req, res) => {
      // The first POST never gets an answer: the worker dies while it waits.
      if (!hang) res.writeHead(200).end();
    });
    const env = { ...process.env, ...testEnv({ DATABASE_URL: db.url, OUTBOX_LEASE_MS: '2000', OUTBOX_POLL_MS: '50', LOG_LEVEL: 'warn' }) };
    const workers: ServiceProcess[] = [];
    try {
      const [id] = await writeEvents(1);
      workers.push(launch('worker/main.ts', env));
      const first = await pollUntil(
        () => sub.of(id!),
        (posts) => posts.length > 0,
        120_000,
        50,
      );
      expect(first, workers[0]!.output()).toHaveLength(1);
      await workers[0]!.kill();
      const [afterKill] = await rows([id!]);
      expect(afterKill).toMatchObject({ status: 'pending', attempts: 1 });

      hang = false;
      workers.push(launch('worker/main.ts', env));
      const [event] = await pollUntil(
        () => rows([id!]),
        ([e]) => e?.status !== 'pending',
        120_000,
      );
      expect(event, workers[1]!.output()).toMatchObject({ status: 'delivered', attempts: 2 });
      expect(sub.of(id!)).toHaveLength(2);
    } finally {
      await Promise.all(workers.map((w) => w.kill()));
      await sub.close();
    }
  }, 300_000);
});
