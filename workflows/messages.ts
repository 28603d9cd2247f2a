/**
 * The acceptUpsell workflow's Temporal handles: its name, update, signal, query and search
 * attributes. The shapes they carry are the contract's (contract/accept.ts). The API imports this
 * module, never the workflow body.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { AcceptReply, AcceptStatus, ScaCompletedSignal } from '../contract/accept.ts';
import type { Money } from '../contract/money.ts';

export type {
  AcceptInput,
  AcceptPhase,
  AcceptReply,
  AcceptResponse,
  AcceptState,
  AcceptStatus,
  FailureResponse,
  ProcessingResponse,
  RequiresActionResponse,
  ScaCompletedSignal,
  SucceededResponse,
} from '../contract/accept.ts';
export { statusUrl } from '../contract/answers.ts';

export const ACCEPT_WORKFLOW_TYPE = 'acceptUpsell';

/** Answers the buyer once the flow has something to say; refuses another request under the same key. */
export const acceptUpdate = defineUpdate<AcceptReply, [{ fingerprint: string }]>('accept');
export const scaCompletedSignal = defineSignal<[ScaCompletedSignal]>('scaCompleted');
export const statusQuery = defineQuery<AcceptStatus>('status');

/** The update validator's refusal message; the API maps it to 422 idempotency_key_reused. */
export const FINGERPRINT_MISMATCH = 'idempotency_key_reused';

export const searchAttributes = {
  offerId: defineSearchAttributeKey('OfferId', SearchAttributeType.KEYWORD),
  parentOrderId: defineSearchAttributeKey('ParentOrderId', SearchAttributeType.KEYWORD),
  gateway: defineSearchAttributeKey('Gateway', SearchAttributeType.KEYWORD),
  upsellOutcome: defineSearchAttributeKey('UpsellOutcome', SearchAttributeType.KEYWORD),
} as const;

/**
 * The accept's memo, as ops read it in the Web UI: the price the buyer was shown, which is what an
 * accept that goes through is charged (validation refuses any other). The API sets it at start from
 * the verified token's price, so the workflow does not spend an upsert on it; it sets it from its plan
 * only when the start did not carry that price.
 */
export type AcceptMemo = {
  amount: number;
  currency: string;
};
export const acceptMemo = (price: Money): AcceptMemo => ({ amount: price.value, currency: price.currency });

/** `name=Type` pairs for `temporal server start-dev --search-attribute`. */
export const SEARCH_ATTRIBUTE_FLAGS = ['OfferId=Keyword', 'ParentOrderId=Keyword', 'Gateway=Keyword', 'UpsellOutcome=Keyword'];
