/**
 * Stable error codes and their HTTP statuses: the one table the HTTP layer maps through.
 * Codes are part of the public contract (docs/api.md): add codes, never rename them.
 */
export const ERROR_STATUS = {
  invalid_request: 400,
  idempotency_key_missing: 400,
  idempotency_key_invalid: 400,
  token_malformed: 400,
  return_url_not_allowed: 400,
  signature_invalid: 400,
  /** analytics: a from/to that is not an ISO 8601 date or date-time */
  date_invalid: 400,
  /** analytics: from is not before to */
  range_invalid: 400,
  /** analytics: the range is longer than the report allows */
  range_too_long: 400,
  token_signature_invalid: 401,
  unauthorized: 401,
  payment_method_unusable: 402,
  token_mismatch: 403,
  cart_mismatch: 403,
  offer_not_found: 404,
  order_not_found: 404,
  accept_not_found: 404,
  not_found: 404,
  funnel_not_found: 404,
  token_replayed: 409,
  parent_not_paid: 409,
  offer_already_accepted: 409,
  offer_changed: 409,
  /** a refund of an accept that did not succeed (nothing was charged, or nothing stands to refund) */
  not_refundable: 409,
  /** the parent's post-purchase window has closed: nothing more is charged for it */
  window_closed: 409,
  token_expired: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  offer_inactive: 422,
  offer_ineligible: 422,
  currency_mismatch: 422,
  currency_unsupported: 422,
  gateway_unsupported: 422,
  idempotency_key_reused: 422,
  card_data_refused: 422,
  setting_invalid: 422,
  /** a refund of more than the upsell's charge has left */
  refund_exceeds_charge: 422,
  invalid_funnel: 422,
  unknown_offer: 422,
  funnel_cycle: 422,
  unreachable_step: 422,
  mixed_currencies: 422,
  rate_limited: 429,
  internal_error: 500,
  gateway_error: 502,
  gateway_not_configured: 503,
  service_unavailable: 503,
  /** Temporal or the database could not be reached right now; `Retry-After` says when to ask again */
  temporarily_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_STATUS, code);
}

export function statusForCode(code: string): number {
  return isErrorCode(code) ? ERROR_STATUS[code] : 500;
}

/** A refusal with a stable code. Thrown by rules and activities; mapped to HTTP by api/. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }

  get httpStatus(): number {
    return ERROR_STATUS[this.code];
  }
}
