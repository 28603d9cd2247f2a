/**
 * The post-purchase window's activities: which accepts still hold it open, and closing it (the
 * window row and the ocart/upsell/window_closed outbox event in one transaction, once per parent).
 *
 * An accept holds its parent's window from the moment the API registers it until its record says it
 * has ended. Two things can leave a hold with nobody behind it, and both are asked of Temporal, which
 * knows whether the accept's workflow (ID = its idempotency key) runs:
 * - the API registered an accept, then its request died before the workflow started;
 * - an accept's record was never completed because its workflow was terminated.
 * Whatever Temporal answers, no accept is charged after its window closed: validation takes the
 * window's row lock and refuses a closed window (db/windows.ts holdWindowOpen).
 */
import { Context, log } from '@temporalio/activity';
import { WorkflowNotFoundError, type WorkflowExecutionStatusName } from '@temporalio/client';
import type { Db } from '../db/client.ts';
import type { WindowCloseReason } from '../contract/window.ts';
import { acceptCompletions, closeWindowRecord, closeWindowUnlessHeld, openAcceptsOfParent } from '../db/windows.ts';

/** Whether an accept's workflow runs: `unknown` when Temporal could not tell (the accept then holds). */
export type AcceptRun = 'running' | 'ended' | 'missing' | 'unknown';

export interface WindowActivityDeps {
  prisma: Db;
  clock: () => Date;
  eventDeliveryTimeoutMs?: number;
  /** defaults to asking Temporal through the worker's client */
  acceptRun?: (acceptKey: string) => Promise<AcceptRun>;
}

/**
 * A registered accept with no record and no workflow this long after it registered never started:
 * the API starts the workflow right after registering (it waits at most 10 s for the registration).
 */
export const NEVER_STARTED_AFTER_MS = 15_000;
/** How long one question to Temporal may take before the accept counts as `unknown` (and holds). */
const DESCRIBE_DEADLINE_MS = 3_000;

const ENDED: ReadonlySet<WorkflowExecutionStatusName> = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT', 'CONTINUED_AS_NEW']);

/** Only a run that has ended lets its window go; a paused one may still charge when it resumes. */
export function acceptRunOf(status: WorkflowExecutionStatusName): AcceptRun {
  if (ENDED.has(status)) return 'ended';
  return status === 'RUNNING' || status === 'PAUSED' ? 'running' : 'unknown';
}

async function askTemporal(acceptKey: string): Promise<AcceptRun> {
  const { client } = Context.current();
  try {
    const description = await client.withDeadline(Date.now() + DESCRIBE_DEADLINE_MS, () => client.workflow.getHandle(acceptKey).describe());
    return acceptRunOf(description.status.name);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'missing';
    log.warn('could not ask Temporal whether an accept still runs; it holds its window until the next check', { acceptKey, error: (err as Error)?.message });
    return 'unknown';
  }
}

export function createWindowActivities(deps: WindowActivityDeps) {
  const { prisma, clock } = deps;
  const acceptRun = deps.acceptRun ?? askTemporal;

  /** Of these open records, those whose workflow has ended without completing them. */
  async function abandoned(keys: readonly string[]): Promise<string[]> {
    const runs = await Promise.all(keys.map(async (key) => [key, await acceptRun(key)] as const));
    return runs.filter(([, run]) => run === 'ended' || run === 'missing').map(([key]) => key);
  }

  return {
    /** The keys among these whose accept has not ended (registered and starting, running, or waiting for SCA). */
    async acceptsInFlight(asked: Array<{ key: string; since: number }>): Promise<string[]> {
      const completed = await acceptCompletions(
        prisma,
        asked.map((a) => a.key),
      );
      const now = clock().getTime();
      const still = await Promise.all(
        asked.map(async ({ key, since }) => {
          const done = completed.get(key);
          if (done === true) return null;
          const run = await acceptRun(key);
          if (done === false) return run === 'ended' || run === 'missing' ? null : key;
          // No record yet: starting, running before its validation, or never started.
          if (run === 'ended') return null;
          if (run === 'missing' && now - since >= NEVER_STARTED_AFTER_MS) return null;
          return key;
        }),
      );
      return still.filter((key): key is string => key !== null);
    },

    /** Closes the window row and writes its event; a retry finds the event written and answers it. (Windows started before closeWindowUnlessHeld.) */
    async closeWindow(input: { parentExternalId: string; reason: WindowCloseReason }): Promise<string> {
      return closeWindowRecord(prisma, input, clock());
    },

    /**
     * Closes the window, unless an accept of its parent has a record that has not ended and whose
     * workflow still runs: then answers those keys, and the window waits for them.
     */
    async closeWindowUnlessHeld(input: { parentExternalId: string; reason: WindowCloseReason }): Promise<{ eventId: string } | { heldBy: string[] }> {
      const ignore = await abandoned(await openAcceptsOfParent(prisma, input.parentExternalId));
      return closeWindowUnlessHeld(prisma, { ...input, ignore }, clock());
    },
  };
}

export type WindowActivities = ReturnType<typeof createWindowActivities>;
