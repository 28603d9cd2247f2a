/**
 * Seeds a demo shop through the shop-backend API: a paid parent order and an offer per sandbox outcome,
 * and a 3-step funnel (an upsell; a downsell after a no or a declined card; a second upsell after a yes).
 */

export interface DemoShop {
  orderExternalId: string;
  cartId: string;
  offers: { success: string; sca: string; decline: string };
  successToken: string;
  funnelId: string;
}

/** The demo funnel: its id, and its steps' offers (all USD). */
export const DEMO_FUNNEL_ID = 'demo-funnel';
export const DEMO_FUNNEL_OFFERS = [
  { step: 'gaiters', id: 'demo-funnel-gaiters', product_id: 'prod_gaiters', name: 'Trail gaiters', amount: 2500 },
  { step: 'socks', id: 'demo-funnel-socks', product_id: 'prod_socks_lite', name: 'Lightweight trail socks', amount: 900 },
  { step: 'bottle', id: 'demo-funnel-bottle', product_id: 'prod_bottle', name: 'Insulated bottle', amount: 1200 },
] as const;

async function call(base: string, apiKey: string, method: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${method} ${path} -> ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** The demo parent order's saved method decides the sandbox outcome, so each outcome gets its own order. */
export const DEMO_OUTCOMES = {
  success: 'pm_card_visa',
  sca: 'pm_card_authenticationRequired',
  decline: 'pm_card_chargeDeclined',
} as const;

export async function seedDemoShop(base: string, apiKey: string): Promise<DemoShop> {
  const cartId = 'demo-cart';
  const offers = {} as Record<keyof typeof DEMO_OUTCOMES, string>;
  for (const [outcome, methodRef] of Object.entries(DEMO_OUTCOMES) as Array<[keyof typeof DEMO_OUTCOMES, string]>) {
    await call(base, apiKey, 'PUT', `/wp-json/ocart/v1/orders/demo-order-${outcome}`, {
      cart_id: cartId,
      status: 'paid',
      currency: 'USD',
      total: 8900,
      paid_at: new Date().toISOString(),
      customer: { email: 'buyer@example.com' },
      payment: { gateway: 'sandbox', customer_ref: 'cus_demo', method_ref: methodRef },
      line_items: [{ product_id: 'prod_boots', name: 'Trail boots', quantity: 1, unit_amount: 8900 }],
    });
    const offer = await call(base, apiKey, 'POST', '/wp-json/ocart/v1/offers', {
      id: `demo-${outcome}`,
      product_id: 'prod_socks',
      name: 'Merino hiking socks',
      amount: 1500,
      currency: 'USD',
      active: true,
      // The demo orders are clicked again and again (every run, every browser test); a real shop
      // keeps the default of one accept per offer and parent order.
      max_per_order: 1000,
    });
    offers[outcome] = String(offer.id);
  }
  // The ready-to-paste curl's token is for a parent of its own: a minted token opens its parent's
  // post-purchase window, and the /demo page's parents (whose tokens the page signs for each view)
  // must not depend on a window run by an earlier process.
  const curlOrder = 'demo-order-curl';
  await call(base, apiKey, 'PUT', `/wp-json/ocart/v1/orders/${curlOrder}`, {
    cart_id: cartId,
    status: 'paid',
    currency: 'USD',
    total: 8900,
    paid_at: new Date().toISOString(),
    customer: { email: 'buyer@example.com' },
    payment: { gateway: 'sandbox', customer_ref: 'cus_demo', method_ref: DEMO_OUTCOMES.success },
    line_items: [{ product_id: 'prod_boots', name: 'Trail boots', quantity: 1, unit_amount: 8900 }],
  });
  const token = await call(base, apiKey, 'POST', `/wp-json/ocart/v1/upsells/${offers.success}/tokens`, {
    order_id: curlOrder,
    cart_id: cartId,
  });
  for (const o of DEMO_FUNNEL_OFFERS) {
    await call(base, apiKey, 'POST', '/wp-json/ocart/v1/offers', {
      id: o.id,
      product_id: o.product_id,
      name: o.name,
      amount: o.amount,
      currency: 'USD',
      active: true,
    });
  }
  // Each /demo page view walks the funnel on a parent order of its own (api/routes/demo.ts).
  await call(base, apiKey, 'POST', '/wp-json/ocart/v1/funnels', {
    id: DEMO_FUNNEL_ID,
    name: 'Demo funnel',
    entry: 'gaiters',
    max_accepts: 3,
    steps: [
      { id: 'gaiters', offer_id: 'demo-funnel-gaiters', on_accept: 'bottle', on_decline: 'socks' },
      { id: 'socks', offer_id: 'demo-funnel-socks', on_accept: 'end', on_decline: 'end' },
      { id: 'bottle', offer_id: 'demo-funnel-bottle', on_accept: 'end', on_decline: 'end' },
    ],
  });
  return { orderExternalId: curlOrder, cartId, offers, successToken: String(token.token), funnelId: DEMO_FUNNEL_ID };
}
