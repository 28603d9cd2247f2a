/**
 * reconcileCharge: a verified success webhook arrived for a charge whose accept is no longer running
 * (closed, or past its 24-hour late-completion watch). No charge may stand without its order: ask the
 * gateway, look for the order in the database, and refund the charge if there is none, keyed, so a
 * retry never refunds twice. Orchestration only; every side effect is an activity.
 */
import { log, proxyActivities, sleep } from '@temporalio/workflow';
import type { ReconcileActivities } from '../contract/activities.ts';
import type { ReconcileInput, ReconcileResult } from '../contract/reconcile.ts';

// Money may be standing: no attempt limit, as for the accept's compensation.
const persistent = proxyActivities<ReconcileActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 ms', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

/** How long a charge the webhook called a success, but the gateway still reads as pending, is asked about. */
const PENDING_WATCH_MS = 24 * 60 * 60 * 1000;

export async function reconcileCharge(input: ReconcileInput): Promise<ReconcileResult> {
  // The gateway's own read can lag its webhook: a pending charge is asked about again, backing off,
  // for a day, never taken for "not charged" (this run is the only one the charge will ever get).
  const watchUntil = Date.now() + PENDING_WATCH_MS;
  let found = await persistent.inspectOrphanCharge(input);
  for (let waitMs = 5_000; found === 'pending'; waitMs = Math.min(waitMs * 2, 30 * 60_000)) {
    if (Date.now() + waitMs > watchUntil) {
      log.error('charge still pending at the gateway a day after its success webhook; nothing refunded', { accept_id: input.acceptKey, chargeRef: input.chargeRef });
      return { outcome: 'still_pending' };
    }
    await sleep(waitMs);
    found = await persistent.inspectOrphanCharge(input);
  }
  if (found !== 'orphan') return { outcome: found };
  const { refundRef } = await persistent.refundOrphanCharge(input);
  log.warn('charge without an order refunded (reconciliation)', { accept_id: input.acceptKey, gateway: input.gateway, chargeRef: input.chargeRef, refundRef });
  return { outcome: 'refunded', refundRef };
}
