/**
 * The post-purchase window of one parent order (ID `window:<parent external id>`). It opens with the
 * parent's first token and closes when its funnel ends or its timer (upsells.window_min) fires, but
 * never while an accept it let start is still charging or waiting for SCA. Closing writes
 * ocart/upsell/window_closed to the outbox (once per parent), which the worker's relay delivers. Deterministic: time
 * and waits come from the SDK.
 */
import { condition, patched, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { WindowActivities } from '../activities/window.ts';
import { searchAttributes } from './messages.ts';
import { type WindowCloseReason, type WindowInput, type WindowLiveState, acceptStartingUpdate, windowEventSignal, windowStateQuery } from './window-messages.ts';
import { isFinalStatus } from '../contract/answers.ts';

/** How often a window held open by an accept asks the database whether it has ended. */
const RECHECK = '10 seconds';
const RECHECK_FIRST_MS = 10_000;
const RECHECK_MAX_MS = 120_000;
/** Windows that started before this close only once no accept record of their parent is open. */
const CLOSE_UNLESS_HELD = 'window-close-unless-held';

const acts = proxyActivities<WindowActivities>({
  startToCloseTimeout: '20 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

export async function postPurchaseWindow(input: WindowInput): Promise<{ reason: WindowCloseReason }> {
  let status: WindowLiveState['status'] = 'open';
  let reason: WindowCloseReason | null = null;
  let funnelEnded = false;
  /** accept key -> when it was registered (ms) */
  const inFlight = new Map<string, number>();

  setHandler(acceptStartingUpdate, ({ key }) => {
    if (status !== 'open') return 'closed';
    if (!inFlight.has(key)) inFlight.set(key, Date.now());
    return 'open';
  });
  setHandler(windowEventSignal, (event) => {
    if (event.kind === 'accept_answered' && event.key && event.outcome && isFinalStatus(event.outcome)) inFlight.delete(event.key);
    if (event.kind === 'sca_waiting' && event.key && status === 'open' && !inFlight.has(event.key)) inFlight.set(event.key, Date.now());
    if (event.kind === 'funnel_ended') funnelEnded = true;
  });
  setHandler(windowStateQuery, () => ({ status, closesAt: input.closesAt, inFlight: [...inFlight.keys()], reason }));

  await condition(() => funnelEnded, Math.max(1, Date.parse(input.closesAt) - Date.now()));
  reason = funnelEnded ? 'funnel_ended' : 'timer';
  status = 'closing';

  // Held open while an accept it let start has not ended; the database and Temporal are asked too,
  // so an answer the API never reported (it crashed, or the buyer left during SCA) or an accept that
  // never started does not hold it forever. Closing checks the parent's accept records under the
  // window's row lock: one that validated meanwhile holds it, and the wait goes on.
  const heldAtClose = patched(CLOSE_UNLESS_HELD);
  // Since the patch the checks back off (10 s twice, so that an accept that never started is let go
  // within about 25 s, then doubling to 2 min): an answer reported by signal ends the wait at once,
  // and a hold nobody reports (Temporal unreachable) grows the history slowly.
  let checks = 0;
  for (;;) {
    while (inFlight.size > 0) {
      const asked = [...inFlight.entries()].map(([key, since]) => ({ key, since }));
      const still = new Set(await acts.acceptsInFlight(asked));
      for (const { key } of asked) if (!still.has(key)) inFlight.delete(key);
      const recheckMs = Math.min(RECHECK_FIRST_MS * 2 ** Math.max(0, checks++ - 1), RECHECK_MAX_MS);
      if (inFlight.size > 0) await condition(() => inFlight.size === 0, heldAtClose ? recheckMs : RECHECK);
    }
    if (!heldAtClose) {
      status = 'closed';
      upsertSearchAttributes([{ key: searchAttributes.upsellOutcome, value: `window_closed_${reason}` }]);
      // The event is in the outbox with the closed row; the worker's outbox relay delivers it.
      await acts.closeWindow({ parentExternalId: input.parentExternalId, reason });
      return { reason };
    }
    const closed = await acts.closeWindowUnlessHeld({ parentExternalId: input.parentExternalId, reason });
    if ('eventId' in closed) break;
    for (const key of closed.heldBy) if (!inFlight.has(key)) inFlight.set(key, Date.now());
  }
  status = 'closed';
  upsertSearchAttributes([{ key: searchAttributes.upsellOutcome, value: `window_closed_${reason}` }]);
  return { reason };
}
