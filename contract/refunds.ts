/**
 * The refund's shapes that cross processes: the workflow's input, the route's 200 body and the
 * answer the workflow records. The API, the workflow and the activities all use these.
 */
import type { Money } from './money.ts';

/** The outbox event type a recorded refund fires. */
export const REFUNDED_EVENT = 'ocart/upsell/refunded';

/** `refunded` or `partially_refunded`: the child order's status, or the merged line's. */
export type RefundedStatus = 'refunded' | 'partially_refunded';

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

/** The 200 body of the refund route. */
export interface RefundBody {
  accept_id: string;
  refund: { id: string; amount: Money; status: 'succeeded' | 'pending' };
  /** everything refunded on the upsell's charge so far, this refund included */
  refunded_total: Money;
  order_status: RefundedStatus;
}

/** The refund's answer: its body, or a refusal the API sends as the shared error body. */
export type RefundAnswer = { ok: true; body: RefundBody } | { ok: false; code: string; message: string };
