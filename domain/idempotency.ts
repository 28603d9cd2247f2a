import { createHash } from 'node:crypto';
import { DomainError } from './errors.ts';

export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9_\-:.]{8,255}$/;

export function assertIdempotencyKey(key: string | undefined): string {
  if (key === undefined || key === '') throw new DomainError('idempotency_key_missing', 'the X-Idempotency-Key header is required');
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new DomainError('idempotency_key_invalid', 'X-Idempotency-Key must be 8-255 characters of A-Z a-z 0-9 _ - : .');
  }
  return key;
}

/** What makes two accepts "the same request": same offer, token and cart. */
export function requestFingerprint(offerId: string, token: string, cartId: string): string {
  return createHash('sha256')
    .update(JSON.stringify([offerId, token, cartId]))
    .digest('hex');
}

/**
 * The gateway-side idempotency key/reference for an accept's charge: the same on every attempt,
 * and inside every gateway's charset (Paystack allows only letters, digits, '-', '.' and '=').
 */
export function gatewayChargeKey(acceptKey: string): string {
  const digest = createHash('sha256').update(acceptKey).digest('base64url').slice(0, 32).replace(/_/g, '.');
  return `ocu-${digest}`;
}

export function gatewayRefundKey(acceptKey: string): string {
  return `${gatewayChargeKey(acceptKey)}-refund`;
}
