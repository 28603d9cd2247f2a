/**
 * Everything callers share with the refundUpsell workflow: its name, input, update and answer
 * shapes. The API imports this module, never the workflow body.
 */
import { defineUpdate } from '@temporalio/workflow';
import type { MoneyBody } from './messages.ts';

export const REFUND_WORKFLOW_TYPE = 'refundUpsell';

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
  refund: { id: string; amount: MoneyBody; status: 'succeeded' | 'pending' };
  /** everything refunded on the upsell's charge so far, this refund included */
  refunded_total: MoneyBody;
  order_status: RefundedStatus;
}

/** The refund's answer: its body, or a refusal the API sends as the shared error body. */
export type RefundAnswer = { ok: true; body: RefundBody } | { ok: false; code: string; message: string };

export interface RefundReply {
  answer: RefundAnswer;
  /** false only for the first call the workflow answered */
  replayed: boolean;
}

/** Answers the caller once the refund has an answer; refuses another request under the same key. */
export const refundUpdate = defineUpdate<RefundReply, [{ fingerprint: string }]>('refund');

/** The update validator's refusal message; the API maps it to 422 idempotency_key_reused. */
export const REFUND_FINGERPRINT_MISMATCH = 'idempotency_key_reused';

/** The outbox event type a recorded refund fires. */
export const REFUNDED_EVENT = 'ocart/upsell/refunded';

/**
 * One run per accept and key. '/' separates: no accept id or idempotency key can hold one (keys are
 * A-Z a-z 0-9 _ - : .), so no accept's workflow id can take this one first.
 */
export function refundWorkflowId(acceptId: string, idempotencyKey: string): string {
  return `refund/${acceptId}/${idempotencyKey}`;
}
