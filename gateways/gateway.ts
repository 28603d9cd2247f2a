/**
 * The one interface every payment gateway sits behind. Gateway-specific shapes and errors are
 * mapped here, at the boundary, into our own outcomes; nothing gateway-specific reaches the workflow.
 */
import type { ChargeAction, ChargeResult } from '../contract/accept.ts';

export type { ChargeAction, ChargeResult };

export interface ChargeRequest {
  /** the accept's idempotency key, which is also the workflow ID */
  acceptKey: string;
  /** derived from acceptKey, the same on every attempt */
  idempotencyKey: string;
  amount: number;
  currency: string;
  customerRef: string | null;
  methodRef: string;
  email: string | null;
  metadata: { workflow_id: string; offer_id: string; parent_order_id: string };
  /** where the buyer comes back to after a redirect confirmation */
  returnUrl: string;
}

/** A refund the gateway took. */
export interface RefundResult {
  refundRef: string;
  status: 'succeeded' | 'pending';
}

export interface PaymentMethodCheck {
  customerRef: string | null;
  methodRef: string;
  email: string | null;
  amount: number;
  currency: string;
}

/** A verified webhook event that concerns one of our charges. */
export interface GatewayWebhookEvent {
  /** the workflow to signal (from the charge's metadata) */
  acceptKey: string;
  chargeRef: string;
  eventType: string;
  /** the gateway says the charge succeeded: if its accept has closed, the charge is reconciled */
  succeeded: boolean;
}

export interface PaymentGateway {
  readonly name: string;
  /** Resolves when the saved method can be charged; throws GatewayDecline when it cannot. */
  checkPaymentMethod(check: PaymentMethodCheck): Promise<void>;
  chargeOffSession(request: ChargeRequest): Promise<ChargeResult>;
  /** Reads the charge back from the gateway (after SCA): never trusts a webhook or browser. */
  confirmCharge(chargeRef: string): Promise<ChargeResult>;
  /** Cancels a charge waiting for the buyer; returns the charge as it stands afterwards. */
  cancelCharge(chargeRef: string): Promise<ChargeResult>;
  /**
   * Refunds `amount` minor units, or the whole charge when amount is null (a charge we have no order
   * for), under the gateway's own idempotency key where it takes one. `pending`: the gateway took the
   * refund and settles it later (Paystack queues every refund).
   */
  refund(chargeRef: string, amount: number | null, idempotencyKey: string): Promise<RefundResult>;
  /**
   * The charge made with this request's idempotency key, whatever it holds (amount included: a
   * charge under our key is ours to refund), or null when the gateway made none. Throws a transient
   * error while the gateway cannot say yet (a create still in flight).
   */
  findCharge(request: ChargeRequest): Promise<ChargeResult | null>;
  /** Verifies the signature over the raw body; null for a verified event that is not ours. */
  parseWebhook(rawBody: Buffer, headers: Record<string, string | string[] | undefined>): GatewayWebhookEvent | null;
}

/**
 * How a gateway said no, the same for every gateway:
 * - `declined`: the buyer's saved method cannot be charged (before any charge);
 * - `unsupported`: the gateway cannot charge this currency, or this amount in it;
 * - `refused`: the gateway refused our request for good (invalid request, bad configuration);
 * - `unavailable`: it could not be asked now (network, 5xx, rate limit): retried with the same key.
 */
export type GatewayErrorKind = 'declined' | 'unsupported' | 'refused' | 'unavailable';

/** Every error a gateway adapter throws on purpose: a kind, a stable code, and the gateway's words (for the logs only). */
export class GatewayError extends Error {
  override name = 'GatewayError';
  constructor(
    readonly kind: GatewayErrorKind,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Temporary failure (network, 5xx, rate limit): Temporal retries with the same idempotency key. */
export class GatewayTransientError extends GatewayError {
  override name = 'GatewayTransientError';
  constructor(message: string) {
    super('unavailable', 'gateway_error', message);
  }
}

/** The gateway refused our request for good (invalid request, bad configuration): never retried. */
export class GatewayRefusedError extends GatewayError {
  override name = 'GatewayRefusedError';
  constructor(code: string, message: string) {
    super('refused', code, message);
  }
}

/** The buyer's method cannot be charged (a decline before any charge). */
export class GatewayDeclineError extends GatewayError {
  override name = 'GatewayDeclineError';
  constructor(code: string, message: string) {
    super('declined', code, message);
  }
}

/**
 * The gateway cannot charge this currency, or this amount in it. Raised by checkPaymentMethod, so
 * every gateway refuses the same way (422 currency_unsupported) before anything is charged.
 */
export class GatewayCurrencyError extends GatewayError {
  override name = 'GatewayCurrencyError';
  constructor(message: string) {
    super('unsupported', 'currency_unsupported', message);
  }
}

/** The one classifier: a gateway's deliberate error, or undefined for anything else (a bug, an unexpected throw). */
export function classifyGatewayError(err: unknown): GatewayError | undefined {
  return err instanceof GatewayError ? err : undefined;
}

/** A webhook whose signature does not verify. */
export class WebhookSignatureError extends Error {
  override name = 'WebhookSignatureError';
}

export function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * A gateway's own words, fit for our logs: API keys, webhook secrets and bearer tokens it may quote
 * back ("Invalid API Key provided: sk_live_...") are blanked. Never shown to a buyer (see
 * domain/buyer-messages.ts).
 */
export function redactGatewayText(text: string): string {
  return text
    .replace(/\b(sk|rk|pk)_(live|test)_[A-Za-z0-9*]+/g, '$1_$2_[redacted]')
    .replace(/\bwhsec_[A-Za-z0-9*]+/g, 'whsec_[redacted]')
    .replace(/\b(Bearer\s+)\S+/gi, '$1[redacted]');
}
