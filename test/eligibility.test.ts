/**
 * "Why didn't my offer show?": GET /orders/{external_id}/offers lists every active offer with every
 * reason, the saved method checked at the gateway (through the real sandbox adapter, counted), and the
 * mint route's opt-in `require_eligible` refuses with the same reasons.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandboxGateway } from '../gateways/sandbox.ts';
import type { PaymentMethodCheck } from '../gateways/gateway.ts';
import { accept, auth, createOffer, registerParentOrder } from './helpers/shop.ts';
import { newKey } from './helpers/ids.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

/** The real sandbox adapter under another name, counting the method checks it is asked. */
const checks: PaymentMethodCheck[] = [];
let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({
    gateways: (prisma) => {
      const real = createSandboxGateway({ prisma, publicBaseUrl: 'http://127.0.0.1:3000', webhookSecret: 'counted-webhook-secret' });
      return [
        {
          ...real,
          name: 'counted',
          async checkPaymentMethod(check: PaymentMethodCheck) {
            checks.push(check);
            return real.checkPaymentMethod(check);
          },
        },
      ];
    },
  });
});
afterAll(async () => {
  await stack?.stop();
});

interface Listing {
  order_id: string;
  offers: Array<{ offer_id: string; funnel_id?: string; step_id?: string; eligible: boolean; reasons: Array<{ code: string; message: string; rule?: string }> }>;
}

async function listing(externalId: string) {
  const res = await stack.app.inject({ method: 'GET', url: `/wp-json/ocart/v1/orders/${externalId}/offers`, headers: auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Listing>();
}
async function entryFor(externalId: string, offerId: string) {
  const found = (await listing(externalId)).offers.find((o) => o.offer_id === offerId);
  expect(found, `${offerId} listed`).toBeDefined();
  return found!;
}
const codesOf = (e: { reasons: Array<{ code: string }> }) => e.reasons.map((r) => r.code);

function mint(offerId: string, orderId: string, cartId: string, extra: Record<string, unknown> = {}) {
  return stack.app.inject({ method: 'POST', url: `/wp-json/ocart/v1/upsells/${offerId}/tokens`, headers: auth, payload: { order_id: orderId, cart_id: cartId, ...extra } });
}

describe('GET /orders/{external_id}/offers', () => {
  it('an order that can take the offer: eligible, no reasons; a switched-off offer is not listed', async () => {
    const order = await registerParentOrder(stack.app);
    const offer = await createOffer(stack.app);
    const off = await createOffer(stack.app, { active: false });
    const body = await listing(order.externalId);
    expect(body.order_id).toBe(order.externalId);
    expect(body.offers.find((o) => o.offer_id === offer.id)).toEqual({ offer_id: offer.id, eligible: true, reasons: [] });
    expect(body.offers.some((o) => o.offer_id === off.id)).toBe(false);
  });

  it('every reason at once, in the order an accept meets them, each rule named', async () => {
    const order = await registerParentOrder(stack.app, { status: 'pending', currency: 'EUR', total: 900, productIds: ['p_hat'] });
    const offer = await createOffer(stack.app, { endsAt: new Date(Date.now() - 60_000), eligibility: { min_parent_total: 1000, requires_product_ids: ['p_shoes'] } });
    const entry = await entryFor(order.externalId, offer.id);
    expect(entry.eligible).toBe(false);
    expect(entry.reasons.map((r) => [r.code, r.rule])).toEqual([
      ['parent_not_paid', undefined],
      ['offer_inactive', undefined],
      ['offer_ineligible', 'min_parent_total'],
      ['offer_ineligible', 'requires_product_ids'],
      ['currency_mismatch', undefined],
    ]);
    // And an accept is refused with the first of them.
    const minted = await mint(offer.id, order.externalId, order.cartId);
    const res = await accept(stack.app, offer.id, newKey(), { token: minted.json<{ token: string }>().token, cart_id: order.cartId });
    expect(res.json()).toMatchObject({ code: 'parent_not_paid' });
  });

  it('offer_already_accepted once the order took the offer', async () => {
    const order = await registerParentOrder(stack.app);
    const offer = await createOffer(stack.app);
    const minted = await mint(offer.id, order.externalId, order.cartId);
    expect((await accept(stack.app, offer.id, newKey(), { token: minted.json<{ token: string }>().token, cart_id: order.cartId })).statusCode).toBe(200);
    expect(codesOf(await entryFor(order.externalId, offer.id))).toEqual(['offer_already_accepted']);
  });

  it('gateway_unsupported, gateway_not_configured, and a saved method the gateway refuses', async () => {
    const offer = await createOffer(stack.app);
    const square = await registerParentOrder(stack.app, { gateway: 'square' });
    expect(codesOf(await entryFor(square.externalId, offer.id))).toEqual(['gateway_unsupported']);
    const paystack = await registerParentOrder(stack.app, { gateway: 'paystack', methodRef: 'AUTH_abc123' });
    expect(codesOf(await entryFor(paystack.externalId, offer.id))).toEqual(['gateway_not_configured']);
    const unknownCard = await registerParentOrder(stack.app, { methodRef: 'pm_card_nosuch' });
    const entry = await entryFor(unknownCard.externalId, offer.id);
    expect(codesOf(entry)).toEqual(['payment_method_unusable']);
    expect(entry.eligible).toBe(false);
  });

  it('asks the gateway about the saved method live, once a minute per method and amount', async () => {
    const order = await registerParentOrder(stack.app, { gateway: 'counted', methodRef: 'pm_card_nosuch' });
    const a = await createOffer(stack.app, { amount: 4321 });
    const b = await createOffer(stack.app, { amount: 4321 });
    const before = checks.filter((c) => c.methodRef === 'pm_card_nosuch' && c.amount === 4321).length;
    const first = await listing(order.externalId);
    for (const id of [a.id, b.id]) expect(codesOf(first.offers.find((o) => o.offer_id === id)!)).toEqual(['payment_method_unusable']);
    await listing(order.externalId);
    // Two offers at one price, listed twice: the gateway was asked once.
    expect(checks.filter((c) => c.methodRef === 'pm_card_nosuch' && c.amount === 4321).length - before).toBe(1);
    // A new saved method is a new question.
    await registerParentOrder(stack.app, { externalId: order.externalId, cartId: order.cartId, gateway: 'counted', methodRef: 'pm_card_visa' });
    expect((await entryFor(order.externalId, a.id)).eligible).toBe(true);
    expect(checks.filter((c) => c.methodRef === 'pm_card_visa' && c.amount === 4321)).toHaveLength(1);
  });

  it('404 order_not_found for an unknown order or an upsell child order; 401 without the shop key', async () => {
    const missing = await stack.app.inject({ method: 'GET', url: '/wp-json/ocart/v1/orders/wc-nope-404/offers', headers: auth });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'order_not_found' });
    const order = await registerParentOrder(stack.app);
    const offer = await createOffer(stack.app);
    const minted = await mint(offer.id, order.externalId, order.cartId);
    const done = await accept(stack.app, offer.id, newKey(), { token: minted.json<{ token: string }>().token, cart_id: order.cartId });
    const child = done.json<{ order: { external_id: string } }>().order.external_id;
    expect((await stack.app.inject({ method: 'GET', url: `/wp-json/ocart/v1/orders/${child}/offers`, headers: auth })).statusCode).toBe(404);
    const anonymous = await stack.app.inject({ method: 'GET', url: `/wp-json/ocart/v1/orders/${order.externalId}/offers` });
    expect(anonymous.statusCode).toBe(401);
  });
});

/** A funnel over two fresh offers: `up` (its entry) leads to `down` on a yes and on a no. */
async function twoStepFunnel(o: { maxAccepts?: number; downRules?: Record<string, unknown> } = {}) {
  const up = await createOffer(stack.app);
  const down = await createOffer(stack.app);
  const res = await stack.app.inject({
    method: 'POST',
    url: '/wp-json/ocart/v1/funnels',
    headers: auth,
    payload: {
      name: 'Two steps',
      entry: 'up',
      ...(o.maxAccepts ? { max_accepts: o.maxAccepts } : {}),
      steps: [
        { id: 'up', offer_id: up.id, on_accept: 'down', on_decline: 'down' },
        { id: 'down', offer_id: down.id, on_accept: 'end', on_decline: 'end', ...(o.downRules ? { eligibility: o.downRules } : {}) },
      ],
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return { id: res.json<{ id: string }>().id, up, down };
}

const stepsOf = (body: Listing, funnelId: string) =>
  body.offers
    .filter((o) => o.funnel_id === funnelId)
    .map((o) => ({ offer_id: o.offer_id, step_id: o.step_id, eligible: o.eligible, codes: codesOf(o) }))
    .sort((a, b) => (a.step_id ?? '').localeCompare(b.step_id ?? ''));

describe('funnel steps in GET /orders/{external_id}/offers', () => {
  it("lists every step of a live funnel with its funnel and step ids; a step's own conditions are its reasons", async () => {
    const funnel = await twoStepFunnel({ downRules: { min_parent_total: 1_000_000 } });
    const order = await registerParentOrder(stack.app);
    const body = await listing(order.externalId);
    expect(stepsOf(body, funnel.id)).toEqual([
      { offer_id: funnel.down.id, step_id: 'down', eligible: false, codes: ['offer_ineligible'] },
      { offer_id: funnel.up.id, step_id: 'up', eligible: true, codes: [] },
    ]);
    const down = body.offers.find((o) => o.funnel_id === funnel.id && o.step_id === 'down')!;
    expect(down.reasons[0]).toMatchObject({ code: 'offer_ineligible', rule: 'min_parent_total' });
    // The standalone entry of the same offer knows nothing of the step's conditions.
    expect(body.offers.find((o) => o.offer_id === funnel.down.id && o.funnel_id === undefined)).toEqual({ offer_id: funnel.down.id, eligible: true, reasons: [] });
  });

  it("funnel_cap_reached once the order took max_accepts in that funnel; window_closed, first, once the order's window closed", async () => {
    const funnel = await twoStepFunnel({ maxAccepts: 1 });
    const other = await twoStepFunnel();
    const order = await registerParentOrder(stack.app);
    const bystander = await registerParentOrder(stack.app);
    const minted = await stack.app.inject({
      method: 'POST',
      url: `/wp-json/ocart/v1/funnels/${funnel.id}/tokens`,
      headers: auth,
      payload: { order_id: order.externalId, cart_id: order.cartId },
    });
    expect(minted.statusCode, minted.body).toBe(201);
    const took = await accept(stack.app, funnel.up.id, newKey(), { token: minted.json<{ token: string }>().token, cart_id: order.cartId });
    expect(took.statusCode, took.body).toBe(200);
    // One accept of one allowed: the funnel answered no next step.
    expect(took.json()).toMatchObject({ status: 'succeeded', next: null });

    // The funnel ended, so the window closes (its workflow, a moment later).
    let body = await listing(order.externalId);
    for (let i = 0; i < 100 && !stepsOf(body, funnel.id)[0]?.codes.includes('window_closed'); i++) {
      await new Promise((r) => setTimeout(r, 200));
      body = await listing(order.externalId);
    }
    expect(stepsOf(body, funnel.id)).toEqual([
      { offer_id: funnel.down.id, step_id: 'down', eligible: false, codes: ['window_closed', 'funnel_cap_reached'] },
      { offer_id: funnel.up.id, step_id: 'up', eligible: false, codes: ['window_closed', 'offer_already_accepted', 'funnel_cap_reached'] },
    ]);
    // Another funnel has its own cap; the window is the order's.
    expect(stepsOf(body, other.id).map((s) => s.codes)).toEqual([['window_closed'], ['window_closed']]);
    // Another order is untouched.
    const theirs = await listing(bystander.externalId);
    expect(stepsOf(theirs, funnel.id).map((s) => s.codes)).toEqual([[], []]);
    // And the accept door agrees: a step token for this order is refused now.
    const late = await stack.app.inject({
      method: 'POST',
      url: `/wp-json/ocart/v1/funnels/${other.id}/tokens`,
      headers: auth,
      payload: { order_id: order.externalId, cart_id: order.cartId },
    });
    expect(late.json()).toMatchObject({ code: 'window_closed' });
  });
});

describe('POST /upsells/{offer_id}/tokens with require_eligible', () => {
  it('refuses 422 with the first reason (all of them in reasons) and mints nothing; eligible orders get their token', async () => {
    const order = await registerParentOrder(stack.app, { currency: 'EUR', methodRef: 'pm_card_nosuch' });
    const offer = await createOffer(stack.app);
    const refused = await mint(offer.id, order.externalId, order.cartId, { require_eligible: true });
    expect(refused.statusCode, refused.body).toBe(422);
    expect(refused.json()).toMatchObject({
      status: 'rejected',
      code: 'currency_mismatch',
      reasons: [{ code: 'currency_mismatch' }, { code: 'payment_method_unusable' }],
    });
    expect(refused.json<{ token?: string }>().token).toBeUndefined();
    // Opt-in: without it the mint answers as it always has.
    expect((await mint(offer.id, order.externalId, order.cartId)).statusCode).toBe(201);
    expect((await mint(offer.id, order.externalId, order.cartId, { require_eligible: false })).statusCode).toBe(201);

    const good = await registerParentOrder(stack.app);
    const ok = await mint(offer.id, good.externalId, good.cartId, { require_eligible: true });
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json<{ token: string }>().token).toMatch(/\./);
  });

  it('both are in the OpenAPI document', async () => {
    const doc = (await stack.app.inject({ method: 'GET', url: '/docs/json' })).json<{ paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>();
    expect(Object.keys(doc.paths['/wp-json/ocart/v1/orders/{external_id}/offers']!.get!.responses).sort()).toEqual(['200', '400', '401', '404', '500']);
    expect(Object.keys(doc.paths['/wp-json/ocart/v1/upsells/{offer_id}/tokens']!.post!.responses)).toContain('422');
  });
});

describe('POST /upsells/{offer_id}/eligibility (the storefront asks before it shows)', () => {
  const ask = (offerId: string, token: string, cartId: string) =>
    stack.app.inject({ method: 'POST', url: `/wp-json/ocart/v1/upsells/${offerId}/eligibility`, payload: { token, cart_id: cartId } });

  it("answers the buyer's offer with the shop check's reasons, from the token alone; a forged token gets the accept's codes; nothing is written", async () => {
    const order = await registerParentOrder(stack.app);
    const offer = await createOffer(stack.app);
    const minted = await mint(offer.id, order.externalId, order.cartId);
    expect(minted.statusCode, minted.body).toBe(201);
    const { token } = minted.json<{ token: string }>();
    const before = await stack.prisma.$queryRaw<
      Array<{ n: bigint }>
    >`SELECT (SELECT count(*) FROM accepts) + (SELECT count(*) FROM burned_tokens) + (SELECT count(*) FROM offer_events) AS n`;

    const yes = await ask(offer.id, token, order.cartId);
    expect(yes.statusCode, yes.body).toBe(200);
    expect(yes.json()).toEqual({ offer_id: offer.id, eligible: true, reasons: [] });

    // Another currency than the parent's: the same reason the shop's listing gives, and the offer stays hidden.
    const changed = await stack.app.inject({ method: 'PUT', url: `/wp-json/ocart/v1/offers/${offer.id}`, headers: auth, payload: { currency: 'EUR' } });
    expect(changed.statusCode, changed.body).toBe(200);
    const no = await ask(offer.id, token, order.cartId);
    expect(no.statusCode, no.body).toBe(200);
    expect(no.json<{ eligible: boolean }>().eligible).toBe(false);
    expect(codesOf(no.json<{ reasons: Array<{ code: string }> }>())).toEqual(codesOf(await entryFor(order.externalId, offer.id)));
    expect(codesOf(no.json<{ reasons: Array<{ code: string }> }>())).toContain('currency_mismatch');

    const forged = await ask(offer.id, `${token.slice(0, -4)}AAAA`, order.cartId);
    expect(forged.statusCode).toBe(401);
    expect(forged.json<{ code: string }>().code).toBe('token_signature_invalid');
    const otherCart = await ask(offer.id, token, 'cart-someone-else');
    expect(otherCart.statusCode).toBe(403);
    expect(otherCart.json<{ code: string }>().code).toBe('token_mismatch');

    const after = await stack.prisma.$queryRaw<
      Array<{ n: bigint }>
    >`SELECT (SELECT count(*) FROM accepts) + (SELECT count(*) FROM burned_tokens) + (SELECT count(*) FROM offer_events) AS n`;
    expect(after[0]!.n).toBe(before[0]!.n);
  });
});

describe('a stored funnel that no longer parses', () => {
  it('is left out of the listing; the other offers and funnels are still listed', async () => {
    const order = await registerParentOrder(stack.app);
    const broken = await twoStepFunnel();
    const good = await twoStepFunnel();
    await stack.prisma.$executeRaw`UPDATE funnels SET steps = jsonb_set(steps::jsonb, '{0,on_accept}', '7') WHERE id = ${broken.id}`;
    try {
      const body = await listing(order.externalId);
      expect(body.offers.some((o) => o.funnel_id === broken.id)).toBe(false);
      expect(body.offers.filter((o) => o.funnel_id === good.id).length).toBe(2);
    } finally {
      await stack.prisma.$executeRaw`DELETE FROM funnels WHERE id = ${broken.id}`;
    }
  });
});
