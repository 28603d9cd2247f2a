/** Impressions: counted once per token, refused (and nothing written) without a valid one. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../domain/token.ts';
import { accept, createOffer, mintToken, readyToAccept } from './helpers/shop.ts';
import { newKey } from './helpers/ids.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ env: { OCART_ALLOWED_ORIGINS: 'https://shop.example' } });
});
afterAll(async () => {
  await stack?.stop();
});

function impression(offerId: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return stack.app.inject({
    method: 'POST',
    url: `/wp-json/ocart/v1/upsells/${offerId}/impressions`,
    headers: { 'content-type': 'application/json', ...headers },
    payload: JSON.stringify(body),
  });
}

const impressionsOf = (offerId: string) => stack.prisma.offerEvent.findMany({ where: { offerId, kind: 'impression' } });

describe('POST /upsells/:offer_id/impressions', () => {
  it('202 and one row per token: a second report of the same token is not a second impression', async () => {
    const { offer, order, body, jti } = await readyToAccept(stack.app, { currency: 'EUR' }, { amount: 1500, currency: 'EUR' });
    const first = await impression(offer.id, body);
    expect(first.statusCode, first.body).toBe(202);
    expect(first.json()).toEqual({ offer_id: offer.id, counted: true });
    const again = await impression(offer.id, body);
    expect(again.statusCode).toBe(202);
    expect(again.json()).toEqual({ offer_id: offer.id, counted: false });
    expect((await impressionsOf(offer.id)).map((e) => [e.sourceKey, e.currency, e.amount])).toEqual([[jti, 'EUR', null]]);

    // Another page view (a new token) is another impression.
    const next = await mintToken(stack.app, offer.id, order.externalId, order.cartId);
    expect((await impression(offer.id, { token: next.token, cart_id: order.cartId })).json()).toMatchObject({ counted: true });
    expect((await impressionsOf(offer.id)).map((e) => e.sourceKey).sort()).toEqual([jti, next.jti].sort());

    // Reporting does not use the token up: the buyer can still accept with it.
    expect((await accept(stack.app, offer.id, newKey(), body)).statusCode).toBe(200);
  });

  it("an invalid token gets the accept's code and status, and nothing is written", async () => {
    const { offer, order, body } = await readyToAccept(stack.app);
    const other = await createOffer(stack.app);
    const forged = signToken(
      { offerId: offer.id, orderId: order.externalId, cartId: order.cartId },
      [{ kid: 'k2026', secret: 'attacker-guess-0123456789abcdefghijk' }],
      new Date(),
      30,
    );
    const expired = signToken({ offerId: offer.id, orderId: order.externalId, cartId: order.cartId }, stack.config.tokenKeys, new Date(Date.now() - 31 * 60_000), 30);
    const cases: Array<[string, Record<string, unknown>, number, string]> = [
      [offer.id, { ...body, token: 'not-a-token' }, 400, 'token_malformed'],
      [offer.id, { ...body, token: forged.token }, 401, 'token_signature_invalid'],
      [offer.id, { ...body, cart_id: 'cart-not-mine' }, 403, 'token_mismatch'],
      [other.id, body, 403, 'token_mismatch'],
      [offer.id, { ...body, token: expired.token }, 410, 'token_expired'],
      [offer.id, { cart_id: order.cartId }, 400, 'invalid_request'],
      [offer.id, { ...body, extra: 1 }, 400, 'invalid_request'],
    ];
    for (const [offerId, payload, status, code] of cases) {
      const res = await impression(offerId, payload);
      expect(res.statusCode, `${code}: ${res.body}`).toBe(status);
      expect(res.json()).toMatchObject({ status: 'rejected', code });
    }
    expect(await stack.prisma.offerEvent.count({ where: { offerId: { in: [offer.id, other.id] } } })).toBe(0);
  });

  it('answers the allowed storefront origin (CORS), like the accept', async () => {
    const { offer, body } = await readyToAccept(stack.app);
    const preflight = await stack.app.inject({
      method: 'OPTIONS',
      url: `/wp-json/ocart/v1/upsells/${offer.id}/impressions`,
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('https://shop.example');
    const res = await impression(offer.id, body, { origin: 'https://shop.example' });
    expect(res.statusCode).toBe(202);
    expect(res.headers['access-control-allow-origin']).toBe('https://shop.example');
  });
});
