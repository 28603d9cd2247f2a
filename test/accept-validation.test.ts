/** Validation: every refusal has its own code and status, and nothing is charged. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../domain/token.ts';
import { expectNothingCharged, sandboxCharges } from './helpers/assertions.ts';
import { accept, auth, createOffer, mintToken, readyToAccept, registerParentOrder } from './helpers/shop.ts';
import { newKey } from './helpers/ids.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

async function expectRejected(res: { statusCode: number; json<T = unknown>(): T }, status: number, code: string, key: string) {
  expect(res.statusCode, JSON.stringify(res.json())).toBe(status);
  expect(res.json()).toMatchObject({ status: 'rejected', code, accept_id: key });
  expect(typeof res.json<{ message?: unknown }>().message).toBe('string');
  await expectNothingCharged(stack.prisma, key);
}

describe('validation: offer', () => {
  it('offer missing -> 404 offer_not_found', async () => {
    // A genuine token for an offer that is gone (one for another offer is refused at the door: token_mismatch).
    const order = await registerParentOrder(stack.app);
    const { token } = signToken({ offerId: 'off_does_not_exist', orderId: order.externalId, cartId: order.cartId }, stack.config.tokenKeys, new Date(), 30);
    const key = newKey();
    await expectRejected(await accept(stack.app, 'off_does_not_exist', key, { token, cart_id: order.cartId }), 404, 'offer_not_found', key);
  });

  it('offer inactive -> 422 offer_inactive', async () => {
    const { offer, body } = await readyToAccept(stack.app);
    await stack.app.inject({ method: 'PUT', url: `/wp-json/ocart/v1/offers/${offer.id}`, headers: auth, payload: { active: false } });
    const key = newKey();
    await expectRejected(await accept(stack.app, offer.id, key, body), 422, 'offer_inactive', key);
  });

  it('offer outside its window -> 422 offer_inactive', async () => {
    const { offer, body } = await readyToAccept(stack.app, {}, { endsAt: new Date(Date.now() - 60_000) });
    const key = newKey();
    await expectRejected(await accept(stack.app, offer.id, key, body), 422, 'offer_inactive', key);
    const later = await readyToAccept(stack.app, {}, { startsAt: new Date(Date.now() + 3_600_000) });
    const key2 = newKey();
    await expectRejected(await accept(stack.app, later.offer.id, key2, later.body), 422, 'offer_inactive', key2);
  });

  it('offer not eligible for this parent order -> 422 offer_ineligible', async () => {
    const { offer, body } = await readyToAccept(stack.app, { total: 1000 }, { eligibility: { min_parent_total: 2000 } });
    const key = newKey();
    await expectRejected(await accept(stack.app, offer.id, key, body), 422, 'offer_ineligible', key);
    const excl = await readyToAccept(stack.app, { productIds: ['prod_socks'] }, { eligibility: { excludes_product_ids: ['prod_socks'] } });
    const key2 = newKey();
    await expectRejected(await accept(stack.app, excl.offer.id, key2, excl.body), 422, 'offer_ineligible', key2);
  });

  it('currency mismatch -> 422 currency_mismatch', async () => {
    const { offer, body } = await readyToAccept(stack.app, { currency: 'USD' }, { currency: 'EUR' });
    const key = newKey();
    await expectRejected(await accept(stack.app, offer.id, key, body), 422, 'currency_mismatch', key);
  });
});

describe('validation: parent order and cart', () => {
  it('cart does not own the parent order -> 403 cart_mismatch', async () => {
    const order = await registerParentOrder(stack.app, { cartId: 'cart-owner-a' });
    const offer = await createOffer(stack.app);
    const { token } = await mintToken(stack.app, offer.id, order.externalId, 'cart-intruder-b');
    const key = newKey();
    await expectRejected(await accept(stack.app, offer.id, key, { token, cart_id: 'cart-intruder-b' }), 403, 'cart_mismatch', key);
  });

  for (const status of ['pending', 'refunded', 'cancelled'] as const) {
    it(`parent ${status}, not paid -> 409 parent_not_paid`, async () => {
      const { offer, body } = await readyToAccept(stack.app, { status });
      const key = newKey();
      await expectRejected(await accept(stack.app, offer.id, key, body), 409, 'parent_not_paid', key);
    });
  }

  it('an order paid through a gateway we have no adapter for -> 422 gateway_unsupported', async () => {
    const { offer, body } = await readyToAccept(stack.app, { gateway: 'adyen', methodRef: 'pm_adyen_1' });
    const key = newKey();
    await expectRejected(await accept(stack.app, offer.id, key, body), 422, 'gateway_unsupported', key);
  });

  it('the saved method fails the gateway-side check -> 402 payment_method_unusable, nothing charged', async () => {
    const { offer, body } = await readyToAccept(stack.app, { methodRef: 'pm_card_unknown' });
    const key = newKey();
    const res = await accept(stack.app, offer.id, key, body);
    expect(res.statusCode).toBe(402);
    expect(res.json()).toMatchObject({ status: 'declined', code: 'payment_method_unusable' });
    await expectNothingCharged(stack.prisma, key);
  });
});

describe('validation: token', () => {
  it('malformed -> 400 token_malformed', async () => {
    const { offer, body } = await readyToAccept(stack.app);
    const key = newKey();
    await expectRejected(await accept(stack.app, offer.id, key, { ...body, token: 'not-a-token' }), 400, 'token_malformed', key);
  });

  it('bad signature -> 401 token_signature_invalid', async () => {
    const { offer, order, body } = await readyToAccept(stack.app);
    const forged = signToken(
      { offerId: offer.id, orderId: order.externalId, cartId: order.cartId },
      [{ kid: 'k2026', secret: 'attacker-guess-0123456789abcdefghijk' }],
      new Date(),
      30,
    );
    const key = newKey();
    await expectRejected(await accept(stack.app, offer.id, key, { ...body, token: forged.token }), 401, 'token_signature_invalid', key);
  });

  it('expired -> 410 token_expired', async () => {
    const { offer, order, body } = await readyToAccept(stack.app);
    const old = signToken({ offerId: offer.id, orderId: order.externalId, cartId: order.cartId }, stack.config.tokenKeys, new Date(Date.now() - 31 * 60_000), 30);
    const key = newKey();
    await expectRejected(await accept(stack.app, offer.id, key, { ...body, token: old.token }), 410, 'token_expired', key);
  });

  it('issued for another offer -> 403 token_mismatch', async () => {
    const a = await readyToAccept(stack.app);
    const other = await createOffer(stack.app);
    const key = newKey();
    await expectRejected(await accept(stack.app, other.id, key, a.body), 403, 'token_mismatch', key);
  });

  it('issued for another cart -> 403 token_mismatch', async () => {
    const { offer, body } = await readyToAccept(stack.app);
    const key = newKey();
    await expectRejected(await accept(stack.app, offer.id, key, { ...body, cart_id: 'cart-someone-else' }), 403, 'token_mismatch', key);
  });

  it('single-use jti: a replay under another key -> 409 token_replayed, one charge in all', async () => {
    const { offer, body } = await readyToAccept(stack.app);
    const first = newKey();
    expect((await accept(stack.app, offer.id, first, body)).statusCode).toBe(200);
    const replay = newKey();
    await expectRejected(await accept(stack.app, offer.id, replay, body), 409, 'token_replayed', replay);
    expect(await sandboxCharges(stack.prisma, first)).toHaveLength(1);
  });

  it('single-use jti: a retry by the key that burned it is not refused by its own burn', async () => {
    const { offer, body, jti } = await readyToAccept(stack.app);
    const key = newKey();
    // As if an earlier attempt of this same accept burned the jti and then crashed.
    await stack.prisma.burnedToken.create({ data: { jti, acceptKey: key } });
    const res = await accept(stack.app, offer.id, key, body);
    expect(res.statusCode, res.body).toBe(200);
    expect(await stack.prisma.burnedToken.findUnique({ where: { jti } })).toMatchObject({ acceptKey: key });
  });

  it('the jti is not burned when validation fails, so a fixed offer can still be accepted', async () => {
    const { offer, body, jti } = await readyToAccept(stack.app, {}, { active: false });
    expect((await accept(stack.app, offer.id, newKey(), body)).statusCode).toBe(422);
    expect(await stack.prisma.burnedToken.findUnique({ where: { jti } })).toBeNull();
  });
});

describe('request shape and idempotency keys', () => {
  it('no X-Idempotency-Key -> 400 idempotency_key_missing', async () => {
    const { offer, body } = await readyToAccept(stack.app);
    const res = await accept(stack.app, offer.id, undefined, body);
    expect(res.statusCode).toBe(400);
    expect(res.json<{ code: string }>().code).toBe('idempotency_key_missing');
  });

  it('keys must be 8-255 characters of A-Z a-z 0-9 _ - : . -> 400 idempotency_key_invalid', async () => {
    const { offer, body } = await readyToAccept(stack.app);
    for (const bad of ['short', 'k'.repeat(256), 'has space ok?', 'semi;colon-key', 'ünïcode-key']) {
      const res = await stack.app.inject({
        method: 'POST',
        url: `/wp-json/ocart/v1/upsells/${offer.id}/accept`,
        headers: { 'content-type': 'application/json', 'x-idempotency-key': bad },
        payload: body,
      });
      expect(res.statusCode, bad).toBe(400);
      expect(res.json<{ code: string }>().code, bad).toBe('idempotency_key_invalid');
    }
  });

  it('the price comes from the offer: a body carrying an amount is refused, and the charge is the offer price', async () => {
    const { offer, body } = await readyToAccept(stack.app, {}, { amount: 2750 });
    const key = newKey();
    const res = await accept(stack.app, offer.id, key, { ...body, amount: 1 });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ code: string }>().code).toBe('invalid_request');
    await expectNothingCharged(stack.prisma, key);
    const ok = await accept(stack.app, offer.id, key, body);
    expect(ok.json<{ amount: { value: number; currency: string } }>().amount).toEqual({ value: 2750, currency: 'USD' });
    expect((await sandboxCharges(stack.prisma, key)).map((c) => c.amount)).toEqual([2750]);
  });
});
