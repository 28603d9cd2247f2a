/**
 * Delivers ocart/upsell/accepted from the outbox to the shop's subscribers. Each POST is signed
 * (HMAC-SHA256 over `timestamp.body`) and carries the stable event id, so receivers de-duplicate.
 * A failure throws, and Temporal retries with backoff; a subscriber may see the same event twice.
 */
import { createHmac } from 'node:crypto';
import type { Db } from '../db/client.ts';

export const EVENT_SIGNATURE_HEADER = 'x-ocart-signature';
export const EVENT_ID_HEADER = 'x-ocart-event-id';

export function signEvent(body: string, secret: string, timestamp: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${v1}`;
}

export async function deliverOutboxEvent(prisma: Db, eventId: string, clock: () => Date, timeoutMs: number): Promise<void> {
  const event = await prisma.outboxEvent.findUniqueOrThrow({ where: { id: eventId } });
  if (event.status !== 'pending') return;
  await prisma.outboxEvent.update({ where: { id: eventId }, data: { attempts: { increment: 1 } } });
  const subscribers = await prisma.eventSubscriber.findMany({ where: { active: true } });
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
    await prisma.outboxEvent.update({ where: { id: eventId }, data: { lastError } });
    throw new Error(`event ${eventId} not delivered: ${lastError}`);
  }
  await prisma.outboxEvent.update({ where: { id: eventId }, data: { status: 'delivered', deliveredAt: clock(), lastError: null } });
}

export async function markOutboxEventFailed(prisma: Db, eventId: string): Promise<void> {
  await prisma.outboxEvent.updateMany({ where: { id: eventId, status: 'pending' }, data: { status: 'failed' } });
}
