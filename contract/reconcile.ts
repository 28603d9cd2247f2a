/** The reconcileCharge workflow's input and result: a verified success webhook for a charge whose accept is no longer running. */
import { Type, type Static } from '@sinclair/typebox';

export const ReconcileInput = Type.Object({
  gateway: Type.String(),
  /** the gateway's charge reference (a PaymentIntent id, a Paystack reference, a sandbox charge id) */
  chargeRef: Type.String(),
  /** the accept the charge was made for (from the charge's metadata) */
  acceptKey: Type.String(),
  /** the webhook's event type, for the record and the logs */
  eventType: Type.String(),
});
export type ReconcileInput = Static<typeof ReconcileInput>;

/** What the gateway and the database say about a charge a success webhook named. */
export const OrphanInspection = Type.Union([Type.Literal('orphan'), Type.Literal('has_order'), Type.Literal('not_charged'), Type.Literal('pending')]);
export type OrphanInspection = Static<typeof OrphanInspection>;

export const ReconcileResult = Type.Object({
  /** refunded: the charge had no order and was refunded; otherwise why nothing was done */
  outcome: Type.Union([Type.Literal('refunded'), Type.Literal('has_order'), Type.Literal('not_charged'), Type.Literal('still_pending')]),
  refundRef: Type.Optional(Type.String()),
});
export type ReconcileResult = Static<typeof ReconcileResult>;
