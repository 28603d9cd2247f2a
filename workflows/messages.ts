/**
 * Everything callers share with the acceptUpsell workflow: its name, input, messages and the
 * response shapes. The API imports this module, never the workflow body.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const ACCEPT_WORKFLOW_TYPE = 'acceptUpsell';

export interface AcceptInput {
  acceptKey: string;
  offerId: string;
  token: string;
  cartId: string;
  fingerprint: string;
  /** where a redirect confirmation returns the buyer (checked by the API); absent: the status URL */
  returnUrl?: string;
}

export interface MoneyBody {
  value: number;
  currency: string;
}

export interface SucceededResponse {
  status: 'succeeded';
  accept_id: string;
  offer_id: string;
  amount: MoneyBody;
  parent_order: { id: string; external_id: string };
  order: { id: string; external_id: string; kind: 'child' | 'merged' };
  strategy: 'child' | 'merge';
  fell_back_to_child: boolean;
}

export interface RequiresActionResponse {
  status: 'requires_action';
  accept_id: string;
  offer_id: string;
  amount: MoneyBody;
  action: { type: 'modal' | 'redirect'; gateway: string; client_secret?: string; redirect_url?: string };
  status_url: string;
}

export interface FailureResponse {
  status: 'declined' | 'rejected' | 'error' | 'expired';
  accept_id: string;
  code: string;
  message: string;
}

export interface ProcessingResponse {
  status: 'processing';
  accept_id: string;
}

export type AcceptResponse = SucceededResponse | RequiresActionResponse | FailureResponse;
export type AcceptState = AcceptResponse | ProcessingResponse;

export type AcceptPhase =
  | 'validating'
  | 'charging'
  | 'awaiting_sca'
  | 'writing_order'
  | 'delivering_event'
  /** expired, but the gateway could not cancel: a late success is refunded */
  | 'watching_late_completion'
  | 'done';

export interface AcceptStatus {
  phase: AcceptPhase;
  cartId: string;
  /** The current state for the status endpoint. */
  state: AcceptState;
}

export interface AcceptReply {
  response: AcceptResponse;
  /** false only for the first accept call the workflow answered */
  replayed: boolean;
}

/** The gateway's word that the buyer finished (or failed) SCA. A hint only: the workflow asks the gateway again. */
export interface ScaCompletedSignal {
  gateway: string;
  chargeRef: string;
  eventType: string;
}

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

/** `name=Type` pairs for `temporal server start-dev --search-attribute`. */
export const SEARCH_ATTRIBUTE_FLAGS = ['OfferId=Keyword', 'ParentOrderId=Keyword', 'Gateway=Keyword', 'UpsellOutcome=Keyword'];

export function statusUrl(acceptKey: string, cartId: string): string {
  return `/wp-json/ocart/v1/upsells/accepts/${encodeURIComponent(acceptKey)}?cart_id=${encodeURIComponent(cartId)}`;
}
