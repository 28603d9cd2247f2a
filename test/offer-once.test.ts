/**
 * One offer, one charge per parent order. A second tab mints a second
 * token and accepts under a second key; the offer_claims unique constraint refuses it before any
 * money moves (409 offer_already_accepted). Charges are counted in the sandbox gateway's own ledger.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateways } from '../gateways/index.ts';
import { validateAcceptRequest } from '../activities/validation.ts';
import { isUniqueViolation } from '../db/client.ts';
import { requestFingerprint } from '../domain/idempotency.ts';
import { expectNothingCharged } from './helpers/assertions.ts';
import { pollUntil } from './helpers/poll.ts';
import { accept, auth, createOffer, mintToken, readyToAccept, registerParentOrder } from './helpers/shop.ts';
import { newKey } from './helpers/ids.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

let stack: TestStack;
beforeAll(async () => {
  // A real listening port: the concurrent accepts below go over TCP, like a buyer's tabs.
  stack = await startTestStack({ listen: true });
});
afterAll(async () => {
  await stack?.stop();
});

/** Charges the sandbox gateway made for this offer and parent (its ledger is the gateway's own count). */
function chargesFor(offerId: string, parentExternalId: string) {
  return stack.prisma.sandboxCharge.findMany({
    where: { AND: [{ metadata: { path: ['offer_id'], equals: offerId } }, { metadata: { path: ['parent_order_id'], equals: parentExternalId } }] },
  });
}

async function acceptOverHttp(offerId: string, key: string, body: Record<string, unknown>) {
  const res = await fetch(`${stack.baseUrl}/wp-json/ocart/v1/upsells/${offerId}/accept`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-idempotency-key': key },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

function mintRaw(offerId: string, orderId: string, cartId: string) {
  return stack.app.inject({ method: 'POST', url: `/wp-json/ocart/v1/upsells/${offerId}/tokens`, headers: auth, payload: { order_id: orderId, cart_id: cartId } });
}

async function setOffer(offerId: string, patch: Record<string, unknown>) {
  const res = await stack.app.inject({ method: 'PUT', url: `/wp-json/ocart/v1/offers/${offerId}`, headers: auth, payload: patch });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Record<string, unknown>>();
}

describe('one offer, one charge per parent order', () => {
  it('ten concurrent accepts over HTTP, each with its own token and key: one charge, one order, nine 409 offer_already_accepted', async () => {
    const order = await registerParentOrder(stack.app);
    const offer = await createOffer(stack.app);
    // Ten tabs, each with the token its page view minted, before anyone clicks.
    const tokens = await Promise.all(Array.from({ length: 10 }, () => mintToken(stack.app, offer.id, order.externalId, order.cartId)));
    const keys = tokens.map(() => newKey());

    const answers = await Promise.all(tokens.map((t, i) => acceptOverHttp(offer.id, keys[i]!, { token: t.token, cart_id: order.cartId })));

    const succeeded = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 409);
    expect(answers.map((a) => a.status).sort()).toEqual([200, ...Array<number>(9).fill(409)]);
    expect(succeeded[0]!.json).toMatchObject({ status: 'succeeded', offer_id: offer.id });
    for (const r of refused) expect(r.json).toMatchObject({ status: 'rejected', code: 'offer_already_accepted' });

    const charges = await chargesFor(offer.id, order.externalId);
    expect(charges).toHaveLength(1);
    expect(charges[0]!.status).toBe('succeeded');
    expect(await stack.prisma.order.count({ where: { parentId: order.id } })).toBe(1);
    expect(await stack.prisma.payment.count({ where: { idempotencyKey: { in: keys } } })).toBe(1);
    for (const r of refused) await expectNothingCharged(stack.prisma, String(r.json.accept_id));
    expect(await stack.prisma.offerClaim.count({ where: { parentOrderId: order.id, offerId: offer.id } })).toBe(1);
  });

  it('a second tab after the first accept: minting is refused, and an accept with a token from before is refused; nothing charged', async () => {
    const { order, offer, body } = await readyToAccept(stack.app);
    const early = await mintToken(stack.app, offer.id, order.externalId, order.cartId);
    const first = await accept(stack.app, offer.id, newKey(), body);
    expect(first.statusCode, first.body).toBe(200);

    const mint = await mintRaw(offer.id, order.externalId, order.cartId);
    expect(mint.statusCode).toBe(409);
    expect(mint.json()).toMatchObject({ status: 'rejected', code: 'offer_already_accepted' });

    const key = newKey();
    const second = await accept(stack.app, offer.id, key, { token: early.token, cart_id: order.cartId });
    expect(second.statusCode).toBe(409);
    expect(second.json()).toMatchObject({ status: 'rejected', accept_id: key, code: 'offer_already_accepted' });
    await expectNothingCharged(stack.prisma, key);
    expect(await chargesFor(offer.id, order.externalId)).toHaveLength(1);
    // Refused before the burn: the early token's jti was never spent.
    expect(await stack.prisma.burnedToken.count({ where: { jti: early.jti } })).toBe(0);

    // Another parent order can still take the same offer.
    const other = await registerParentOrder(stack.app);
    const t = await mintToken(stack.app, offer.id, other.externalId, other.cartId);
    expect((await accept(stack.app, offer.id, newKey(), { token: t.token, cart_id: other.cartId })).statusCode).toBe(200);
  });

  it('a declined accept gives the offer back: with another card on file, a new token and key are charged once', async () => {
    const { order, offer, body } = await readyToAccept(stack.app, { methodRef: 'pm_card_chargeDeclined' });
    const declinedKey = newKey();
    const declined = await accept(stack.app, offer.id, declinedKey, body);
    expect(declined.statusCode).toBe(402);
    // The claim is given back when the outcome is recorded, just after the buyer is answered.
    await pollUntil(
      () => stack.prisma.offerClaim.count({ where: { acceptKey: declinedKey } }),
      (n) => n === 0,
    );
    expect(await stack.prisma.offerClaim.count({ where: { acceptKey: declinedKey } })).toBe(0);

    await registerParentOrder(stack.app, { externalId: order.externalId, cartId: order.cartId, methodRef: 'pm_card_visa' });
    const again = await mintToken(stack.app, offer.id, order.externalId, order.cartId);
    const retried = await accept(stack.app, offer.id, newKey(), { token: again.token, cart_id: order.cartId });
    expect(retried.statusCode, retried.body).toBe(200);
    const charges = await chargesFor(offer.id, order.externalId);
    expect(charges.map((c) => c.status).sort()).toEqual(['declined', 'succeeded']);
  });

  it('an SCA the buyer never finishes ends expired and gives the offer back', async () => {
    const patch = (p: Record<string, unknown>) => stack.app.inject({ method: 'PATCH', url: '/wp-json/ocart/v1/settings', headers: auth, payload: p });
    expect((await patch({ 'upsells.sca_timeout_min': 0.05 })).statusCode).toBe(200);
    try {
      const { order, offer, body } = await readyToAccept(stack.app, { methodRef: 'pm_card_authenticationRequired' });
      const key = newKey();
      const waiting = await accept(stack.app, offer.id, key, body);
      expect(waiting.statusCode).toBe(202);
      // While the buyer is at the bank the offer is taken.
      expect((await mintRaw(offer.id, order.externalId, order.cartId)).json<{ code: string }>().code).toBe('offer_already_accepted');

      await stack.client.workflow.getHandle(key).result();
      expect(await stack.prisma.offerClaim.count({ where: { acceptKey: key } })).toBe(0);
      const t = await mintToken(stack.app, offer.id, order.externalId, order.cartId);
      const next = await accept(stack.app, offer.id, newKey(), { token: t.token, cart_id: order.cartId });
      expect(next.statusCode).toBe(202);
      const charges = await chargesFor(offer.id, order.externalId);
      expect(charges.map((c) => c.status).sort()).toEqual(['canceled', 'requires_action']);
    } finally {
      await patch({ 'upsells.sca_timeout_min': 30 });
    }
  });

  it('max_per_order: 2 lets one parent take the offer twice, the third accept is refused', async () => {
    const order = await registerParentOrder(stack.app);
    const offer = await createOffer(stack.app);
    expect(await setOffer(offer.id, { max_per_order: 2 })).toMatchObject({ max_per_order: 2 });
    const tokens = await Promise.all(Array.from({ length: 3 }, () => mintToken(stack.app, offer.id, order.externalId, order.cartId)));
    const answers = await Promise.all(tokens.map((t) => acceptOverHttp(offer.id, newKey(), { token: t.token, cart_id: order.cartId })));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 409]);
    expect(await chargesFor(offer.id, order.externalId)).toHaveLength(2);
    expect(await stack.prisma.order.count({ where: { parentId: order.id } })).toBe(2);
    expect((await mintRaw(offer.id, order.externalId, order.cartId)).statusCode).toBe(409);
  });

  it('max_per_order must be an integer of at least 1, and defaults to 1', async () => {
    const offer = await createOffer(stack.app);
    expect((await stack.app.inject({ method: 'GET', url: `/wp-json/ocart/v1/offers/${offer.id}`, headers: auth })).json<{ max_per_order: number }>().max_per_order).toBe(1);
    for (const bad of [0, -1, 1.5, '2']) {
      const res = await stack.app.inject({ method: 'PUT', url: `/wp-json/ocart/v1/offers/${offer.id}`, headers: auth, payload: { max_per_order: bad } });
      expect(res.statusCode).toBe(400);
      expect(res.json<{ code: string }>().code).toBe('invalid_request');
    }
  });

  it('the database holds it: a second claim of the same slot is a unique violation', async () => {
    const { order, offer, body } = await readyToAccept(stack.app);
    const key = newKey();
    await accept(stack.app, offer.id, key, body);
    const err = await stack.prisma.offerClaim.create({ data: { acceptKey: newKey(), parentOrderId: order.id, offerId: offer.id, slot: 1 } }).catch((e: unknown) => e);
    expect(isUniqueViolation(err)).toBe(true);
  });

  it('a retry of the same accept (the validation activity run again) finds its own claim and burn', async () => {
    const { order, offer, body } = await readyToAccept(stack.app);
    const key = newKey();
    const input = { acceptKey: key, offerId: offer.id, token: body.token, cartId: order.cartId, fingerprint: requestFingerprint(offer.id, body.token, order.cartId) };
    const { registry } = buildGateways(stack.config.gateways, { prisma: stack.prisma, publicBaseUrl: stack.config.publicBaseUrl });
    const ctx = { prisma: stack.prisma, gateways: registry, tokenKeys: stack.config.tokenKeys, now: new Date() };
    const first = await validateAcceptRequest(ctx, input);
    const again = await validateAcceptRequest(ctx, input);
    expect(again.amount).toEqual(first.amount);
    expect(await stack.prisma.offerClaim.findMany({ where: { parentOrderId: order.id, offerId: offer.id } })).toMatchObject([{ acceptKey: key, slot: 1 }]);
    // Another accept of the same offer for this parent is refused while that claim stands.
    const t = await mintRaw(offer.id, order.externalId, order.cartId);
    expect(t.statusCode).toBe(409);
  });
});
