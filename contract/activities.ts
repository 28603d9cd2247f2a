/**
 * The activities the workflows schedule, as the workflows see them: names, arguments and results
 * (each recorded in workflow history). The worker's implementation (activities/index.ts) is checked
 * against this interface; the workflows proxy it, so neither side imports the other.
 */
import type { AcceptInput, AcceptPlan, AcceptResponse, ChargeResult, PreparedAccept, WrittenOrder } from './accept.ts';
import type { OrphanInspection, ReconcileInput } from './reconcile.ts';

export interface AcceptActivities {
  /** Validate, price, resolve the gateway and check the saved method (a re-run returns the recorded plan). */
  prepareAccept(input: AcceptInput): Promise<PreparedAccept>;
  chargeOffSession(plan: AcceptPlan): Promise<ChargeResult>;
  confirmCharge(plan: AcceptPlan, chargeRef: string): Promise<ChargeResult>;
  cancelCharge(plan: AcceptPlan, chargeRef: string): Promise<ChargeResult>;
  refundCharge(plan: AcceptPlan, chargeRef: string): Promise<void>;
  /** After a failed charge: whatever the gateway did with our key, no charge stands. */
  voidUnfinishedCharge(plan: AcceptPlan): Promise<void>;
  /** After a failed re-run of the first task: a charge an earlier run made without its order is voided. */
  voidRecordedCharge(input: AcceptInput): Promise<void>;
  releaseOfferClaim(input: AcceptInput): Promise<void>;
  writeOrder(input: AcceptInput, plan: AcceptPlan, chargeRef: string): Promise<WrittenOrder>;
  /** `keepClaim`: the accept ended, but a charge the gateway could not cancel may still complete. */
  recordOutcome(input: AcceptInput, response: AcceptResponse, chargeRef: string | null, keepClaim?: boolean): Promise<void>;
  deliverEvent(eventId: string): Promise<void>;
  markEventFailed(eventId: string): Promise<void>;
}

export interface ReconcileActivities {
  /** Is the charge a success webhook named one that stands without an order? Asks the gateway, then the database. */
  inspectOrphanCharge(input: ReconcileInput): Promise<OrphanInspection>;
  refundOrphanCharge(input: ReconcileInput): Promise<{ refundRef: string }>;
}

/** Everything the worker registers. */
export type Activities = AcceptActivities & ReconcileActivities;
