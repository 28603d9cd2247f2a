/**
 * The recent accepts list (GET /wp-json/ocart/v1/upsells/accepts) and the refunded amounts on
 * GET /orders/{id}: accepts made over HTTP through the real workflow and the sandbox gateway,
 * refunded through the refund route, read back and checked against the rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTemporalUiUrl } from '../api/config.ts';
import { ConfigError } from '../config/env.ts';
import { accept, auth, readyToAccept } from './helpers/shop.ts';
import { newKey } from './helpers/ids.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const UI = 'http://127.0.0.1:8233';
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ env: { TEMPORAL_UI_URL: `${UI}/` } });
});
afterAll(async () => {
  await stack?.stop();
});

interface Listed {
  accept_id: string;
  offer_id: string;
  offer_name: string | null;
  status: string;
  error_code: string | null;
  gateway: string | null;
  amount: { value: number; currency: string } | null;
  refunded: { value: number; currency: string } | null;
  refundable: boolean;
  parent_order_id: string | null;
  child_order_id: string | null;
  created_at: string;
  completed_at: string | null;
  temporal_ui_url: string | null;
}

function list(query = '', headers: Record<string, string> = auth) {
  return stack.app.inject({ method: 'GET', url: `/wp-json/ocart/v1/upsells/accepts${query}`, headers });
}

function refund(acceptId: string, amount?: number) {
  return stack.app.inject({
    method: 'POST',
    url: `/wp-json/ocart/v1/upsells/accepts/${encodeURIComponent(acceptId)}/refund`,
    headers: { ...auth, 'idempotency-key': newKey('rf'), 'content-type': 'application/json' },
    payload: JSON.stringify(amount !== undefined ? { amount } : {}),
  });
}

async function accepted(o: { declines?: boolean; strategy?: 'child' | 'merge' } = {}) {
  const ready = await readyToAccept(stack.app, { methodRef: o.declines ? 'pm_card_chargeDeclined' : 'pm_card_visa' }, { amount: 1500, orderStrategy: o.strategy ?? 'child' });
  const key = newKey('acc');
  const res = await accept(stack.app, ready.offer.id, key, ready.body);
  expect(res.statusCode, res.body).toBe(o.declines ? 402 : 200);
  return { ...ready, key };
}

describe('GET /upsells/accepts', () => {
  it('lists the newest accepts first, with status, amounts, refunds and the workflow link, as the rows say', async () => {
    const paid = await accepted();
    const declined = await accepted({ declines: true });
    const partly = await accepted();
    expect((await refund(partly.key, 400)).statusCode).toBe(200);

    // Other test files write accepts into the same database meanwhile: this test's own three, in order.
    const mine = new Set([paid.key, declined.key, partly.key]);
    const res = await list('?limit=100');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const all = res.json<{ accepts: Listed[] }>().accepts;
    for (let i = 1; i < all.length; i++) expect(all[i - 1]!.created_at >= all[i]!.created_at).toBe(true);
    const accepts = all.filter((a) => mine.has(a.accept_id));
    expect(accepts.map((a) => a.accept_id)).toEqual([partly.key, declined.key, paid.key]);

    const rows = await stack.prisma.accept.findMany({ where: { idempotencyKey: { in: [paid.key, declined.key, partly.key] } } });
    for (const listed of accepts) {
      const row = rows.find((r) => r.idempotencyKey === listed.accept_id)!;
      expect(listed.status).toBe(row.status);
      expect(listed.error_code).toBe(row.errorCode);
      expect(listed.created_at).toBe(row.createdAt.toISOString());
      expect(listed.temporal_ui_url).toBe(`${UI}/namespaces/default/workflows/${encodeURIComponent(listed.accept_id)}`);
    }

    const [p, d, f] = [accepts[2]!, accepts[1]!, accepts[0]!];
    expect(p).toMatchObject({ status: 'succeeded', offer_id: paid.offer.id, offer_name: 'Matching socks', gateway: 'sandbox', parent_order_id: paid.order.externalId });
    expect(p).toMatchObject({ amount: { value: 1500, currency: 'USD' }, refunded: { value: 0, currency: 'USD' }, refundable: true });
    const child = await stack.prisma.order.findFirstOrThrow({ where: { payments: { some: { idempotencyKey: paid.key } } } });
    expect(p.child_order_id).toBe(child.id);
    expect(p.completed_at).not.toBeNull();

    expect(d).toMatchObject({ status: 'declined', refundable: false, child_order_id: null });
    expect(d.error_code).toBeTruthy();

    expect(f).toMatchObject({ status: 'succeeded', refunded: { value: 400, currency: 'USD' }, refundable: true });
    expect((await refund(partly.key)).statusCode).toBe(200);
    const after = (await list('?limit=100')).json<{ accepts: Listed[] }>().accepts.find((a) => a.accept_id === partly.key)!;
    expect(after).toMatchObject({ accept_id: partly.key, refunded: { value: 1500, currency: 'USD' }, refundable: false });
  });

  it('defaults to 20, and refuses a bad limit or a missing key', async () => {
    const res = await list();
    expect(res.statusCode).toBe(200);
    expect(res.json<{ accepts: Listed[] }>().accepts.length).toBeLessThanOrEqual(20);
    for (const bad of ['0', '101', 'ten', '-1', '1.5']) {
      const r = await list(`?limit=${bad}`);
      expect(r.statusCode, bad).toBe(400);
      expect(r.json<{ code: string }>().code).toBe('invalid_request');
    }
    expect((await list('?cursor=x')).statusCode).toBe(400);
    const unauth = await list('', {});
    expect(unauth.statusCode).toBe(401);
    expect(unauth.json<{ code: string }>().code).toBe('unauthorized');
  });
});

describe('GET /orders/{id} shows what was refunded', () => {
  it('on the child order, its payment and line', async () => {
    const { key } = await accepted();
    expect((await refund(key, 600)).statusCode).toBe(200);
    const child = await stack.prisma.order.findFirstOrThrow({ where: { payments: { some: { idempotencyKey: key } } } });
    const res = await stack.app.inject({ method: 'GET', url: `/wp-json/ocart/v1/orders/${child.externalId}`, headers: auth });
    expect(res.statusCode, res.body).toBe(200);
    const order = res.json<{
      status: string;
      refunded_amount: number;
      payments: Array<{ status: string; refunded_amount: number }>;
      line_items: Array<{ refunded_amount: number; status: string | null }>;
    }>();
    expect(order).toMatchObject({ status: 'partially_refunded', refunded_amount: 600 });
    expect(order.payments).toEqual([expect.objectContaining({ accept_id: key, status: 'partially_refunded', refunded_amount: 600 })]);
    expect(order.line_items).toEqual([expect.objectContaining({ refunded_amount: 600, status: 'partially_refunded' })]);
  });

  it('on a merged line and its parent, which keeps its status; the shop lines stay at 0 and null', async () => {
    const { key, order: parent } = await accepted({ strategy: 'merge' });
    expect((await refund(key)).statusCode).toBe(200);
    const res = await stack.app.inject({ method: 'GET', url: `/wp-json/ocart/v1/orders/${parent.externalId}`, headers: auth });
    expect(res.statusCode, res.body).toBe(200);
    const order = res.json<{
      status: string;
      refunded_amount: number;
      line_items: Array<{ accept_id: string | null; refunded_amount: number; status: string | null }>;
      child_orders: unknown[];
    }>();
    expect(order).toMatchObject({ status: 'paid', refunded_amount: 1500 });
    const upsell = order.line_items.find((l) => l.accept_id === key)!;
    expect(upsell).toMatchObject({ refunded_amount: 1500, status: 'refunded' });
    for (const line of order.line_items.filter((l) => l.accept_id === null)) expect(line).toMatchObject({ refunded_amount: 0, status: null });
  });
});

describe('TEMPORAL_UI_URL', () => {
  it('takes a base URL, drops a trailing slash, and refuses anything else', () => {
    expect(parseTemporalUiUrl(undefined)).toBeNull();
    expect(parseTemporalUiUrl('http://127.0.0.1:8233/')).toBe('http://127.0.0.1:8233');
    expect(parseTemporalUiUrl('https://temporal.example/ui/')).toBe('https://temporal.example/ui');
    for (const bad of ['not a url', 'ftp://x.example', 'http://x.example/?a=1', 'https://u:p@x.example']) expect(() => parseTemporalUiUrl(bad), bad).toThrow(ConfigError);
  });
});
