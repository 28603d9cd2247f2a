/**
 * The post-purchase window's activities: which accepts still hold it open, and closing it (the
 * window row and the ocart/upsell/window_closed outbox event in one transaction, once per parent).
 */
import type { Db, Prisma } from '../db/client.ts';
import { newId } from '../db/ids.ts';
import { WINDOW_CLOSED_EVENT, type WindowCloseReason, type WindowClosedData, windowWorkflowId } from '../contract/window.ts';
import { windowContents } from '../db/windows.ts';
import { markEventFailed } from '../db/outbox.ts';
import { deliverOutboxEvent } from './event-delivery.ts';

export interface WindowActivityDeps {
  prisma: Db;
  clock: () => Date;
  eventDeliveryTimeoutMs?: number;
}

/** An accept registered this long ago with no record yet never started (its API call failed before). */
const NEVER_STARTED_AFTER_MS = 2 * 60_000;

export function createWindowActivities(deps: WindowActivityDeps) {
  const { prisma, clock } = deps;
  return {
    /** The keys among these whose accept has not ended (no record yet but just registered, or a record not completed). */
    async acceptsInFlight(asked: Array<{ key: string; since: number }>): Promise<string[]> {
      const rows = await prisma.accept.findMany({ where: { idempotencyKey: { in: asked.map((a) => a.key) } }, select: { idempotencyKey: true, completedAt: true } });
      const byKey = new Map(rows.map((r) => [r.idempotencyKey, r]));
      const now = clock().getTime();
      return asked
        .filter(({ key, since }) => {
          const row = byKey.get(key);
          return row ? row.completedAt === null : now - since < NEVER_STARTED_AFTER_MS;
        })
        .map((a) => a.key);
    },

    /** Closes the window row and writes its event; a retry finds the event written and answers it. */
    async closeWindow(input: { parentExternalId: string; reason: WindowCloseReason }): Promise<string> {
      return prisma.$transaction(async (tx) => {
        const eventKey = windowWorkflowId(input.parentExternalId);
        const existing = await tx.outboxEvent.findUnique({ where: { acceptKey: eventKey }, select: { id: true } });
        if (existing) return existing.id;
        const now = clock();
        await tx.$executeRaw`
          UPDATE upsell_windows SET status = 'closed', reason = ${input.reason}, closed_at = ${now.toISOString()}::timestamp(3)
          WHERE parent_external_id = ${input.parentExternalId} AND status = 'open'`;
        const contents = await windowContents(tx as unknown as Db, input.parentExternalId);
        const id = newId('evt');
        const data: WindowClosedData = {
          parent_order: { id: contents.parentId, external_id: input.parentExternalId },
          reason: input.reason,
          accepted: contents.accepted,
          declined: contents.declined,
          closed_at: now.toISOString(),
        };
        await tx.outboxEvent.create({
          data: {
            id,
            type: WINDOW_CLOSED_EVENT,
            acceptKey: eventKey,
            payload: { id, type: WINDOW_CLOSED_EVENT, created_at: now.toISOString(), data } as unknown as Prisma.InputJsonValue,
          },
        });
        return id;
      });
    },

    async deliverWindowEvent(eventId: string): Promise<void> {
      await deliverOutboxEvent(prisma, eventId, clock, deps.eventDeliveryTimeoutMs ?? 10_000);
    },

    async markWindowEventFailed(eventId: string): Promise<void> {
      await markEventFailed(prisma, eventId);
    },
  };
}

export type WindowActivities = ReturnType<typeof createWindowActivities>;
