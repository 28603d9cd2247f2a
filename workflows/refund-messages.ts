/**
 * Everything callers share with the refundUpsell workflow: its name, input, update and answer
 * shapes. The API imports this module, never the workflow body.
 */
import { defineUpdate } from '@temporalio/workflow';
import type { RefundAnswer } from '../contract/refunds.ts';

export type { RefundAnswer, RefundBody, RefundInput, RefundedStatus } from '../contract/refunds.ts';

export const REFUND_WORKFLOW_TYPE = 'refundUpsell';

export interface RefundReply {
  answer: RefundAnswer;
  /** false only for the first call the workflow answered */
  replayed: boolean;
}

/** Answers the caller once the refund has an answer; refuses another request under the same key. */
export const refundUpdate = defineUpdate<RefundReply, [{ fingerprint: string }]>('refund');

/** The update validator's refusal message; the API maps it to 422 idempotency_key_reused. */
export const REFUND_FINGERPRINT_MISMATCH = 'idempotency_key_reused';

/**
 * One run per accept and key. '/' separates: no accept id or idempotency key can hold one (keys are
 * A-Z a-z 0-9 _ - : .), so no accept's workflow id can take this one first.
 */
export function refundWorkflowId(acceptId: string, idempotencyKey: string): string {
  return `refund/${acceptId}/${idempotencyKey}`;
}
