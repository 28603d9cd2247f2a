/**
 * The refund's shapes that cross processes: the workflow's input, the route's 200 body and the
 * answer the workflow records. The API, the workflow and the activities all use these.
 */
import { Type, type Static } from '@sinclair/typebox';
import { parseStored } from './records.ts';

/** The outbox event type a recorded refund fires. */
export const REFUNDED_EVENT = 'ocart/upsell/refunded';

/** `refunded` or `partially_refunded`: the child order's status, or the merged line's. */
export const RefundedStatus = Type.Union([Type.Literal('refunded'), Type.Literal('partially_refunded')], {
  description: "The child order's status, or (merged into the parent) the upsell line's",
});
export type RefundedStatus = Static<typeof RefundedStatus>;

const RefundMoney = Type.Object({ value: Type.Integer({ description: 'Minor units of the currency' }), currency: Type.String({ description: 'ISO 4217 code' }) });

export interface RefundInput {
  /** the accept (its idempotency key) whose charge is refunded */
  acceptId: string;
  /** the shop's Idempotency-Key for this refund */
  idempotencyKey: string;
  /** what makes two calls with the key "the same request" (accept and amount) */
  fingerprint: string;
  /** minor units; null: whatever the charge has left */
  amount: number | null;
}

/** The 200 body of the refund route (the route adds its title and headers). */
export const RefundBody = Type.Object({
  accept_id: Type.String(),
  refund: Type.Object({
    id: Type.String(),
    amount: RefundMoney,
    status: Type.Union([Type.Literal('succeeded'), Type.Literal('pending')], {
      description: '`pending`: the gateway took the refund and settles it later (Paystack queues every refund)',
    }),
  }),
  refunded_total: Type.Object({ value: Type.Integer(), currency: Type.String() }, { description: "Everything refunded on the upsell's charge so far, this refund included" }),
  order_status: RefundedStatus,
});
export type RefundBody = Static<typeof RefundBody>;

/** The refund's answer: its body, or a refusal the API sends as the shared error body. */
export const RefundAnswer = Type.Union([
  Type.Object({ ok: Type.Literal(true), body: RefundBody }),
  Type.Object({ ok: Type.Literal(false), code: Type.String(), message: Type.String() }),
]);
export type RefundAnswer = Static<typeof RefundAnswer>;

/** A refund's recorded answer (refunds.response), read back through its schema: null when none is recorded yet. */
export function parseRefundAnswer(value: unknown): RefundAnswer | null {
  return value === null || value === undefined ? null : parseStored(RefundAnswer, 'refunds.response', value);
}
