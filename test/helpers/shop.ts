/** Sets up shop state the way a shop backend would: through the server-to-server API. */
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { API_KEY, uid } from './stack.ts';

export const auth = { authorization: `Bearer ${API_KEY}` };

export interface ParentOrderOptions {
  externalId?: string;
  cartId?: string;
  status?: 'pending' | 'paid' | 'refunded' | 'cancelled';
  currency?: string;
  total?: number;
  paidAt?: Date;
  gateway?: string;
  methodRef?: string;
  customerRef?: string | null;
  email?: string;
  productIds?: string[];
}

export async function registerParentOrder(app: FastifyInstance, o: ParentOrderOptions = {}) {
  const externalId = o.externalId ?? `wc-${uid()}`;
  const cartId = o.cartId ?? `cart-${uid()}`;
  const total = o.total ?? 5000;
  const res = await app.inject({
    method: 'PUT',
    url: `/wp-json/ocart/v1/orders/${externalId}`,
    headers: auth,
    payload: {
      cart_id: cartId,
      status: o.status ?? 'paid',
      currency: o.currency ?? 'USD',
      total,
      paid_at: (o.paidAt ?? new Date()).toISOString(),
      customer: { email: o.email ?? 'buyer@example.com' },
      payment: { gateway: o.gateway ?? 'sandbox', customer_ref: o.customerRef === undefined ? 'cus_sandbox' : o.customerRef, method_ref: o.methodRef ?? 'pm_card_visa' },
      line_items: (o.productIds ?? ['prod_shoes']).map((id) => ({ product_id: id, name: `Product ${id}`, quantity: 1, unit_amount: total })),
    },
  });
  expect(res.statusCode, res.body).toBe(200);
  return { externalId, cartId, id: res.json<{ id: string }>().id };
}

export interface OfferOptions {
  amount?: number;
  currency?: string;
  active?: boolean;
  startsAt?: Date | null;
  endsAt?: Date | null;
  eligibility?: Record<string, unknown> | null;
  orderStrategy?: 'child' | 'merge' | null;
}

export async function createOffer(app: FastifyInstance, o: OfferOptions = {}) {
  const res = await app.inject({
    method: 'POST',
    url: '/wp-json/ocart/v1/offers',
    headers: auth,
    payload: {
      product_id: 'prod_socks',
      name: 'Matching socks',
      amount: o.amount ?? 1500,
      currency: o.currency ?? 'USD',
      active: o.active ?? true,
      ...(o.startsAt !== undefined ? { starts_at: o.startsAt?.toISOString() ?? null } : {}),
      ...(o.endsAt !== undefined ? { ends_at: o.endsAt?.toISOString() ?? null } : {}),
      ...(o.eligibility !== undefined ? { eligibility: o.eligibility } : {}),
      ...(o.orderStrategy !== undefined ? { order_strategy: o.orderStrategy } : {}),
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string; amount: number; currency: string }>();
}

export async function mintToken(app: FastifyInstance, offerId: string, orderId: string, cartId: string) {
  const res = await app.inject({
    method: 'POST',
    url: `/wp-json/ocart/v1/upsells/${offerId}/tokens`,
    headers: auth,
    payload: { order_id: orderId, cart_id: cartId },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ token: string; jti: string; expires_at: string }>();
}

export function accept(app: FastifyInstance, offerId: string, key: string | undefined, body: Record<string, unknown>) {
  return app.inject({
    method: 'POST',
    url: `/wp-json/ocart/v1/upsells/${offerId}/accept`,
    headers: { 'content-type': 'application/json', ...(key !== undefined ? { 'x-idempotency-key': key } : {}) },
    payload: JSON.stringify(body),
  });
}

/** A paid parent, an offer and a fresh token: everything a buyer's click needs. */
export async function readyToAccept(app: FastifyInstance, parent: ParentOrderOptions = {}, offer: OfferOptions = {}) {
  const order = await registerParentOrder(app, parent);
  const created = await createOffer(app, offer);
  const minted = await mintToken(app, created.id, order.externalId, order.cartId);
  return { order, offer: created, token: minted.token, jti: minted.jti, body: { token: minted.token, cart_id: order.cartId } };
}
