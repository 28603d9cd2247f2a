/**
 * The outbox relay: delivers the events the order write put in the outbox, outside any workflow. It
 * runs in every worker process. Each round claims due events (db/outbox.ts claimDueEvents: several
 * workers never take the same event at once), POSTs each to the subscribers as the deliverEvent
 * activity did (activities/event-delivery.ts: same signature, same headers, same per-POST timeout),
 * and then marks it delivered, or schedules its next attempt on the same backoff (EVENT_RETRY), or
 * after the last attempt marks it failed. A worker that dies mid-delivery leaves its claimed events
 * pending; they are due again when their lease runs out, and any worker delivers them.
 *
 * It wakes every `pollMs`, at once after a full batch, and `wakeDelayMs` after a wake() (an order
 * write). Wakes within that delay make one round: under load the events of several accepts go out in
 * one claim and one read of the subscribers, and at low load the round usually runs after the
 * accept's workflow task has been completed rather than in the middle of it, on the same thread.
 * Only timing depends on it: an event written is delivered by a wake's round or by the next poll.
 */
import type { Db } from '../db/client.ts';
import { claimDueEvents, markEventDelivered, recordFailedAttempt, type ClaimedEvent } from '../db/outbox.ts';
import { activeSubscribers, type Subscriber } from '../db/event-subscribers.ts';
import { EVENT_RETRY, deliveryError, postToSubscribers, retryDelayMs, type RetrySchedule } from '../activities/event-delivery.ts';

export interface OutboxRelayOptions {
  prisma: Db;
  clock?: () => Date;
  /** timeout of each POST to a subscriber */
  timeoutMs?: number;
  /** how often the relay looks for due events when it has nothing to do */
  pollMs?: number;
  /** after wake(), how long the relay waits for more wakes before its round (0: at once) */
  wakeDelayMs?: number;
  /** events claimed (and delivered concurrently) per round */
  batchSize?: number;
  /** how long a claimed event stays out of other relays' reach: longer than a delivery can take */
  leaseMs?: number;
  retry?: RetrySchedule;
  /** an event delivered, retried later or given up on; and rounds that failed */
  onDelivered?: (event: ClaimedEvent) => void;
  onFailedAttempt?: (event: ClaimedEvent, error: string, retryInMs: number | null) => void;
  onError?: (err: unknown) => void;
}

export interface OutboxRelay {
  /** look for due events now instead of at the next poll */
  wake(): void;
  /** stops claiming and waits for the deliveries under way */
  stop(): Promise<void>;
}

const MAX_ERROR_BACKOFF_MS = 5_000;

export const OUTBOX_RELAY_DEFAULTS = { timeoutMs: 10_000, pollMs: 200, wakeDelayMs: 10, batchSize: 16, leaseMs: 120_000 } as const;

export function startOutboxRelay(o: OutboxRelayOptions): OutboxRelay {
  const clock = o.clock ?? (() => new Date());
  const timeoutMs = o.timeoutMs ?? OUTBOX_RELAY_DEFAULTS.timeoutMs;
  const pollMs = o.pollMs ?? OUTBOX_RELAY_DEFAULTS.pollMs;
  const wakeDelayMs = o.wakeDelayMs ?? OUTBOX_RELAY_DEFAULTS.wakeDelayMs;
  const batchSize = o.batchSize ?? OUTBOX_RELAY_DEFAULTS.batchSize;
  const leaseMs = o.leaseMs ?? OUTBOX_RELAY_DEFAULTS.leaseMs;
  const retry = o.retry ?? EVENT_RETRY;

  let running = true;
  let wakeUp: (() => void) | undefined;
  let woken = false;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (woken || !running) {
        woken = false;
        return resolve();
      }
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = undefined;
        woken = false;
        resolve();
      }
      wakeUp = done;
    });

  const deliver = async (subscribers: readonly Subscriber[], event: ClaimedEvent): Promise<void> => {
    const failures = await postToSubscribers(subscribers, event, clock, timeoutMs);
    if (failures.length === 0) {
      await markEventDelivered(o.prisma.sql, event.id, clock());
      o.onDelivered?.(event);
      return;
    }
    const error = deliveryError(failures);
    const retryInMs = retryDelayMs(retry, event.attempts);
    await recordFailedAttempt(o.prisma.sql, event.id, clock(), error, retryInMs);
    o.onFailedAttempt?.(event, error, retryInMs);
  };

  const loop = async (): Promise<void> => {
    // Rounds that failed in a row: the relay backs off (up to MAX_ERROR_BACKOFF_MS) while the database is away.
    let failedRounds = 0;
    while (running) {
      let full = false;
      try {
        const events = await claimDueEvents(o.prisma.sql, clock(), batchSize, leaseMs);
        full = events.length === batchSize;
        // One read of the subscribers for the round's events, claimed together. An event whose round
        // fails (the database went away) stays claimed until its lease runs out.
        const subscribers = events.length > 0 ? await activeSubscribers(o.prisma.sql) : [];
        const results = await Promise.allSettled(events.map((event) => deliver(subscribers, event)));
        for (const r of results) if (r.status === 'rejected') o.onError?.(r.reason);
        failedRounds = 0;
      } catch (err) {
        failedRounds++;
        o.onError?.(err);
      }
      if (failedRounds > 0) await sleep(Math.min(MAX_ERROR_BACKOFF_MS, pollMs * 2 ** failedRounds));
      else if (!full) await sleep(pollMs);
    }
  };
  const done = loop();

  const wakeNow = () => {
    woken = true;
    wakeUp?.();
  };
  let delayedWake: NodeJS.Timeout | undefined;
  return {
    wake() {
      if (wakeDelayMs === 0) return wakeNow();
      delayedWake ??= setTimeout(() => {
        delayedWake = undefined;
        wakeNow();
      }, wakeDelayMs);
    },
    async stop() {
      running = false;
      clearTimeout(delayedWake);
      wakeUp?.();
      await done;
    },
  };
}
