/**
 * Delivers ocart/upsell/accepted from the outbox to the shop's subscribers. Each POST is signed
 * (HMAC-SHA256 over `timestamp.body`) and carries the stable event id, so receivers de-duplicate:
 * a subscriber may see the same event twice.
 *
 * Two callers share these rules: the worker's outbox relay (worker/outbox-relay.ts), which delivers
 * every event written since the relay came in, and the deliverEvent activity, which workflow runs
 * recorded before it still schedule. Both retry on the same schedule (EVENT_RETRY) and give up
 * after its last attempt, about a day after the first, marking the event failed.
 */
import { createHmac } from 'node:crypto';
import type { Sql } from '../db/sql.ts';
import { activeSubscribers, type Subscriber } from '../db/event-subscribers.ts';
import { markEventDelivered, recordDeliveryError, startDeliveryAttempt } from '../db/outbox.ts';

export const EVENT_SIGNATURE_HEADER = 'x-ocart-signature';
export const EVENT_ID_HEADER = 'x-ocart-event-id';

/** Backoff between delivery attempts: the retry policy the workflow gave the deliverEvent activity. */
export interface RetrySchedule {
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
  maximumAttempts: number;
}

/** 2 s, doubling, at most an hour apart, 30 attempts: the last one about 19 hours after the first. */
export const EVENT_RETRY: RetrySchedule = { initialIntervalMs: 2_000, backoffCoefficient: 2, maximumIntervalMs: 3_600_000, maximumAttempts: 30 };

/** The wait after failed attempt number `attempt` (1-based), or null when it was the last one. */
export function retryDelayMs(schedule: RetrySchedule, attempt: number): number | null {
  if (attempt >= schedule.maximumAttempts) return null;
  return Math.min(schedule.maximumIntervalMs, schedule.initialIntervalMs * schedule.backoffCoefficient ** (attempt - 1));
}

export function signEvent(body: string, secret: string, timestamp: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${v1}`;
}

/**
 * POSTs one event to every active subscriber, one after another. Returns what failed (one line per
 * subscriber: its id and the HTTP status or error), empty when every subscriber took it.
 */
export async function postToSubscribers(subscribers: readonly Subscriber[], event: { id: string; payload: unknown }, clock: () => Date, timeoutMs: number): Promise<string[]> {
  const body = JSON.stringify(event.payload);
  const failures: string[] = [];
  for (const sub of subscribers) {
    const timestamp = Math.floor(clock().getTime() / 1000);
    try {
      const res = await fetch(sub.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [EVENT_ID_HEADER]: event.id,
          [EVENT_SIGNATURE_HEADER]: signEvent(body, sub.secret, timestamp),
        },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      // The body is not read: release the socket.
      await res.body?.cancel();
      if (!res.ok) failures.push(`${sub.id}: HTTP ${res.status}`);
    } catch (err) {
      failures.push(`${sub.id}: ${(err as Error).message}`);
    }
  }
  return failures;
}

/** What one failed attempt leaves in last_error. */
export function deliveryError(failures: string[]): string {
  return failures.join('; ').slice(0, 1000);
}

/** The deliverEvent activity (older workflow runs): one attempt; a failure throws and Temporal retries it. */
export async function deliverOutboxEvent(db: Sql, eventId: string, clock: () => Date, timeoutMs: number): Promise<void> {
  // Nothing to deliver once the event is delivered or failed.
  const event = await startDeliveryAttempt(db, eventId);
  if (event.state !== 'pending') {
    if (event.state === 'missing') throw new Error(`outbox event ${eventId} does not exist`);
    return;
  }
  const failures = await postToSubscribers(await activeSubscribers(db), event, clock, timeoutMs);
  if (failures.length > 0) {
    const lastError = deliveryError(failures);
    await recordDeliveryError(db, eventId, lastError);
    throw new Error(`event ${eventId} not delivered: ${lastError}`);
  }
  await markEventDelivered(db, eventId, clock());
}
