/**
 * The price the buyer saw is the price charged. The token carries the
 * offer's amount and currency at mint time; an accept after the offer was repriced (or its currency
 * changed) is refused with 409 offer_changed and nothing is charged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../domain/token.ts';
import { expectNothingCharged, sandboxCharges } from './helpers/assertions.ts';
import { accept, auth, mintToken, readyToAccept } from './helpers/shop.ts';
import { newKey } from './helpers/ids.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

async function changeOffer(offerId: string, patch: Record<string, unknown>) {
  const res = await stack.app.inject({ method: 'PUT', url: `/wp-json/ocart/v1/offers/${offerId}`, headers: auth, payload: patch });
  expect(res.statusCode, res.body).toBe(200);
}

const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;

describe('the price the buyer saw is the price charged', () => {
  it("the mint answer and the token carry the offer's amount and currency", async () => {
    const { order, offer } = await readyToAccept(stack.app, {}, { amount: 1500, currency: 'USD' });
    const res = await stack.app.inject({
      method: 'POST',
      url: `/wp-json/ocart/v1/upsells/${offer.id}/tokens`,
      headers: auth,
      payload: { order_id: order.externalId, cart_id: order.cartId },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json<{ amount: { value: number; currency: string } }>().amount).toEqual({ value: 1500, currency: 'USD' });
    expect(claimsOf(res.json<{ token: string }>().token)).toMatchObject({ amt: 1500, cur: 'USD' });
  });

  it('repriced after the token was minted: 409 offer_changed, nothing charged; a fresh token is charged the new price', async () => {
    const { order, offer, body } = await readyToAccept(stack.app, {}, { amount: 1500 });
    await changeOffer(offer.id, { amount: 2500 });
    const key = newKey();
    const res = await accept(stack.app, offer.id, key, body);
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json()).toMatchObject({ status: 'rejected', accept_id: key, code: 'offer_changed' });
    await expectNothingCharged(stack.prisma, key);
    expect(await stack.prisma.order.count({ where: { parentId: order.id } })).toBe(0);

    // The page reloads, shows 25.00 and mints again: that accept is charged 25.00.
    const fresh = await mintToken(stack.app, offer.id, order.externalId, order.cartId);
    const key2 = newKey();
    const ok = await accept(stack.app, offer.id, key2, { token: fresh.token, cart_id: order.cartId });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json<{ amount: { value: number; currency: string } }>().amount).toEqual({ value: 2500, currency: 'USD' });
    expect((await sandboxCharges(stack.prisma, key2)).map((c) => [c.amount, c.currency])).toEqual([[2500, 'USD']]);
  });

  it('currency changed after the token was minted: 409 offer_changed, nothing charged', async () => {
    const { order, offer, body } = await readyToAccept(stack.app, { currency: 'EUR' }, { amount: 1500, currency: 'EUR' });
    await changeOffer(offer.id, { currency: 'USD' });
    const key = newKey();
    const res = await accept(stack.app, offer.id, key, body);
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json<{ code: string }>().code).toBe('offer_changed');
    await expectNothingCharged(stack.prisma, key);
    expect(await stack.prisma.order.count({ where: { parentId: order.id } })).toBe(0);
  });

  it('a price changed and changed back is the price the buyer saw: accepted', async () => {
    const { offer, body } = await readyToAccept(stack.app, {}, { amount: 1500 });
    await changeOffer(offer.id, { amount: 900 });
    await changeOffer(offer.id, { amount: 1500 });
    const key = newKey();
    const res = await accept(stack.app, offer.id, key, body);
    expect(res.statusCode, res.body).toBe(200);
    expect((await sandboxCharges(stack.prisma, key)).map((c) => c.amount)).toEqual([1500]);
  });

  it('a token minted before prices were carried still verifies and is charged the current price', async () => {
    const { order, offer } = await readyToAccept(stack.app, {}, { amount: 1500 });
    await changeOffer(offer.id, { amount: 1700 });
    const { token, claims } = signToken({ offerId: offer.id, orderId: order.externalId, cartId: order.cartId }, stack.config.tokenKeys, new Date(), 30);
    expect(claims).not.toHaveProperty('amt');
    const key = newKey();
    const res = await accept(stack.app, offer.id, key, { token, cart_id: order.cartId });
    expect(res.statusCode, res.body).toBe(200);
    expect((await sandboxCharges(stack.prisma, key)).map((c) => c.amount)).toEqual([1700]);
    // No price at the start: the workflow sets the memo from its plan, as ops read it in the Web UI.
    const handle = stack.client.workflow.getHandle(key);
    await handle.result();
    expect((await handle.describe()).memo).toEqual({ amount: 1700, currency: 'USD' });
  });
});
