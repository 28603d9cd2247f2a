import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { DomainError } from './errors.ts';
import { CURRENCY_PATTERN, type Money, formatMoney } from './money.ts';

/**
 * One-click upsell tokens: `<base64url(JSON claims)>.<base64url(HMAC-SHA256 of the first part)>`.
 * Compact and URL-safe. The claims carry a key id (`kid`) so the signing secret can be rotated:
 * the first configured key signs, and every configured key still verifies until its tokens expire.
 */
export interface TokenClaims {
  v: 1;
  kid: string;
  /** offer id */
  off: string;
  /** parent order, the shop's external id */
  ord: string;
  /** cart/session id that owns the parent order */
  cart: string;
  jti: string;
  /** issued-at and expiry, seconds since the epoch */
  iat: number;
  exp: number;
  /**
   * The offer's price when the token was minted (minor units, ISO 4217): what the buyer was shown.
   * An accept is refused (offer_changed) if the offer no longer costs this. Absent only in tokens
   * minted before prices were carried; those are charged the current price.
   */
  amt?: number;
  cur?: string;
  /** The funnel and step this token is for (both or neither): its answer carries the next step. */
  fun?: string;
  stp?: string;
}

export interface SigningKey {
  kid: string;
  secret: string;
}

export interface TokenSubject {
  offerId: string;
  orderId: string;
  cartId: string;
}

/** A funnel step a token is minted for. */
export interface TokenFunnelStep {
  funnelId: string;
  stepId: string;
}

const KID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
const CURRENCY = new RegExp(CURRENCY_PATTERN);
const MAX_TOKEN_LENGTH = 2048;

/** Parses OCART_TOKEN_SECRETS: `kid:secret,kid2:secret2`; the first one signs. */
export function parseSigningKeys(raw: string): SigningKey[] {
  const keys = raw
    .split(',')
    .map((pair) => pair.trim())
    .filter(Boolean)
    .map((pair) => {
      const at = pair.indexOf(':');
      const kid = at > 0 ? pair.slice(0, at) : '';
      const secret = at > 0 ? pair.slice(at + 1) : '';
      if (!KID_PATTERN.test(kid)) throw new Error(`OCART_TOKEN_SECRETS: key id "${kid}" must be 1-32 of A-Z a-z 0-9 _ -`);
      if (secret.length < 32) throw new Error(`OCART_TOKEN_SECRETS: the secret of key "${kid}" must be at least 32 characters`);
      return { kid, secret };
    });
  if (keys.length === 0) throw new Error('OCART_TOKEN_SECRETS must hold at least one kid:secret pair');
  if (new Set(keys.map((k) => k.kid)).size !== keys.length) throw new Error('OCART_TOKEN_SECRETS repeats a key id');
  return keys;
}

function sign(payload: string, secret: string): Buffer {
  return createHmac('sha256', secret).update(payload).digest();
}

export function signToken(
  subject: TokenSubject & { price?: Money; funnel?: TokenFunnelStep },
  keys: readonly SigningKey[],
  now: Date,
  ttlMinutes: number,
  jti: string = randomUUID(),
): { token: string; claims: TokenClaims } {
  const signer = keys[0];
  if (!signer) throw new Error('no signing key configured');
  const iat = Math.floor(now.getTime() / 1000);
  const claims: TokenClaims = {
    v: 1,
    kid: signer.kid,
    off: subject.offerId,
    ord: subject.orderId,
    cart: subject.cartId,
    jti,
    iat,
    exp: iat + Math.round(ttlMinutes * 60),
    ...(subject.price ? { amt: subject.price.value, cur: subject.price.currency } : {}),
    ...(subject.funnel ? { fun: subject.funnel.funnelId, stp: subject.funnel.stepId } : {}),
  };
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return { token: `${payload}.${sign(payload, signer.secret).toString('base64url')}`, claims };
}

function isClaims(value: unknown): value is TokenClaims {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  return (
    c.v === 1 &&
    ['kid', 'off', 'ord', 'cart', 'jti'].every((k) => typeof c[k] === 'string' && c[k].length > 0) &&
    Number.isSafeInteger(c.iat) &&
    Number.isSafeInteger(c.exp) &&
    // The price comes whole or not at all.
    ((c.amt === undefined && c.cur === undefined) || (Number.isSafeInteger(c.amt) && (c.amt as number) >= 0 && typeof c.cur === 'string' && CURRENCY.test(c.cur))) &&
    // So does the funnel step.
    ((c.fun === undefined && c.stp === undefined) || (typeof c.fun === 'string' && c.fun.length > 0 && typeof c.stp === 'string' && c.stp.length > 0))
  );
}

/**
 * The price the buyer was shown is the price charged: a token that carries a price is good only
 * while the offer still costs exactly that, in that currency (409 offer_changed otherwise).
 * A token minted before prices were carried has none; it is charged the current price.
 */
export function assertTokenPrice(claims: TokenClaims, current: Money): void {
  if (claims.amt === undefined) return;
  if (claims.amt !== current.value || claims.cur !== current.currency) {
    throw new DomainError('offer_changed', `the offer changed since it was shown: it now costs ${formatMoney(current)}`);
  }
}

/**
 * Verifies signature, expiry and subject, in that order, each with its own stable code.
 * The signature is compared in constant time; the claims are not trusted before it verifies.
 */
export function verifyToken(token: string, keys: readonly SigningKey[], now: Date, expected: Partial<TokenSubject>): TokenClaims {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) {
    throw new DomainError('token_malformed', 'the token is not a one-click upsell token');
  }
  const [payload, signature] = token.split('.') as [string, string];
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw new DomainError('token_malformed', 'the token is not a one-click upsell token');
  }
  if (!isClaims(claims)) throw new DomainError('token_malformed', 'the token is not a one-click upsell token');

  const key = keys.find((k) => k.kid === claims.kid);
  const given = Buffer.from(signature, 'base64url');
  const wanted = key ? sign(payload, key.secret) : Buffer.alloc(32);
  // Compare even for an unknown kid, so the answer takes the same time either way.
  const matches = given.length === wanted.length && timingSafeEqual(given, wanted);
  if (!key || !matches) throw new DomainError('token_signature_invalid', 'the token signature does not verify');

  if (Math.floor(now.getTime() / 1000) >= claims.exp) throw new DomainError('token_expired', 'the token has expired');

  assertTokenSubject(claims, expected);
  return claims;
}

/** A token is only good for the offer, parent order and cart it was issued for. */
export function assertTokenSubject(claims: TokenClaims, expected: Partial<TokenSubject>): void {
  if (
    (expected.offerId !== undefined && claims.off !== expected.offerId) ||
    (expected.orderId !== undefined && claims.ord !== expected.orderId) ||
    (expected.cartId !== undefined && claims.cart !== expected.cartId)
  ) {
    throw new DomainError('token_mismatch', 'the token was issued for another offer, order or cart');
  }
}
