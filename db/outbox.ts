/**
 * The event outbox: rows written with the order change, delivered by the workflow. Every accept
 * delivers once: parameterised SQL, not Prisma model queries, whose client-side planning cost 6.3 ms
 * of CPU per delivery against 1.6 ms for these statements (same database).
 */
import type { Db } from './client.ts';
import { firstRow, onlyRow } from './rows.ts';

/**
 * Counts a delivery attempt and reads the event in one statement. `pending`: the event to deliver;
 * `done`: it was delivered or failed already; `missing`: no such event.
 */
export async function startDeliveryAttempt(db: Db, eventId: string): Promise<{ state: 'pending'; id: string; payload: unknown } | { state: 'done' | 'missing' }> {
  const rows = await db.$queryRaw<unknown[]>`
    UPDATE outbox_events SET attempts = attempts + 1 WHERE id = ${eventId} AND status = 'pending' RETURNING id, payload`;
  const event = firstRow('outbox_events', rows, (r) => ({ id: r.str('id'), payload: r.json('payload') }));
  if (event) return { state: 'pending', ...event };
  const known = await db.$queryRaw<unknown[]>`SELECT id FROM outbox_events WHERE id = ${eventId}`;
  return { state: firstRow('outbox_events', known, (r) => r.str('id')) ? 'done' : 'missing' };
}

export async function recordDeliveryError(db: Db, eventId: string, lastError: string): Promise<void> {
  await db.$executeRaw`UPDATE outbox_events SET last_error = ${lastError} WHERE id = ${eventId}`;
}

export async function markEventDelivered(db: Db, eventId: string, now: Date): Promise<void> {
  await db.$executeRaw`
    UPDATE outbox_events SET status = 'delivered', delivered_at = ${now.toISOString()}::timestamp(3), last_error = NULL WHERE id = ${eventId}`;
}

/** Gives up on a pending event (its delivery retries ran out); a delivered one stays delivered. */
export async function markEventFailed(db: Db, eventId: string): Promise<void> {
  await db.$executeRaw`UPDATE outbox_events SET status = 'failed' WHERE id = ${eventId} AND status = 'pending'`;
}

/** The metrics' view of the outbox: pending and failed counts, and the oldest pending event's creation. */
export async function outboxBacklog(db: Db): Promise<{ pending: number; failed: number; oldestPendingAt: Date | null }> {
  const rows = await db.$queryRaw<unknown[]>`
    SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending, count(*) FILTER (WHERE status = 'failed')::int AS failed,
           min(created_at) FILTER (WHERE status = 'pending') AS oldest_pending_at
    FROM outbox_events WHERE status IN ('pending', 'failed')`;
  return onlyRow('outbox_events', rows, (r) => ({ pending: r.int('pending'), failed: r.int('failed'), oldestPendingAt: r.dateOrNull('oldest_pending_at') }));
}
