/**
 * Delivers ocart/upsell/accepted from the outbox to the shop's subscribers. Each POST is signed
 * (HMAC-SHA256 over `timestamp.body`) and carries the stable event id, so receivers de-duplicate.
 * A failure throws, and Temporal retries with backoff; a subscriber may see the same event twice.
 */
import { createHmac } from 'node:crypto';
import type { Db } from '../db/client.ts';
import { activeSubscribers } from '../db/event-subscribers.ts';
import { markEventDelivered, recordDeliveryError, startDeliveryAttempt } from '../db/outbox.ts';

export const EVENT_SIGNATURE_HEADER = 'x-ocart-signature';
export const EVENT_ID_HEADER = 'x-ocart-event-id';

export function signEvent(body: string, secret: string, timestamp: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${v1}`;
}

export async function deliverOutboxEvent(prisma: Db, eventId: string, clock: () => Date, timeoutMs: number): Promise<void> {
  // Nothing to deliver once the event is delivered or failed.
  const event = await startDeliveryAttempt(prisma, eventId);
  if (event.state !== 'pending') {
    if (event.state === 'missing') throw new Error(`outbox event ${eventId} does not exist`);
    return;
  }
  const subscribers = await activeSubscribers(prisma);
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
      if (!res.ok) failures.push(`${sub.id}: HTTP ${res.status}`);
    } catch (err) {
      failures.push(`${sub.id}: ${(err as Error).message}`);
    }
  }
  if (failures.length > 0) {
    const lastError = failures.join('; ').slice(0, 1000);
    await recordDeliveryError(prisma, eventId, lastError);
    throw new Error(`event ${eventId} not delivered: ${lastError}`);
  }
  await markEventDelivered(prisma, eventId, clock());
}
