/**
 * reconcileCharge: a verified success webhook arrived for a charge whose accept is no longer running
 * (closed, or past its 24-hour late-completion watch). No charge may stand without its order: ask the
 * gateway, look for the order in the database, and refund the charge if there is none, keyed, so a
 * retry never refunds twice. Orchestration only; every side effect is an activity.
 */
import { log, proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.ts';
import type { ReconcileInput, ReconcileResult } from './reconcile-messages.ts';

type Activities = ReturnType<typeof createActivities>;

// Money may be standing: no attempt limit, as for the accept's compensation.
const persistent = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 ms', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

export async function reconcileCharge(input: ReconcileInput): Promise<ReconcileResult> {
  const found = await persistent.inspectOrphanCharge(input);
  if (found !== 'orphan') return { outcome: found };
  const { refundRef } = await persistent.refundOrphanCharge(input);
  log.warn('charge without an order refunded (reconciliation)', { accept_id: input.acceptKey, gateway: input.gateway, chargeRef: input.chargeRef, refundRef });
  return { outcome: 'refunded', refundRef };
}
