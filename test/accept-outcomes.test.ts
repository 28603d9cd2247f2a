/** Outcome dispatch, order strategies, compensation, the event, idempotent replay, settings. */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAcceptOutcome } from '../db/accepts.ts';
import { isUniqueViolation } from '../db/client.ts';
import { statusQuery } from '../workflows/messages.ts';
import { sandboxCharges } from './helpers/assertions.ts';
import { pollUntil } from './helpers/poll.ts';
import { accept, auth, readyToAccept } from './helpers/shop.ts';
import { newKey } from './helpers/ids.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

const statusOf = (key: string, cartId: string) => stack.app.inject({ method: 'GET', url: `/wp-json/ocart/v1/upsells/accepts/${key}?cart_id=${cartId}` });

async function patchSettings(patch: Record<string, unknown>) {
  const res = await stack.app.inject({ method: 'PATCH', url: '/wp-json/ocart/v1/settings', headers: auth, payload: patch });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Record<string, unknown>>();
}

describe('outcome dispatch', () => {
  it('declined -> 402 with the decline code; nothing written but the accept record', async () => {
    for (const [methodRef, code] of [
      ['pm_card_chargeDeclined', 'card_declined'],
      ['pm_card_chargeDeclinedInsufficientFunds', 'insufficient_funds'],
    ] as const) {
      const { offer, body } = await readyToAccept(stack.app, { methodRef });
      const key = newKey();
      const res = await accept(stack.app, offer.id, key, body);
      expect(res.statusCode).toBe(402);
      expect(res.json()).toMatchObject({ status: 'declined', accept_id: key, code });
      expect(await stack.prisma.payment.count({ where: { idempotencyKey: key } })).toBe(0);
      // The buyer is answered first; the record follows a moment later.
      const record = await pollUntil(
        () => stack.prisma.accept.findUniqueOrThrow({ where: { idempotencyKey: key } }),
        (r) => r.status !== 'processing',
      );
      expect(record).toMatchObject({ status: 'declined', errorCode: code });
      expect(record.response).toEqual(res.json());
    }
  });

  it('requires_action -> 202 with the action and a status URL; approving SCA resumes the workflow into an order', async () => {
    const { offer, body, order } = await readyToAccept(stack.app, { methodRef: 'pm_card_authenticationRequired' });
    const key = newKey();
    const res = await accept(stack.app, offer.id, key, body);
    expect(res.statusCode, res.body).toBe(202);
    const json = res.json<{ action: { client_secret: string; redirect_url: string }; status_url: string }>();
    expect(json).toMatchObject({ status: 'requires_action', accept_id: key, action: { type: 'modal', gateway: 'sandbox' } });
    expect(json.action.client_secret).toMatch(/^sbx_/);
    expect(json.action.redirect_url).toMatch(/\/sandbox\/authenticate\/sbx_/);
    expect(json.status_url).toBe(`/wp-json/ocart/v1/upsells/accepts/${key}?cart_id=${order.cartId}`);

    const waiting = await statusOf(key, order.cartId);
    expect(waiting.json<{ status: string }>().status).toBe('requires_action');
    expect((await stack.client.workflow.getHandle(key).query(statusQuery)).phase).toBe('awaiting_sca');

    const chargeId = json.action.client_secret.replace(/_secret$/, '');
    const approve = await stack.app.inject({ method: 'POST', url: `/sandbox/authenticate/${chargeId}`, payload: { result: 'approve' } });
    expect(approve.json()).toMatchObject({ status: 'succeeded', webhook_status: 200 });

    const done = await pollUntil(
      () => statusOf(key, order.cartId),
      (r) => r.json<{ status: string }>().status !== 'requires_action',
    );
    expect(done.statusCode).toBe(200);
    expect(done.json()).toMatchObject({ status: 'succeeded', parent_order: { external_id: order.externalId }, order: { kind: 'child' } });
    expect(await sandboxCharges(stack.prisma, key)).toHaveLength(1);
    expect(await stack.prisma.payment.count({ where: { idempotencyKey: key } })).toBe(1);
    // Replays of the accept call give the first answer, as Stripe's idempotency does.
    const replay = await accept(stack.app, offer.id, key, body);
    expect(replay.statusCode).toBe(202);
    expect(replay.json()).toEqual(json);
  });

  it('requires_action then a failed authentication -> declined, no order', async () => {
    const { offer, body, order } = await readyToAccept(stack.app, { methodRef: 'pm_card_authenticationRequired' });
    const key = newKey();
    const json = (await accept(stack.app, offer.id, key, body)).json<{ action: { client_secret: string } }>();
    const chargeId = json.action.client_secret.replace(/_secret$/, '');
    await stack.app.inject({ method: 'POST', url: `/sandbox/authenticate/${chargeId}`, payload: { result: 'fail' } });
    const done = await pollUntil(
      () => statusOf(key, order.cartId),
      (r) => r.json<{ status: string }>().status !== 'requires_action',
    );
    expect(done.statusCode).toBe(402);
    expect(done.json()).toMatchObject({ status: 'declined', code: 'authentication_failed' });
    expect(await stack.prisma.payment.count({ where: { idempotencyKey: key } })).toBe(0);
  });

  it('the status endpoint answers only the cart that owns the accept', async () => {
    const { offer, body, order } = await readyToAccept(stack.app);
    const key = newKey();
    await accept(stack.app, offer.id, key, body);
    expect((await statusOf(key, order.cartId)).statusCode).toBe(200);
    const other = await statusOf(key, 'cart-not-mine');
    expect(other.statusCode).toBe(404);
    expect(other.json<{ code: string }>().code).toBe('accept_not_found');
  });
});

describe('order strategy', () => {
  it('A (default): a new child order linked to the parent', async () => {
    const { offer, body, order } = await readyToAccept(stack.app);
    const res = await accept(stack.app, offer.id, newKey(), body);
    expect(res.json()).toMatchObject({ strategy: 'child', order: { kind: 'child' }, fell_back_to_child: false });
    const parent = await stack.prisma.order.findUniqueOrThrow({ where: { id: order.id }, include: { children: true, lineItems: true } });
    expect(parent.children.map((c) => c.id)).toEqual([res.json<{ order: { id: string } }>().order.id]);
    expect(parent.lineItems).toHaveLength(1);
  });

  it('B (merge, offer override): within the cutoff the upsell becomes a parent line and the total grows', async () => {
    const { offer, body, order } = await readyToAccept(stack.app, { total: 5000 }, { orderStrategy: 'merge', amount: 1200 });
    const key = newKey();
    const res = await accept(stack.app, offer.id, key, body);
    expect(res.json()).toMatchObject({ strategy: 'merge', order: { id: order.id, kind: 'merged' }, fell_back_to_child: false });
    const parent = await stack.prisma.order.findUniqueOrThrow({ where: { id: order.id }, include: { children: true, lineItems: true, payments: true } });
    expect(parent.totalAmount).toBe(6200);
    expect(parent.children).toHaveLength(0);
    expect(parent.lineItems.map((li) => [li.unitAmount, li.acceptKey])).toEqual(expect.arrayContaining([[1200, key]]));
    expect(parent.payments.map((p) => p.idempotencyKey)).toEqual([key]);
  });

  it('B falls back to A after merge_cutoff_min, and the response says so', async () => {
    const { offer, body } = await readyToAccept(stack.app, { paidAt: new Date(Date.now() - 6 * 60_000) }, { orderStrategy: 'merge' });
    const res = await accept(stack.app, offer.id, newKey(), body);
    expect(res.json()).toMatchObject({ strategy: 'merge', order: { kind: 'child' }, fell_back_to_child: true });
  });

  it('the strategy comes from upsells.order_strategy_default, and setting changes apply to the next accept', async () => {
    await patchSettings({ 'upsells.order_strategy_default': 'merge', 'upsells.merge_cutoff_min': 10 });
    try {
      const { offer, body } = await readyToAccept(stack.app, { paidAt: new Date(Date.now() - 6 * 60_000) });
      const res = await accept(stack.app, offer.id, newKey(), body);
      expect(res.json()).toMatchObject({ strategy: 'merge', order: { kind: 'merged' } });
    } finally {
      await patchSettings({ 'upsells.order_strategy_default': 'child', 'upsells.merge_cutoff_min': 5 });
    }
  });
});

describe('never a charge without an order', () => {
  it('when the order cannot be written, the charge is refunded, recorded, and the answer is error', async () => {
    // A real database refusal for this test's keys only: payments for them cannot be inserted.
    await stack.prisma.$executeRawUnsafe(`
      CREATE OR REPLACE FUNCTION refuse_compensation_test() RETURNS trigger AS $$
      BEGIN RAISE EXCEPTION 'refused for the compensation test'; END; $$ LANGUAGE plpgsql`);
    await stack.prisma.$executeRawUnsafe(`DROP TRIGGER IF EXISTS refuse_compensation_test ON payments`);
    await stack.prisma.$executeRawUnsafe(`
      CREATE TRIGGER refuse_compensation_test BEFORE INSERT ON payments
      FOR EACH ROW WHEN (NEW.idempotency_key LIKE 'compensate-%') EXECUTE FUNCTION refuse_compensation_test()`);
    try {
      const { offer, body, order } = await readyToAccept(stack.app);
      const key = `compensate-${newKey()}`;
      const res = await accept(stack.app, offer.id, key, body);
      expect(res.statusCode).toBe(500);
      expect(res.json()).toMatchObject({ status: 'error', code: 'internal_error' });
      const [charge] = await sandboxCharges(stack.prisma, key);
      expect(charge?.status).toBe('refunded');
      expect(await stack.prisma.order.count({ where: { parentId: order.id } })).toBe(0);
      const record = await pollUntil(
        () => stack.prisma.accept.findUniqueOrThrow({ where: { idempotencyKey: key } }),
        (r) => r.status !== 'processing',
      );
      expect(record).toMatchObject({ status: 'error', errorCode: 'internal_error', gatewayRef: charge!.id });
    } finally {
      await stack.prisma.$executeRawUnsafe(`DROP TRIGGER IF EXISTS refuse_compensation_test ON payments`);
    }
  });
});

describe('event ocart/upsell/accepted', () => {
  it('goes to each subscriber signed, with a stable event id, parent and child references; retried until delivered', async () => {
    const received: Array<{ id: string; signature: string; body: string }> = [];
    // Each event's first POST fails. Per event, not the first POST overall: test files share the
    // database, so another file's relay may deliver its own events to this subscriber meanwhile.
    const failedOnce = new Set<string>();
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const id = String(req.headers['x-ocart-event-id']);
        received.push({ id, signature: String(req.headers['x-ocart-signature']), body });
        res.statusCode = failedOnce.has(id) ? 200 : 500;
        failedOnce.add(id);
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const secret = 'subscriber-secret-0123456789';
    const sub = await stack.app.inject({ method: 'POST', url: '/wp-json/ocart/v1/event-subscribers', headers: auth, payload: { url: `http://127.0.0.1:${port}/hook`, secret } });
    expect(sub.statusCode).toBe(201);
    try {
      const { offer, body, order } = await readyToAccept(stack.app);
      const key = newKey();
      const res = await accept(stack.app, offer.id, key, body);
      const event = await pollUntil(
        () => stack.prisma.outboxEvent.findUniqueOrThrow({ where: { acceptKey: key } }),
        (e) => e.status !== 'pending',
        20_000,
      );
      expect(event).toMatchObject({ status: 'delivered', attempts: 2 });
      const mine = received.filter((r) => r.id === event.id);
      expect(mine).toHaveLength(2);
      const last = mine[1]!;
      const [t, v1] = last.signature.split(',').map((p) => p.split('=')[1]);
      expect(v1).toBe(createHmac('sha256', secret).update(`${t}.${last.body}`).digest('hex'));
      expect(JSON.parse(last.body)).toMatchObject({
        id: event.id,
        type: 'ocart/upsell/accepted',
        data: { accept_id: key, parent_order: { id: order.id, external_id: order.externalId }, order: { id: res.json<{ order: { id: string } }>().order.id, kind: 'child' } },
      });
    } finally {
      await stack.prisma.eventSubscriber.update({ where: { id: sub.json<{ id: string }>().id }, data: { active: false } });
      server.close();
    }
  });
});

describe('idempotent replay', () => {
  it('10 identical requests at once: one charge, one order, ten identical responses', async () => {
    const { offer, body, order } = await readyToAccept(stack.app);
    const key = newKey();
    const all = await Promise.all(Array.from({ length: 10 }, () => accept(stack.app, offer.id, key, body)));
    expect(all.map((r) => r.statusCode)).toEqual(Array(10).fill(200));
    const bodies = new Set(all.map((r) => r.body));
    expect(bodies.size).toBe(1);
    expect(all.filter((r) => r.headers['idempotent-replayed'] !== 'true')).toHaveLength(1);
    expect(await sandboxCharges(stack.prisma, key)).toHaveLength(1);
    expect(await stack.prisma.order.count({ where: { parentId: order.id } })).toBe(1);
  });

  it('the same key with a different request -> 422 idempotency_key_reused, revealing nothing', async () => {
    const a = await readyToAccept(stack.app);
    const b = await readyToAccept(stack.app);
    const key = newKey();
    const first = await accept(stack.app, a.offer.id, key, a.body);
    // A request whose token does not fit its own offer and cart is refused at the door (403
    // token_mismatch) before the key is looked at; a consistent one is told the key is taken.
    for (const [offerId, body, status, code] of [
      [b.offer.id, b.body, 422, 'idempotency_key_reused'],
      [a.offer.id, { ...a.body, cart_id: 'cart-other' }, 403, 'token_mismatch'],
      [a.offer.id, { ...a.body, token: b.token }, 403, 'token_mismatch'],
    ] as const) {
      const res = await accept(stack.app, offerId, key, body);
      expect(res.statusCode).toBe(status);
      // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- vitest types its asymmetric matchers (expect.any, expect.stringContaining) as any
      expect(res.json()).toEqual({ status: 'rejected', code, accept_id: key, message: expect.any(String) });
      expect(res.body).not.toContain(a.offer.id);
    }
    expect(await sandboxCharges(stack.prisma, key)).toHaveLength(1);
    expect((await accept(stack.app, a.offer.id, key, a.body)).body).toBe(first.body);
  });

  it('a replay after the run closed is answered from the record: same body, no new run, no new charge', async () => {
    const { offer, body } = await readyToAccept(stack.app);
    const key = newKey();
    const first = await accept(stack.app, offer.id, key, body);
    const handle = stack.client.workflow.getHandle(key);
    await handle.result();
    const closed = await handle.describe();
    const replay = await accept(stack.app, offer.id, key, body);
    expect(replay.statusCode).toBe(200);
    expect(replay.body).toBe(first.body);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    const after = await handle.describe();
    expect(after.runId).toBe(closed.runId);
    expect(after.status.name).toBe('COMPLETED');
    expect(after.historyLength).toBe(closed.historyLength);
    expect(await sandboxCharges(stack.prisma, key)).toHaveLength(1);
  });

  it('a replay while the first call is still waiting on the gateway gets the same answer', async () => {
    const { offer, body } = await readyToAccept(stack.app, { methodRef: 'pm_card_authenticationRequired' });
    const key = newKey();
    const [a, b] = await Promise.all([accept(stack.app, offer.id, key, body), accept(stack.app, offer.id, key, body)]);
    expect(a.statusCode).toBe(202);
    expect(b.body).toBe(a.body);
  });
});

describe('settings', () => {
  it('every ocart_settings key can be read and updated; unknown keys and bad values are refused', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/wp-json/ocart/v1/settings', headers: auth });
    expect(res.json()).toEqual({
      'upsells.one_click_token_ttl_min': 30,
      'upsells.sca_modal_enabled': true,
      'upsells.order_strategy_default': 'child',
      'upsells.merge_cutoff_min': 5,
      'upsells.sca_timeout_min': 30,
      'upsells.window_min': 15,
      'upsells.default_funnel_id': null,
    });
    for (const bad of [{ 'upsells.unknown': 1 }, { 'upsells.merge_cutoff_min': -1 }, { 'upsells.sca_modal_enabled': 'on' }]) {
      const r = await stack.app.inject({ method: 'PATCH', url: '/wp-json/ocart/v1/settings', headers: auth, payload: bad });
      expect(r.statusCode).toBe(422);
      expect(r.json<{ code: string }>().code).toBe('setting_invalid');
    }
  });

  it('the token TTL comes from upsells.one_click_token_ttl_min', async () => {
    await patchSettings({ 'upsells.one_click_token_ttl_min': 45 });
    try {
      const before = Date.now();
      const { token } = await readyToAccept(stack.app);
      void token;
      const minted = await stack.app.inject({ method: 'GET', url: '/wp-json/ocart/v1/settings', headers: auth });
      expect(minted.json<Record<string, unknown>>()['upsells.one_click_token_ttl_min']).toBe(45);
      const t = await readyToAccept(stack.app);
      const exp = (JSON.parse(Buffer.from(t.token.split('.')[0]!, 'base64url').toString()) as { exp: number }).exp * 1000;
      expect(exp - before).toBeGreaterThan(44 * 60_000);
      expect(exp - before).toBeLessThan(46 * 60_000);
    } finally {
      await patchSettings({ 'upsells.one_click_token_ttl_min': 30 });
    }
  });

  it('sca_modal_enabled off -> requires_action asks for a redirect', async () => {
    await patchSettings({ 'upsells.sca_modal_enabled': false });
    try {
      const { offer, body } = await readyToAccept(stack.app, { methodRef: 'pm_card_authenticationRequired' });
      const res = await accept(stack.app, offer.id, newKey(), body);
      // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- vitest types its asymmetric matchers (expect.any, expect.stringContaining) as any
      expect(res.json<{ action: Record<string, unknown> }>().action).toMatchObject({ type: 'redirect', redirect_url: expect.stringContaining('/sandbox/authenticate/') });
    } finally {
      await patchSettings({ 'upsells.sca_modal_enabled': true });
    }
  });
});

describe('shop API', () => {
  it('refuses calls without the right bearer key (401 unauthorized)', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong-key-0123456789abcdef' }, { authorization: 'Basic abc' }]) {
      const res = await stack.app.inject({ method: 'GET', url: '/wp-json/ocart/v1/settings', headers });
      expect(res.statusCode).toBe(401);
      expect(res.json<{ code: string }>().code).toBe('unauthorized');
    }
  });

  it('refuses card data in an order, and stores gateway references only', async () => {
    const res = await stack.app.inject({
      method: 'PUT',
      url: '/wp-json/ocart/v1/orders/wc-card-data',
      headers: auth,
      payload: {
        cart_id: 'c1',
        status: 'paid',
        currency: 'USD',
        total: 100,
        paid_at: new Date().toISOString(),
        payment: { gateway: 'sandbox', method_ref: '4242424242424242' },
        line_items: [],
      },
    });
    expect(res.statusCode).toBe(422);
    expect(res.json<{ code: string }>().code).toBe('card_data_refused');
    expect(await stack.prisma.order.count({ where: { externalId: 'wc-card-data' } })).toBe(0);
  });

  it('registering a parent order is idempotent on the shop order id', async () => {
    const o = await readyToAccept(stack.app);
    const again = await stack.app.inject({ method: 'GET', url: `/wp-json/ocart/v1/orders/${o.order.externalId}`, headers: auth });
    expect(again.json()).toMatchObject({ id: o.order.id, external_id: o.order.externalId, line_items: [expect.any(Object)] });
    const before = await stack.prisma.order.count();
    const { registerParentOrder } = await import('./helpers/shop.ts');
    const same = await registerParentOrder(stack.app, { externalId: o.order.externalId, cartId: o.order.cartId });
    expect(same.id).toBe(o.order.id);
    expect(await stack.prisma.order.count()).toBe(before);
    expect(await stack.prisma.lineItem.count({ where: { orderId: o.order.id } })).toBe(1);
  });
});

describe('accept records', () => {
  it('a finished accept is never moved back by a late or stray recording', async () => {
    const { offer, body } = await readyToAccept(stack.app);
    const key = newKey();
    const first = await accept(stack.app, offer.id, key, body);
    const done = await pollUntil(
      () => stack.prisma.accept.findUniqueOrThrow({ where: { idempotencyKey: key } }),
      (r) => r.completedAt !== null,
    );
    expect(done.status).toBe('succeeded');
    const input = { acceptKey: key, fingerprint: done.fingerprint, offerId: offer.id, cartId: done.cartId };
    await recordAcceptOutcome(stack.prisma, input, { status: 'rejected', accept_id: key, code: 'token_expired', message: 'late' }, null, new Date());
    const after = await stack.prisma.accept.findUniqueOrThrow({ where: { idempotencyKey: key } });
    expect(after).toMatchObject({ status: 'succeeded', errorCode: null });
    expect(after.state).toEqual(first.json());
  });

  it('a unique violation from raw SQL is recognised, so a concurrent order write retries instead of refunding', async () => {
    const { offer, body } = await readyToAccept(stack.app);
    const key = newKey();
    await accept(stack.app, offer.id, key, body);
    const payment = await stack.prisma.payment.findUniqueOrThrow({ where: { idempotencyKey: key } });
    const err = await stack.prisma.$executeRaw`
      INSERT INTO payments (id, order_id, gateway, gateway_ref, idempotency_key, status, amount, currency, updated_at)
      VALUES ('pay_dup_test', ${payment.orderId}, 'sandbox', 'x', ${key}, 'succeeded', 1, 'USD', now())`.catch((e: unknown) => e);
    expect(isUniqueViolation(err)).toBe(true);
    expect(isUniqueViolation(new Error('something else'))).toBe(false);
  });
});
