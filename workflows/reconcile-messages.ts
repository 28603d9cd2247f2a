/**
 * What callers share with the reconcileCharge workflow (the API imports this, never the body): its
 * name and run ID. Its input and result are the contract's (contract/reconcile.ts).
 */
export const RECONCILE_WORKFLOW_TYPE = 'reconcileCharge';

export type { ReconcileInput, ReconcileResult } from '../contract/reconcile.ts';

/**
 * One run per charge: the ID is derived from the gateway and the charge, so every copy of the
 * webhook (gateways redeliver) finds the same run and starts nothing more. The separator is one an
 * idempotency key cannot hold (keys are A-Z a-z 0-9 _ - : .), so no accept can take this ID first.
 */
export function reconcileWorkflowId(gateway: string, chargeRef: string): string {
  return `reconcile/${gateway}/${chargeRef}`;
}
