/** Sets up shop state the way a shop backend would: through the server-to-server API. */
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { uid } from './ids.ts';
import { parentOrderBody, parentOrderPath, type ParentOrderOptions } from './parent-order.ts';
import { API_KEY } from './stack.ts';

export const auth = { authorization: `Bearer ${API_KEY}` };

/** A parent order written through the shop API; `externalId` and `cartId` are fresh unless given. */
export async function registerParentOrder(app: FastifyInstance, o: Partial<ParentOrderOptions> & { externalId?: string } = {}) {
  const { externalId = `wc-${uid()}`, cartId = `cart-${uid()}`, ...rest } = o;
  const res = await app.inject({ method: 'PUT', url: parentOrderPath(externalId), headers: auth, payload: parentOrderBody({ ...rest, cartId }) });
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
export async function readyToAccept(app: FastifyInstance, parent: Parameters<typeof registerParentOrder>[1] = {}, offer: OfferOptions = {}) {
  const order = await registerParentOrder(app, parent);
  const created = await createOffer(app, offer);
  const minted = await mintToken(app, created.id, order.externalId, order.cartId);
  return { order, offer: created, token: minted.token, jti: minted.jti, body: { token: minted.token, cart_id: order.cartId } };
}
