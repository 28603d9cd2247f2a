/** Data the workflow passes between activities. Plain JSON: it is recorded in workflow history. */
import type { MoneyBody } from '../workflows/messages.ts';

export interface AcceptPlan {
  acceptKey: string;
  offerId: string;
  cartId: string;
  parentOrderId: string;
  parentExternalId: string;
  productId: string;
  productName: string;
  amount: MoneyBody;
  gateway: string;
  customerRef: string | null;
  methodRef: string;
  email: string | null;
  strategy: 'child' | 'merge';
  orderKind: 'child' | 'merged';
  fellBackToChild: boolean;
  scaModal: boolean;
  scaTimeoutMs: number;
  /** where a redirect confirmation returns the buyer; null: the accept's status URL */
  returnUrl: string | null;
}

/** What preparing an accept found: a plan to charge, or a saved method the gateway will not charge. */
export interface PreparedAccept {
  plan: AcceptPlan;
  methodDeclined: { code: string; message: string } | null;
}

export interface ChargeAction {
  clientSecret?: string;
  redirectUrl?: string;
}

/** A gateway's answer, mapped to our own outcomes at the gateway boundary. */
export type ChargeResult =
  | { status: 'succeeded'; chargeRef: string }
  | { status: 'requires_action'; chargeRef: string; action: ChargeAction }
  | { status: 'declined'; chargeRef: string | null; code: string; message: string };

export interface WrittenOrder {
  orderId: string;
  orderExternalId: string;
  kind: 'child' | 'merged';
  eventId: string;
  /**
   * Decided by the order write (the parent locked), which may differ from the plan's forecast.
   * Optional: results recorded in history before it existed do not carry it.
   */
  fellBackToChild?: boolean;
}

/** ApplicationFailure types the workflow branches on. Anything else is treated as an error. */
export const FAILURE = {
  /** validation refused the accept; the failure's message is the code, details[0] the text */
  rejected: 'AcceptRejected',
  /** the gateway refused the request for good (invalid request, no configuration) */
  gatewayRefused: 'GatewayRefused',
  /** the gateway could not be reached (network, 5xx, rate limit); retried, and so named if it never answers */
  gatewayUnavailable: 'GatewayUnavailable',
  /** the order could not be written for a reason that will not pass (constraint, data error) */
  orderWriteFailed: 'OrderWriteFailed',
} as const;
