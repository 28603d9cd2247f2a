/**
 * The one-click token check the buyer-facing routes make at the door (accept, impressions): shape,
 * HMAC, key id, expiry, and that it names this offer and this cart, in process, before the rate
 * limiter, the database or Temporal is touched. A forged or mismatched token gets its 4xx here
 * (token_malformed 400, token_signature_invalid 401, token_mismatch 403) and costs a hash.
 */
import { DomainError } from '../domain/errors.ts';
import { type SigningKey, type TokenClaims, verifyToken } from '../domain/token.ts';
import type { ShownAccept } from '../contract/accept.ts';

/**
 * The token's claims, or 'expired' for a genuine token whose time is up (each route decides what
 * that means: the accept answers a replay of a finished accept from its record). Every other
 * refusal throws its DomainError.
 */
export function checkBuyerToken(token: string, keys: readonly SigningKey[], now: Date, subject: { offerId: string; cartId: string }): TokenClaims | 'expired' {
  try {
    return verifyToken(token, keys, now, subject);
  } catch (err) {
    if (err instanceof DomainError && err.code === 'token_expired') return 'expired';
    throw err;
  }
}

/** What a verified token says the buyer saw: the parent order, and the price when the token carries one. */
export function shownInToken(claims: TokenClaims): ShownAccept {
  return { parentExternalId: claims.ord, ...(claims.amt !== undefined && claims.cur !== undefined ? { price: { value: claims.amt, currency: claims.cur } } : {}) };
}
