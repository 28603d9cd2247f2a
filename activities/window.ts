/**
 * The post-purchase window's activities: which accepts still hold it open, and closing it (the
 * window row and the ocart/upsell/window_closed outbox event in one transaction, once per parent).
 */
import type { Db } from '../db/client.ts';
import type { WindowCloseReason } from '../contract/window.ts';
import { acceptCompletions, closeWindowRecord } from '../db/windows.ts';

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
      const completed = await acceptCompletions(
        prisma,
        asked.map((a) => a.key),
      );
      const now = clock().getTime();
      return asked
        .filter(({ key, since }) => {
          const done = completed.get(key);
          return done === undefined ? now - since < NEVER_STARTED_AFTER_MS : !done;
        })
        .map((a) => a.key);
    },

    /** Closes the window row and writes its event; a retry finds the event written and answers it. */
    async closeWindow(input: { parentExternalId: string; reason: WindowCloseReason }): Promise<string> {
      return closeWindowRecord(prisma, input, clock());
    },
  };
}

export type WindowActivities = ReturnType<typeof createWindowActivities>;
