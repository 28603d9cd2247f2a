/**
 * Refunding one upsell, end to end against every gateway's test server: HTTP -> the refundUpsell
 * workflow (Temporal dev server) -> the gateway adapter -> the sandbox ledger, the Stripe-compatible
 * server or the Paystack server (checked against Paystack's OpenAPI document) -> PostgreSQL.
 * Refunds are counted at the gateway, rows in the database.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import Stripe from 'stripe';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REFUNDED_EVENT } from '../contract/refunds.ts';
import { refundWorkflowId } from '../workflows/refund-messages.ts';
import { DEFAULT_EMAIL, startPaystackServer, type PaystackTestServer } from './gateways/paystack-server.ts';
import { startStripeServer, type StripeTestServer } from './gateways/stripe-server.ts';
import { pollUntil } from './helpers/poll.ts';
import { accept, auth, readyToAccept } from './helpers/shop.ts';
import { newKey } from './helpers/ids.ts';
import { appWithOutage, startTestStack, type TestStack } from './helpers/stack.ts';

const PAYSTACK_SECRET = 'sk_test_ocart_paystack_refunds_0123456789';
const STRIPE_WEBHOOK_SECRET = 'whsec_test_ocart_refunds_0123456789';

let stripe: StripeTestServer;
let stripeSdk: Stripe;
let paystack: PaystackTestServer;
let stack: TestStack;

beforeAll(async () => {
  stripe = await startStripeServer();
  const { hostname, port } = new URL(stripe.url);
  stripeSdk = new Stripe(stripe.secretKey, { host: hostname, port, protocol: 'http', maxNetworkRetries: 0 });
  paystack = await startPaystackServer({ secretKey: PAYSTACK_SECRET });
  stack = await startTestStack({
    env: {
      STRIPE_SECRET_KEY: stripe.secretKey,
      STRIPE_WEBHOOK_SECRET,
      STRIPE_API_BASE: stripe.url,
      STRIPE_TIMEOUT_MS: '3000',
      PAYSTACK_SECRET_KEY: PAYSTACK_SECRET,
      PAYSTACK_API_BASE: paystack.url,
    },
  });
});

afterAll(async () => {
  await stack?.stop();
  await stripe?.close();
  await paystack?.close();
});

afterEach(() => {
  expect(paystack.specViolations.splice(0), "requests Paystack's OpenAPI document does not allow").toEqual([]);
  expect(paystack.responseViolations.splice(0), "test-server answers that differ from Paystack's document").toEqual([]);
});

// ---------------------------------------------------------------------------------------------

interface GatewayCase {
  name: 'sandbox' | 'stripe' | 'paystack';
  amount: number;
  currency: string;
  /** what the gateway says of a refund it took: Paystack queues every refund */
  refundStatus: 'succeeded' | 'pending';
  /** a paid parent whose saved method succeeds (or declines), an offer and a token */
  ready(o: { declines?: boolean; strategy?: 'child' | 'merge' }): Promise<Awaited<ReturnType<typeof readyToAccept>>>;
  /** the refunds the gateway itself made on a charge, amounts in its own order */
  refundsAt(chargeRef: string): Promise<number[]>;
}

const cases: GatewayCase[] = [
  {
    name: 'sandbox',
    amount: 1500,
    currency: 'USD',
    refundStatus: 'succeeded',
    ready: ({ declines, strategy }) =>
      readyToAccept(stack.app, { methodRef: declines ? 'pm_card_chargeDeclined' : 'pm_card_visa' }, { amount: 1500, orderStrategy: strategy ?? 'child' }),
    refundsAt: async (chargeRef) => (await stack.prisma.sandboxRefund.findMany({ where: { chargeId: chargeRef }, orderBy: { createdAt: 'asc' } })).map((r) => r.amount),
  },
  {
    name: 'stripe',
    amount: 2500,
    currency: 'USD',
    refundStatus: 'succeeded',
    async ready({ declines, strategy }) {
      const customer = await stripeSdk.customers.create({ email: 'buyer@example.com' });
      const method = await stripeSdk.paymentMethods.attach(declines ? 'pm_card_chargeDeclined' : 'pm_card_visa', { customer: customer.id });
      return readyToAccept(stack.app, { gateway: 'stripe', customerRef: customer.id, methodRef: method.id }, { amount: 2500, orderStrategy: strategy ?? 'child' });
    },
    refundsAt: async (chargeRef) => stripe.refundsFor(chargeRef).map((r) => r.amount),
  },
  {
    name: 'paystack',
    amount: 150_000,
    currency: 'NGN',
    refundStatus: 'pending',
    ready: ({ declines, strategy }) =>
      readyToAccept(
        stack.app,
        { gateway: 'paystack', methodRef: declines ? 'AUTH_declined' : 'AUTH_success', customerRef: null, currency: 'NGN', email: DEFAULT_EMAIL, total: 500_000 },
        { currency: 'NGN', amount: 150_000, orderStrategy: strategy ?? 'child' },
      ),
    refundsAt: async (chargeRef) => paystack.refundsFor(chargeRef).map((r) => r.amount),
  },
];

function refund(acceptId: string, key: string | undefined, body?: unknown, headers: Record<string, string> = auth) {
  return stack.app.inject({
    method: 'POST',
    url: `/wp-json/ocart/v1/upsells/accepts/${encodeURIComponent(acceptId)}/refund`,
    headers: { ...headers, ...(key !== undefined ? { 'idempotency-key': key } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });
}

/** An accepted upsell (200 succeeded), with its payment row. */
async function accepted(gw: GatewayCase, strategy: 'child' | 'merge' = 'child') {
  const ready = await gw.ready({ strategy });
  const key = newKey();
  const res = await accept(stack.app, ready.offer.id, key, ready.body);
  expect(res.statusCode, res.body).toBe(200);
  const payment = await stack.prisma.payment.findUniqueOrThrow({ where: { idempotencyKey: key } });
  return { ...ready, key, payment, answer: res.json<{ order: { id: string; kind: string } }>() };
}

async function refundRows(acceptId: string) {
  return stack.prisma.refund.findMany({ where: { acceptId }, orderBy: { createdAt: 'asc' } });
}

// ---------------------------------------------------------------------------------------------

describe.each(cases)('refund through $name', (gw) => {
  it('a full refund: refunded at the gateway once, recorded on the payment and the child order, the event in the outbox; a replay answers the same', async () => {
    const { key, payment, answer } = await accepted(gw);
    const refundKey = newKey();
    const res = await refund(key, refundKey);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['idempotent-replayed']).toBeUndefined();
    const body = res.json<{ refund: { id: string } }>();
    expect(body.refund.id).toMatch(/^rf_/);
    expect(body).toEqual({
      accept_id: key,
      refund: { id: body.refund.id, amount: { value: gw.amount, currency: gw.currency }, status: gw.refundStatus },
      refunded_total: { value: gw.amount, currency: gw.currency },
      order_status: 'refunded',
    });
    expect(await gw.refundsAt(payment.gatewayRef)).toEqual([gw.amount]);

    const paid = await stack.prisma.payment.findUniqueOrThrow({ where: { id: payment.id } });
    expect(paid).toMatchObject({ refundedAmount: gw.amount, status: 'refunded' });
    const child = await stack.prisma.order.findUniqueOrThrow({ where: { id: answer.order.id } });
    expect(child).toMatchObject({ kind: 'child', status: 'refunded', refundedAmount: gw.amount });
    expect(await stack.prisma.lineItem.findFirstOrThrow({ where: { acceptKey: key } })).toMatchObject({ status: 'refunded', refundedAmount: gw.amount });
    const rows = await refundRows(key);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: body.refund.id, idempotencyKey: refundKey, paymentId: payment.id, amount: gw.amount, status: gw.refundStatus });
    expect(rows[0]!.gatewayRef).toBeTruthy();

    const events = await stack.prisma.outboxEvent.findMany({ where: { type: REFUNDED_EVENT, payload: { path: ['data', 'accept_id'], equals: key } } });
    expect(events).toHaveLength(1);
    expect(events[0]!.payload).toMatchObject({
      type: REFUNDED_EVENT,
      data: {
        accept_id: key,
        refund: { id: body.refund.id, amount: { value: gw.amount } },
        order_status: 'refunded',
        gateway: gw.name,
        order: { id: answer.order.id, kind: 'child' },
      },
    });

    const replay = await refund(key, refundKey);
    expect(replay.statusCode).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toBe(res.body);
    expect(await gw.refundsAt(payment.gatewayRef)).toHaveLength(1);

    // Nothing is left: another key asking for any of it is refused, and the gateway is not asked.
    const more = await refund(key, newKey(), { amount: 1 });
    expect(more.statusCode, more.body).toBe(422);
    expect(more.json()).toMatchObject({ status: 'rejected', code: 'refund_exceeds_charge', accept_id: key });
    expect(await gw.refundsAt(payment.gatewayRef)).toHaveLength(1);
  });

  it('partial refunds of a merged upsell: the line is partially_refunded, then refunded; the parent keeps its status', async () => {
    const { key, payment, answer, order } = await accepted(gw, 'merge');
    expect(answer.order.kind).toBe('merged');
    const part = Math.floor(gw.amount / 3);

    const first = await refund(key, newKey(), { amount: part });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toMatchObject({
      refund: { amount: { value: part, currency: gw.currency }, status: gw.refundStatus },
      refunded_total: { value: part, currency: gw.currency },
      order_status: 'partially_refunded',
    });
    expect(await stack.prisma.lineItem.findFirstOrThrow({ where: { acceptKey: key } })).toMatchObject({ status: 'partially_refunded', refundedAmount: part });
    expect(await stack.prisma.payment.findUniqueOrThrow({ where: { id: payment.id } })).toMatchObject({ status: 'partially_refunded', refundedAmount: part });

    // More than is left: refused before the gateway is asked.
    const over = await refund(key, newKey(), { amount: gw.amount - part + 1 });
    expect(over.statusCode, over.body).toBe(422);
    expect(over.json()).toMatchObject({ code: 'refund_exceeds_charge' });
    expect(await gw.refundsAt(payment.gatewayRef)).toEqual([part]);

    // No amount: whatever is left.
    const rest = await refund(key, newKey());
    expect(rest.statusCode, rest.body).toBe(200);
    expect(rest.json()).toMatchObject({
      refund: { amount: { value: gw.amount - part } },
      refunded_total: { value: gw.amount, currency: gw.currency },
      order_status: 'refunded',
    });
    expect(await gw.refundsAt(payment.gatewayRef)).toEqual([part, gw.amount - part]);
    expect(await stack.prisma.lineItem.findFirstOrThrow({ where: { acceptKey: key } })).toMatchObject({ status: 'refunded', refundedAmount: gw.amount });
    const parent = await stack.prisma.order.findUniqueOrThrow({ where: { externalId: order.externalId } });
    expect(parent).toMatchObject({ status: 'paid', refundedAmount: gw.amount });
    expect(await stack.prisma.outboxEvent.count({ where: { type: REFUNDED_EVENT, payload: { path: ['data', 'accept_id'], equals: key } } })).toBe(2);
  });

  it('over-refunding is 422 refund_exceeds_charge with nothing refunded at the gateway and nothing written', async () => {
    const { key, payment } = await accepted(gw);
    const res = await refund(key, newKey(), { amount: gw.amount + 1 });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json()).toMatchObject({ status: 'rejected', code: 'refund_exceeds_charge', accept_id: key });
    expect(await gw.refundsAt(payment.gatewayRef)).toEqual([]);
    expect(await refundRows(key)).toEqual([]);
    expect(await stack.prisma.payment.findUniqueOrThrow({ where: { id: payment.id } })).toMatchObject({ status: 'succeeded', refundedAmount: 0 });
  });

  it('an accept that was declined is 409 not_refundable; nothing is asked of the gateway', async () => {
    const ready = await gw.ready({ declines: true });
    const key = newKey();
    const declined = await accept(stack.app, ready.offer.id, key, ready.body);
    expect(declined.statusCode, declined.body).toBe(402);
    await pollUntil(
      () => stack.prisma.accept.count({ where: { idempotencyKey: key } }),
      (n) => n === 1,
    );
    const res = await refund(key, newKey());
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json()).toMatchObject({ status: 'rejected', code: 'not_refundable', accept_id: key });
    expect(await refundRows(key)).toEqual([]);
  });

  it('the same refund sent concurrently is one refund at the gateway: one first answer, the rest replays of it', async () => {
    const { key, payment } = await accepted(gw);
    const refundKey = newKey();
    const answers = await Promise.all(Array.from({ length: 4 }, () => refund(key, refundKey, { amount: gw.amount })));
    for (const a of answers) expect(a.statusCode, a.body).toBe(200);
    expect(new Set(answers.map((a) => a.body)).size).toBe(1);
    expect(answers.filter((a) => a.headers['idempotent-replayed'] !== 'true')).toHaveLength(1);
    expect(await gw.refundsAt(payment.gatewayRef)).toEqual([gw.amount]);
    expect(await refundRows(key)).toHaveLength(1);
  });

  it('refunds under different keys racing for the last amount: one is refunded, the others are refused before the gateway', async () => {
    const { key, payment } = await accepted(gw);
    const answers = await Promise.all(Array.from({ length: 3 }, () => refund(key, newKey())));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 422, 422]);
    for (const a of answers.filter((x) => x.statusCode === 422)) expect(a.json()).toMatchObject({ code: 'refund_exceeds_charge' });
    expect(await gw.refundsAt(payment.gatewayRef)).toEqual([gw.amount]);
    expect(await stack.prisma.payment.findUniqueOrThrow({ where: { id: payment.id } })).toMatchObject({ refundedAmount: gw.amount, status: 'refunded' });
    expect((await refundRows(key)).map((r) => r.status)).toEqual([gw.refundStatus]);
  });
});

describe('refund requests refused at the door', () => {
  it('no key, a malformed key, no API key, a bad amount or an unknown accept: a clear 4xx and nothing written', async () => {
    const { key, payment } = await accepted(cases[0]!);
    const missing = await refund(key, undefined, { amount: 100 });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ code: 'idempotency_key_missing' });
    const invalid = await refund(key, 'short', { amount: 100 });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json()).toMatchObject({ code: 'idempotency_key_invalid' });
    const bad = await refund(key, 'bad key with spaces!', { amount: 100 });
    expect(bad.json()).toMatchObject({ code: 'idempotency_key_invalid' });
    const noAuth = await refund(key, newKey(), { amount: 100 }, {});
    expect(noAuth.statusCode).toBe(401);
    expect(noAuth.json()).toMatchObject({ code: 'unauthorized' });
    for (const amount of [0, -5, 1.5, '100', null]) {
      const res = await refund(key, newKey(), { amount });
      expect(res.statusCode, JSON.stringify(amount)).toBe(400);
      expect(res.json()).toMatchObject({ code: 'invalid_request' });
    }
    const extra = await refund(key, newKey(), { amount: 100, reason: 'x' });
    expect(extra.statusCode).toBe(400);
    const unknown = await refund(`key-${crypto.randomUUID()}`, newKey());
    expect(unknown.statusCode, unknown.body).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'accept_not_found' });

    expect(await refundRows(key)).toEqual([]);
    expect(await stack.prisma.sandboxRefund.count({ where: { chargeId: payment.gatewayRef } })).toBe(0);
  });

  it('the same key with another amount or for another accept is 422 idempotency_key_reused; nothing more is refunded', async () => {
    const first = await accepted(cases[0]!);
    const second = await accepted(cases[0]!);
    const refundKey = newKey();
    const ok = await refund(first.key, refundKey, { amount: 400 });
    expect(ok.statusCode, ok.body).toBe(200);
    const otherAmount = await refund(first.key, refundKey, { amount: 500 });
    expect(otherAmount.statusCode).toBe(422);
    expect(otherAmount.json()).toMatchObject({ code: 'idempotency_key_reused', accept_id: first.key });
    const otherAccept = await refund(second.key, refundKey, { amount: 400 });
    expect(otherAccept.statusCode).toBe(422);
    expect(otherAccept.json()).toMatchObject({ code: 'idempotency_key_reused' });
    expect(await stack.prisma.sandboxRefund.count({ where: { chargeId: first.payment.gatewayRef } })).toBe(1);
    expect(await stack.prisma.sandboxRefund.count({ where: { chargeId: second.payment.gatewayRef } })).toBe(0);
  });
  it('the same key sent concurrently with two amounts: one refund, the other call refused as reused', async () => {
    const { key, payment } = await accepted(cases[0]!);
    const refundKey = newKey();
    const answers = await Promise.all([refund(key, refundKey, { amount: 300 }), refund(key, refundKey, { amount: 600 })]);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 422]);
    expect(answers.find((a) => a.statusCode === 422)!.json()).toMatchObject({ code: 'idempotency_key_reused' });
    const refunded = answers.find((a) => a.statusCode === 200)!.json<{ refund: { amount: { value: number } } }>().refund.amount.value;
    expect(await cases[0]!.refundsAt(payment.gatewayRef)).toEqual([refunded]);
  });
});

describe('refunds of accepts that did not succeed', () => {
  it('an accept waiting for the buyer at the bank is 409 not_refundable, and so is one refused before any charge', async () => {
    const sca = await readyToAccept(stack.app, { methodRef: 'pm_card_authenticationRequired' });
    const scaKey = newKey();
    const waiting = await accept(stack.app, sca.offer.id, scaKey, sca.body);
    expect(waiting.statusCode, waiting.body).toBe(202);
    // The answer comes before its record is written: the refund is asked once the accept is on record.
    await pollUntil(
      () => stack.prisma.accept.count({ where: { idempotencyKey: scaKey } }),
      (n) => n === 1,
    );
    const res = await refund(scaKey, newKey());
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json()).toMatchObject({ code: 'not_refundable', accept_id: scaKey });

    const inactive = await readyToAccept(stack.app, {}, { active: true });
    await stack.app.inject({ method: 'PUT', url: `/wp-json/ocart/v1/offers/${inactive.offer.id}`, headers: auth, payload: { active: false } });
    const rejectedKey = newKey();
    const rejected = await accept(stack.app, inactive.offer.id, rejectedKey, inactive.body);
    expect(rejected.statusCode, rejected.body).toBe(422);
    await pollUntil(
      () => stack.prisma.accept.count({ where: { idempotencyKey: rejectedKey } }),
      (n) => n === 1,
    );
    const refused = await refund(rejectedKey, newKey());
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'not_refundable' });
    expect(await refundRows(scaKey)).toEqual([]);
    expect(await refundRows(rejectedKey)).toEqual([]);
  });
});

describe('the gateway refusing or failing', () => {
  const stripeCase = cases[1]!;

  it('a refusal is 502 gateway_error and gives the amount back: a later refund takes it', async () => {
    const { key, payment } = await accepted(stripeCase);
    stripe.failNext(1, { method: 'POST', path: '/v1/refunds' }, 400, { type: 'invalid_request_error', message: 'This refund was refused.' });
    const refusedKey = newKey();
    const refused = await refund(key, refusedKey);
    expect(refused.statusCode, refused.body).toBe(502);
    expect(refused.json()).toMatchObject({ status: 'error', code: 'gateway_error', accept_id: key });
    expect(stripe.refundsFor(payment.gatewayRef)).toEqual([]);
    expect((await refundRows(key)).map((r) => r.status)).toEqual(['failed']);
    expect(await stack.prisma.payment.findUniqueOrThrow({ where: { id: payment.id } })).toMatchObject({ status: 'succeeded', refundedAmount: 0 });

    // The refusal is that key's answer; another key refunds.
    const again = await refund(key, refusedKey);
    expect(again.statusCode).toBe(502);
    expect(again.headers['idempotent-replayed']).toBe('true');
    const next = await refund(key, newKey());
    expect(next.statusCode, next.body).toBe(200);
    expect(stripe.refundsFor(payment.gatewayRef).map((r) => r.amount)).toEqual([stripeCase.amount]);
  });

  it('an outage at the gateway is retried with the same gateway key: one refund', async () => {
    const { key, payment } = await accepted(stripeCase);
    stripe.failNext(2, { method: 'POST', path: '/v1/refunds' }, 500);
    const res = await refund(key, newKey(), { amount: 700 });
    expect(res.statusCode, res.body).toBe(200);
    expect(stripe.refundsFor(payment.gatewayRef).map((r) => r.amount)).toEqual([700]);
    const keys = new Set(
      stripe
        .requests({ method: 'POST', path: '/v1/refunds' })
        .slice(-3)
        .map((r) => r.idempotencyKey),
    );
    expect(keys.size).toBe(1);
  });

  it("Stripe's own view of the charge: amount_refunded grows, refunded once nothing is left", async () => {
    const { key, payment } = await accepted(stripeCase);
    const chargeId = stripe.intent(payment.gatewayRef).latestCharge!;
    expect(await refund(key, newKey(), { amount: 1000 }).then((r) => r.statusCode)).toBe(200);
    const partly = await stripeSdk.charges.retrieve(chargeId);
    expect(partly).toMatchObject({ amount_refunded: 1000, refunded: false, payment_intent: payment.gatewayRef });
    expect(await refund(key, newKey()).then((r) => r.statusCode)).toBe(200);
    const fully = await stripeSdk.charges.retrieve(chargeId);
    expect(fully).toMatchObject({ amount_refunded: stripeCase.amount, refunded: true });
    expect(fully.refunds?.data.map((r) => r.amount)).toEqual([stripeCase.amount - 1000, 1000]);
  });

  it('Paystack takes no key: a refund whose answer was lost is found by its note on the retry, not made again', async () => {
    const paystackCase = cases[2]!;
    const { key, payment } = await accepted(paystackCase);
    paystack.failNext('refund_create', 'http_500_after');
    const res = await refund(key, newKey(), { amount: 40_000 });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ refund: { amount: { value: 40_000 }, status: 'pending' }, refunded_total: { value: 40_000 }, order_status: 'partially_refunded' });
    expect(await paystackCase.refundsAt(payment.gatewayRef)).toEqual([40_000]);
    expect(paystack.requestsTo('refund_create').filter((r) => (r.body as { transaction?: string }).transaction === payment.gatewayRef)).toHaveLength(1);
  });

  it('the refund runs as the refundUpsell workflow, its id derived from the accept and the key', async () => {
    const { key } = await accepted(cases[0]!);
    const refundKey = `shop:${newKey()}`;
    const res = await refund(key, refundKey, { amount: 100 });
    expect(res.statusCode, res.body).toBe(200);
    const described = await stack.client.workflow.getHandle(refundWorkflowId(key, refundKey)).describe();
    expect(described.type).toBe('refundUpsell');
    expect(described.workflowId).toBe(`refund/${key}/${refundKey}`);
  });
});

describe('an outage is said as one: 503 temporarily_unavailable, nothing refunded', () => {
  const refundOn = (app: FastifyInstance, acceptId: string, key: string) =>
    app.inject({ method: 'POST', url: `/wp-json/ocart/v1/upsells/accepts/${acceptId}/refund`, headers: { ...auth, 'idempotency-key': key } });

  it('the database unreachable', async () => {
    const { key, payment } = await accepted(cases[0]!);
    const { app, close } = await appWithOutage(stack, { databaseUrl: 'postgresql://nobody@127.0.0.1:9/nothing' });
    try {
      const res = await refundOn(app, key, newKey());
      expect(res.statusCode, res.body).toBe(503);
      expect(res.json()).toMatchObject({ status: 'error', code: 'temporarily_unavailable' });
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await close();
    }
    expect(await refundRows(key)).toEqual([]);
    expect(await cases[0]!.refundsAt(payment.gatewayRef)).toEqual([]);
  });

  it('Temporal unreachable; the same key refunds once it is back', async () => {
    const { key, payment } = await accepted(cases[0]!);
    const refundKey = newKey();
    const { app, close } = await appWithOutage(stack, { closedTemporal: true });
    try {
      const res = await refundOn(app, key, refundKey);
      expect(res.statusCode, res.body).toBe(503);
      expect(res.json()).toMatchObject({ code: 'temporarily_unavailable' });
      expect(res.headers['retry-after']).toBeDefined();
    } finally {
      await close();
    }
    expect(await refundRows(key)).toEqual([]);
    const retried = await refundOn(stack.app, key, refundKey);
    expect(retried.statusCode, retried.body).toBe(200);
    expect(await cases[0]!.refundsAt(payment.gatewayRef)).toEqual([cases[0]!.amount]);
  });
});

describe('event ocart/upsell/refunded', () => {
  it('goes to each subscriber signed, naming the accept, the refund and the order', async () => {
    const received: Array<{ id: string; signature: string; body: string }> = [];
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        received.push({ id: String(req.headers['x-ocart-event-id']), signature: String(req.headers['x-ocart-signature']), body });
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const secret = 'refund-subscriber-secret-0123';
    const sub = await stack.app.inject({ method: 'POST', url: '/wp-json/ocart/v1/event-subscribers', headers: auth, payload: { url: `http://127.0.0.1:${port}/hook`, secret } });
    expect(sub.statusCode).toBe(201);
    try {
      const { key, answer } = await accepted(cases[0]!);
      const res = await refund(key, newKey(), { amount: 500 });
      expect(res.statusCode, res.body).toBe(200);
      const refundId = res.json<{ refund: { id: string } }>().refund.id;
      const event = await pollUntil(
        async () => (await stack.prisma.outboxEvent.findMany({ where: { type: REFUNDED_EVENT, payload: { path: ['data', 'refund', 'id'], equals: refundId } } }))[0],
        (e) => e !== undefined && e.status !== 'pending',
        20_000,
      );
      expect(event).toMatchObject({ status: 'delivered', attempts: 1 });
      const mine = received.filter((r) => r.id === event!.id);
      expect(mine).toHaveLength(1);
      const [t, v1] = mine[0]!.signature.split(',').map((p) => p.split('=')[1]);
      expect(v1).toBe(createHmac('sha256', secret).update(`${t}.${mine[0]!.body}`).digest('hex'));
      expect(JSON.parse(mine[0]!.body)).toMatchObject({
        id: event!.id,
        type: REFUNDED_EVENT,
        data: {
          accept_id: key,
          refund: { id: refundId, amount: { value: 500, currency: 'USD' }, status: 'succeeded' },
          refunded_total: { value: 500, currency: 'USD' },
          order_status: 'partially_refunded',
          order: { id: answer.order.id, kind: 'child' },
        },
      });
    } finally {
      await stack.prisma.eventSubscriber.update({ where: { id: sub.json<{ id: string }>().id }, data: { active: false } });
      server.close();
    }
  });
});
