/** Seeds a demo shop through the shop-backend API: a paid parent order and an offer per sandbox outcome. */

export interface DemoShop {
  orderExternalId: string;
  cartId: string;
  offers: { success: string; sca: string; decline: string };
  successToken: string;
}

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
  const token = await call(base, apiKey, 'POST', `/wp-json/ocart/v1/upsells/${offers.success}/tokens`, {
    order_id: 'demo-order-success',
    cart_id: cartId,
  });
  return { orderExternalId: 'demo-order-success', cartId, offers, successToken: String(token.token) };
}
