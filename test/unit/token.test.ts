import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../domain/errors.ts';
import { assertTokenPrice, parseSigningKeys, signToken, verifyToken } from '../../domain/token.ts';

const keys = parseSigningKeys('k2:new-secret-0123456789abcdefghijklmnop,k1:old-secret-0123456789abcdefghijklmnop');
const subject = { offerId: 'off_1', orderId: 'wc-1', cartId: 'cart-1' };
const now = new Date('2026-11-26T12:00:00Z');

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof DomainError) return err.code;
    throw err;
  }
  return 'no error';
}

describe('token: HMAC-SHA256-signed and short-lived', () => {
  it('carries offer, parent order, cart, jti, issued-at, expiry and key id', () => {
    const { token, claims } = signToken(subject, keys, now, 30, 'jti-1');
    expect(claims).toEqual({ v: 1, kid: 'k2', off: 'off_1', ord: 'wc-1', cart: 'cart-1', jti: 'jti-1', iat: 1795694400, exp: 1795694400 + 1800 });
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(verifyToken(token, keys, now, subject)).toEqual(claims);
  });

  it('the TTL is the configured number of minutes', () => {
    const { claims } = signToken(subject, keys, now, 45);
    expect(claims.exp - claims.iat).toBe(45 * 60);
  });

  it('is refused once expired (410 token_expired)', () => {
    const { token } = signToken(subject, keys, now, 30);
    expect(codeOf(() => verifyToken(token, keys, new Date(now.getTime() + 30 * 60_000), subject))).toBe('token_expired');
    expect(codeOf(() => verifyToken(token, keys, new Date(now.getTime() + 30 * 60_000 - 1000), subject))).toBe('no error');
  });

  it('rotation: a token signed by the old key still verifies while it is configured', () => {
    const old = parseSigningKeys('k1:old-secret-0123456789abcdefghijklmnop');
    const { token } = signToken(subject, old, now, 30);
    expect(verifyToken(token, keys, now, subject).kid).toBe('k1');
    const rotatedOut = parseSigningKeys('k2:new-secret-0123456789abcdefghijklmnop');
    expect(codeOf(() => verifyToken(token, rotatedOut, now, subject))).toBe('token_signature_invalid');
  });

  it('a tampered payload or signature fails the signature check', () => {
    const { token } = signToken(subject, keys, now, 30);
    const [payload, sig] = token.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const forgedPayload = Buffer.from(JSON.stringify({ ...claims, off: 'off_2' })).toString('base64url');
    expect(codeOf(() => verifyToken(`${forgedPayload}.${sig}`, keys, now, {}))).toBe('token_signature_invalid');
    const flipped = sig.startsWith('A') ? `B${sig.slice(1)}` : `A${sig.slice(1)}`;
    expect(codeOf(() => verifyToken(`${payload}.${flipped}`, keys, now, {}))).toBe('token_signature_invalid');
    const otherSecret = parseSigningKeys('k2:attacker-secret-0123456789abcdefghijk');
    expect(codeOf(() => verifyToken(signToken(subject, otherSecret, now, 30).token, keys, now, subject))).toBe('token_signature_invalid');
  });

  it('a token for another offer, order or cart is refused (token_mismatch)', () => {
    const { token } = signToken(subject, keys, now, 30);
    expect(codeOf(() => verifyToken(token, keys, now, { ...subject, offerId: 'off_2' }))).toBe('token_mismatch');
    expect(codeOf(() => verifyToken(token, keys, now, { ...subject, orderId: 'wc-2' }))).toBe('token_mismatch');
    expect(codeOf(() => verifyToken(token, keys, now, { ...subject, cartId: 'cart-2' }))).toBe('token_mismatch');
  });

  it('anything that is not a token is token_malformed', () => {
    for (const bad of ['', 'abc', 'a.b.c', '!!!.???', `${Buffer.from('{"v":2}').toString('base64url')}.abc`, 'x'.repeat(5000)]) {
      expect(codeOf(() => verifyToken(bad, keys, now, {}))).toBe('token_malformed');
    }
  });

  it('carries the price it was minted at; the accept needs the same amount and currency (offer_changed)', () => {
    const { token, claims } = signToken({ ...subject, price: { value: 1500, currency: 'USD' } }, keys, now, 30);
    expect(claims).toMatchObject({ amt: 1500, cur: 'USD' });
    const verified = verifyToken(token, keys, now, subject);
    expect(codeOf(() => assertTokenPrice(verified, { value: 1500, currency: 'USD' }))).toBe('no error');
    expect(codeOf(() => assertTokenPrice(verified, { value: 1501, currency: 'USD' }))).toBe('offer_changed');
    expect(codeOf(() => assertTokenPrice(verified, { value: 1500, currency: 'EUR' }))).toBe('offer_changed');
  });

  it('a token from before prices were carried still verifies and takes the current price; half a price is malformed', () => {
    const { token } = signToken(subject, keys, now, 30);
    const verified = verifyToken(token, keys, now, subject);
    expect(verified).not.toHaveProperty('amt');
    expect(codeOf(() => assertTokenPrice(verified, { value: 999, currency: 'USD' }))).toBe('no error');
    // Signed correctly, but with an amount and no currency (or a bad one): not a token we mint.
    const signWith = (extra: Record<string, unknown>) => {
      const payload = Buffer.from(JSON.stringify({ ...signToken(subject, keys, now, 30).claims, ...extra })).toString('base64url');
      return `${payload}.${createHmac('sha256', keys[0]!.secret).update(payload).digest('base64url')}`;
    };
    for (const extra of [{ amt: 1500 }, { cur: 'USD' }, { amt: '1500', cur: 'USD' }, { amt: 1.5, cur: 'USD' }, { amt: -1, cur: 'USD' }, { amt: 1500, cur: 'usd' }]) {
      expect(
        codeOf(() => verifyToken(signWith(extra), keys, now, subject)),
        JSON.stringify(extra),
      ).toBe('token_malformed');
    }
    expect(verifyToken(signWith({ amt: 1500, cur: 'USD' }), keys, now, subject)).toMatchObject({ amt: 1500, cur: 'USD' });
  });

  it('signing keys need a key id and a long secret, and the first one signs', () => {
    expect(() => parseSigningKeys('')).toThrow(/at least one/);
    expect(() => parseSigningKeys('k1:short')).toThrow(/at least 32/);
    expect(() => parseSigningKeys('k1:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,k1:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb')).toThrow(/repeats/);
    expect(keys[0]!.kid).toBe('k2');
  });
});
