/**
 * Request limits shared by every API replica: the maintained @fastify/rate-limit plugin with its
 * counters in PostgreSQL, so N replicas behind a load balancer enforce one limit, not N. Redis is not
 * part of this service; the shop database already is.
 *
 * Fixed windows: one row per limited key (`accept-ip:…`, `accept-cart:…`, `status-ip:…`), one
 * upsert … RETURNING per hit (the row lock makes concurrent hits from every replica count exactly).
 * A key's window opens at its first hit and lasts timeWindow, as in the plugin's own LocalStore, timed
 * by the app's injected clock (the same one every other timestamp comes from). Rows whose window ended
 * are pruned now and then. The SQL is in db/rate-limits.ts.
 */
import fastifyRateLimit, { type FastifyRateLimitStore, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../../db/client.ts';
import { hitWindow, pruneEndedWindows } from '../../db/rate-limits.ts';
import { DomainError } from '../../domain/errors.ts';

const PRUNE_EVERY_MS = 60_000;

/**
 * The plugin's custom store interface (`incr`, `child`) on PostgreSQL. The plugin constructs the
 * store itself, so the database is closed over here. Failures reach the caller (see `enforce`).
 */
export function pgRateLimitStore(db: Db, clock: () => Date, onPruneError: (err: unknown) => void): FastifyRateLimitStoreCtor {
  let nextPrune = 0;
  const prune = (now: Date) => {
    if (now.getTime() < nextPrune) return;
    nextPrune = now.getTime() + PRUNE_EVERY_MS;
    // Off the request's path; every replica may prune, and deleting what another already deleted is harmless.
    pruneEndedWindows(db.sql, now).catch(onPruneError);
  };
  class PgRateLimitStore implements FastifyRateLimitStore {
    // The plugin passes the window (and the limit) with every hit: one store serves every limiter.
    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow?: number): void {
      const now = clock();
      prune(now);
      hitWindow(db.sql, key, timeWindow ?? 60_000, now).then(
        (result) => callback(null, result),
        (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
      );
    }

    child(): FastifyRateLimitStore {
      return this;
    }
  }
  return PgRateLimitStore;
}

export async function registerRateLimits(app: FastifyInstance, db: Db, clock: () => Date): Promise<void> {
  // Not global: each limited route calls its limiters itself (`enforce`), at the point where its key
  // is known and after the in-process refusals that must cost no database round trip.
  await app.register(fastifyRateLimit, {
    global: false,
    store: pgRateLimitStore(db, clock, (err) => app.log.warn({ err }, 'pruning old rate-limit windows failed')),
  });
}

export type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

/** A fixed one-minute window of `max` requests per key, the key made from the request. */
export function perMinute(app: FastifyInstance, max: number, key: (request: FastifyRequest) => string): Limiter {
  return app.createRateLimit({ max, timeWindow: 60_000, keyGenerator: key });
}

/**
 * Counts the request on every limiter at once; over any limit: 429 rate_limited with Retry-After
 * (the longest wait). When the database cannot count, the request goes on: accepts ride out a
 * database outage in the workflow, and a limiter must not turn that outage into refusals.
 */
export async function enforce(request: FastifyRequest, reply: FastifyReply, limiters: Limiter[]): Promise<void> {
  // Settled, not all: one limiter the store could not count must not hide another's "over".
  const settled = await Promise.allSettled(limiters.map((limit) => limit(request)));
  let wait = 0;
  for (const r of settled) {
    if (r.status === 'rejected') request.log.warn({ err: r.reason as unknown }, 'rate limit store unavailable; request not counted');
    else if (!r.value.isAllowed && r.value.isExceeded) wait = Math.max(wait, r.value.ttlInSeconds, 1);
  }
  if (wait > 0) {
    reply.header('Retry-After', String(wait));
    throw new DomainError('rate_limited', `too many requests; retry in ${wait} s`);
  }
}
