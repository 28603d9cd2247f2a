/**
 * What callers share with the reconcileCharge workflow (the API imports this, never the body): a
 * verified success webhook for a charge whose accept is no longer running.
 */
export const RECONCILE_WORKFLOW_TYPE = 'reconcileCharge';

export interface ReconcileInput {
  gateway: string;
  /** the gateway's charge reference (a PaymentIntent id, a Paystack reference, a sandbox charge id) */
  chargeRef: string;
  /** the accept the charge was made for (from the charge's metadata) */
  acceptKey: string;
  /** the webhook's event type, for the record and the logs */
  eventType: string;
}

export interface ReconcileResult {
  /** refunded: the charge had no order and was refunded; otherwise why nothing was done */
  outcome: 'refunded' | 'has_order' | 'not_charged' | 'still_pending';
  refundRef?: string;
}

/**
 * One run per charge: the ID is derived from the gateway and the charge, so every copy of the
 * webhook (gateways redeliver) finds the same run and starts nothing more. The separator is one an
 * idempotency key cannot hold (keys are A-Z a-z 0-9 _ - : .), so no accept can take this ID first.
 */
export function reconcileWorkflowId(gateway: string, chargeRef: string): string {
  return `reconcile/${gateway}/${chargeRef}`;
}
