/**
 * Paystack end to end: HTTP -> Temporal -> worker -> the Paystack adapter -> a local
 * Paystack-compatible server that checks every request against Paystack's own OpenAPI document
 * -> PostgreSQL. afterEach fails the test on any request the document does not allow.
 */
import { createHmac } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GatewayCurrencyError, GatewayRefusedError } from '../gateways/gateway.ts';
import { createPaystackGateway } from '../gateways/paystack.ts';
import type { ChargeRequest } from '../gateways/gateway.ts';
import { buyerMessage } from '../domain/buyer-messages.ts';
import { gatewayChargeKey } from '../domain/idempotency.ts';
import { reconcileWorkflowId } from '../workflows/reconcile-messages.ts';
import type { reconcileCharge } from '../workflows/reconcileCharge.ts';
import { DEFAULT_EMAIL, startPaystackServer, type PaystackTestServer, type RecordedRequest } from './gateways/paystack-server.ts';
import { accept, auth, readyToAccept } from './helpers/shop.ts';
import { newKey } from './helpers/ids.ts';
import { pollUntil } from './helpers/poll.ts';
import { postWebhook } from './helpers/webhooks.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const SECRET = 'sk_test_ocart_paystack_0123456789abcdef';
const AMOUNT = 150_000; // 1,500.00 NGN in kobo

let server: PaystackTestServer;
let stack: TestStack;

beforeAll(async () => {
  server = await startPaystackServer({ secretKey: SECRET });
  stack = await startTestStack({ env: { PAYSTACK_SECRET_KEY: SECRET, PAYSTACK_API_BASE: server.url } });
});

afterAll(async () => {
  await stack?.stop();
  await server?.close();
});

afterEach(() => {
  server.clearFaults();
  // Taken out, so one test's mismatch fails that test and not every one after it.
  expect(server.specViolations.splice(0), "requests Paystack's OpenAPI document does not allow").toEqual([]);
  expect(server.responseViolations.splice(0), "test-server answers that differ from Paystack's document").toEqual([]);
});

// ---------------------------------------------------------------------------------------------

function paystackAccept(methodRef: string, o: { currency?: string; email?: string } = {}) {
  const currency = o.currency ?? 'NGN';
  return readyToAccept(stack.app, { gateway: 'paystack', methodRef, customerRef: null, currency, email: o.email ?? DEFAULT_EMAIL, total: 500_000 }, { currency, amount: AMOUNT });
}

const referenceOf = (r: RecordedRequest) => (r.body as { reference?: unknown } | undefined)?.reference;
const chargeRequests = (reference: string) => server.requestsTo('transaction_chargeAuthorization').filter((r) => referenceOf(r) === reference);
const verifyRequests = (reference: string) => server.requestsTo('transaction_verify').filter((r) => r.path === `/transaction/verify/${reference}`);

const postPaystackWebhook = (rawBody: string, signature?: string) => postWebhook(stack.app, 'paystack', rawBody, signature);

function status(key: string, cartId: string) {
  return stack.app.inject({ method: 'GET', url: `/wp-json/ocart/v1/upsells/accepts/${key}?cart_id=${cartId}` });
}

async function expectNoOrder(key: string) {
  expect(await stack.prisma.payment.count({ where: { idempotencyKey: key } })).toBe(0);
  expect(await stack.prisma.lineItem.count({ where: { acceptKey: key } })).toBe(0);
  expect(await stack.prisma.outboxEvent.count({ where: { acceptKey: key } })).toBe(0);
}

async function expectOrder(key: string, orderId: string, parentId: string) {
  const child = await stack.prisma.order.findUniqueOrThrow({ where: { id: orderId }, include: { payments: true, lineItems: true } });
  expect(child).toMatchObject({ kind: 'child', parentId, status: 'paid', totalAmount: AMOUNT, currency: 'NGN' });
  expect(child.lineItems).toHaveLength(1);
  expect(child.payments).toEqual([
    expect.objectContaining({ gateway: 'paystack', gatewayRef: gatewayChargeKey(key), idempotencyKey: key, status: 'succeeded', amount: AMOUNT, currency: 'NGN' }),
  ]);
  const record = await stack.prisma.accept.findUniqueOrThrow({ where: { idempotencyKey: key } });
  expect(record).toMatchObject({ status: 'succeeded', gateway: 'paystack', gatewayRef: gatewayChargeKey(key), childOrderId: orderId });
  expect(await stack.prisma.outboxEvent.count({ where: { acceptKey: key } })).toBe(1);
}

// ---------------------------------------------------------------------------------------------

describe('Paystack through the accept flow', () => {
  it('charges a reusable authorization once and writes the order, payment and accept record', async () => {
    const { order, offer, body } = await paystackAccept('AUTH_success');
    const key = newKey();
    const reference = gatewayChargeKey(key);
    const lookupsBefore = server.requestsTo('customer_fetch').length;

    const res = await accept(stack.app, offer.id, key, body);
    expect(res.statusCode, res.body).toBe(200);
    const json = res.json<{ order: { id: string } }>();
    expect(json).toMatchObject({ status: 'succeeded', accept_id: key, amount: { value: AMOUNT, currency: 'NGN' }, order: { kind: 'child' } });
    await expectOrder(key, json.order.id, order.id);

    // The method was checked with Paystack before the charge.
    expect(server.requestsTo('customer_fetch').length).toBe(lookupsBefore + 1);
    const [charge] = chargeRequests(reference);
    expect(chargeRequests(reference)).toHaveLength(1);
    expect(charge!.body).toEqual({
      authorization_code: 'AUTH_success',
      email: DEFAULT_EMAIL,
      amount: AMOUNT,
      currency: 'NGN',
      reference,
      // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- vitest types its asymmetric matchers (expect.any, expect.stringContaining) as any
      metadata: expect.any(String),
    });
    expect(JSON.parse(String((charge!.body as { metadata: unknown }).metadata))).toEqual({
      workflow_id: key,
      offer_id: offer.id,
      parent_order_id: order.externalId,
    });
    expect(server.transactionsFor(key)).toEqual([expect.objectContaining({ reference, status: 'success', amount: AMOUNT, currency: 'NGN' })]);
  });

  it.each([
    ['AUTH_failed', 'insufficient_funds', 'Insufficient Funds'],
    ['AUTH_declined', 'card_declined', 'Declined'],
  ])("a failed charge (%s) is a 402 decline with a stable code and our message, never Paystack's words", async (methodRef, code, said) => {
    const { offer, body } = await paystackAccept(methodRef);
    const key = newKey();

    const res = await accept(stack.app, offer.id, key, body);
    expect(res.statusCode, res.body).toBe(402);
    expect(res.json()).toEqual({ status: 'declined', accept_id: key, code, message: buyerMessage(code) });
    expect(res.body).not.toContain(said);
    await expectNoOrder(key);
    // The buyer is answered first; the record follows.
    const record = await pollUntil(
      () => stack.prisma.accept.findUniqueOrThrow({ where: { idempotencyKey: key } }),
      (r) => r.completedAt !== null,
    );
    expect(record).toMatchObject({ status: 'declined', errorCode: code });
    expect(server.transactionsFor(key)).toEqual([expect.objectContaining({ status: 'failed' })]);
  });

  it('a paused charge sends the buyer to Paystack; a signed charge.success after the bank approves completes the order', async () => {
    const { order, offer, body } = await paystackAccept('AUTH_paused');
    const key = newKey();
    const reference = gatewayChargeKey(key);

    const res = await accept(stack.app, offer.id, key, body);
    expect(res.statusCode, res.body).toBe(202);
    const tx = server.transactions.get(reference)!;
    expect(tx.status).toBe('ongoing');
    expect(res.json()).toMatchObject({
      status: 'requires_action',
      accept_id: key,
      action: { type: 'redirect', gateway: 'paystack', redirect_url: `${server.url}/checkout/resume/${tx.id}` },
    });
    expect(res.json<{ action: Record<string, unknown> }>().action).not.toHaveProperty('client_secret');

    // A validly signed event is only a hint: while Paystack still says "ongoing", nothing is written.
    const earlyBody = server.webhookBody(reference);
    const early = await postPaystackWebhook(earlyBody, server.sign(earlyBody));
    expect(early.statusCode, early.body).toBe(200);
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await status(key, order.cartId)).json()).toMatchObject({ status: 'requires_action' });
    await expectNoOrder(key);

    // The bank approves, then Paystack tells us.
    server.settle(reference, 'success');
    const hookBody = server.webhookBody(reference);
    const hook = await postPaystackWebhook(hookBody, server.sign(hookBody));
    expect(hook.statusCode, hook.body).toBe(200);
    expect(hook.json()).toEqual({ received: true, handled: true });

    const done = await pollUntil(
      () => status(key, order.cartId),
      (r) => r.json<{ status: string }>().status === 'succeeded',
    );
    expect(done.statusCode, done.body).toBe(200);
    await expectOrder(key, done.json<{ order: { id: string } }>().order.id, order.id);
    expect(chargeRequests(reference)).toHaveLength(1);
    expect(server.transactionsFor(key)).toHaveLength(1);
  });

  it('a forged, unsigned or tampered webhook is 400 signature_invalid; a verified event that is not ours is ignored', async () => {
    const rawBody = JSON.stringify({ event: 'charge.success', data: { reference: 'ocu-anything', metadata: { workflow_id: 'key-forged-0001' } } });
    const forgeries: Array<[string, string | undefined, string]> = [
      ['signed with another key', createHmac('sha512', 'sk_test_not_ours').update(rawBody).digest('hex'), rawBody],
      ['no signature', undefined, rawBody],
      ['sha256 instead of sha512', createHmac('sha256', SECRET).update(rawBody).digest('hex'), rawBody],
      ['body changed after signing', server.sign(rawBody), rawBody.replace('ocu-anything', 'ocu-something')],
    ];
    for (const [why, signature, sent] of forgeries) {
      const res = await postPaystackWebhook(sent, signature);
      expect(res.statusCode, `${why}: ${res.body}`).toBe(400);
      expect(res.json()).toMatchObject({ code: 'signature_invalid' });
    }

    const foreign = [
      { event: 'transfer.success', data: { reference: 'TRF_1', metadata: { workflow_id: 'key-x' } } },
      { event: 'charge.success', data: { reference: 'shop-checkout-1', metadata: '' } },
      { event: 'charge.dispute.create', data: { reference: 'ocu-x', metadata: { workflow_id: 'key-x' } } },
    ];
    for (const event of foreign) {
      const body = JSON.stringify(event);
      const res = await postPaystackWebhook(body, server.sign(body));
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual({ received: true, handled: false });
    }
  });

  it.each(['http_500_before', 'http_500_after', 'reset_after'] as const)('a charge retried after %s charges exactly once', async (fault) => {
    const { order, offer, body } = await paystackAccept('AUTH_success');
    const key = newKey();
    const reference = gatewayChargeKey(key);
    const before = server.chargeCount;
    server.failNext('transaction_chargeAuthorization', fault);

    const res = await accept(stack.app, offer.id, key, body);
    expect(res.statusCode, res.body).toBe(200);
    await expectOrder(key, res.json<{ order: { id: string } }>().order.id, order.id);
    expect(server.chargeCount).toBe(before + 1);
    expect(server.transactionsFor(key)).toHaveLength(1);
    // Temporal sent the same reference again; when the first went through, Paystack refused it
    // as a duplicate and the adapter read the first charge back.
    const attempts = chargeRequests(reference);
    expect(attempts).toHaveLength(2);
    if (fault === 'http_500_before') {
      expect(attempts[1]!.status).toBe(200);
      expect(verifyRequests(reference)).toHaveLength(0);
    } else {
      expect(attempts[1]!.status).toBe(400);
      expect(verifyRequests(reference)).toHaveLength(1);
    }
  });

  it('a reference Paystack already holds is read back with verify, not charged again', async () => {
    const { order, offer, body } = await paystackAccept('AUTH_success');
    const key = newKey();
    const reference = gatewayChargeKey(key);
    server.seedTransaction({ reference, authorizationCode: 'AUTH_success', amount: AMOUNT, currency: 'NGN', status: 'success', metadata: { workflow_id: key } });
    const before = server.chargeCount;

    const res = await accept(stack.app, offer.id, key, body);
    expect(res.statusCode, res.body).toBe(200);
    await expectOrder(key, res.json<{ order: { id: string } }>().order.id, order.id);
    expect(server.chargeCount).toBe(before);
    expect(chargeRequests(reference).map((r) => r.status)).toEqual([400]);
    expect(verifyRequests(reference)).toHaveLength(1);
  });

  it.each([
    ['a non-reusable authorization', 'AUTH_nonreusable', DEFAULT_EMAIL],
    ['an authorization created by another email', 'AUTH_success', 'someone-else@example.com'],
  ])('%s is 402 payment_method_unusable and nothing is charged', async (_why, methodRef, email) => {
    const { offer, body } = await paystackAccept(methodRef, { email });
    const key = newKey();
    const before = server.chargeCount;

    const res = await accept(stack.app, offer.id, key, body);
    expect(res.statusCode, res.body).toBe(402);
    expect(res.json()).toMatchObject({ status: 'declined', code: 'payment_method_unusable' });
    await expectNoOrder(key);
    expect(server.chargeCount).toBe(before);
    expect(chargeRequests(gatewayChargeKey(key))).toHaveLength(0);
  });

  it('a currency Paystack does not take: 422 currency_unsupported (as on every gateway) before any call to Paystack', async () => {
    const { offer, body } = await paystackAccept('AUTH_success', { currency: 'EUR' });
    const key = newKey();
    const requestsBefore = server.requests.length;

    const res = await accept(stack.app, offer.id, key, body);
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json()).toEqual({ status: 'rejected', accept_id: key, code: 'currency_unsupported', message: buyerMessage('currency_unsupported') });
    await expectNoOrder(key);
    expect(server.requests.length).toBe(requestsBefore);
  });

  it('a charge Paystack refuses (a currency the card does not take): verify says nothing was charged, so it is a 402 decline, whatever the words', async () => {
    // AUTH_success takes NGN and USD; GHS is a Paystack currency, just not this card's.
    const { offer, body } = await paystackAccept('AUTH_success', { currency: 'GHS' });
    const key = newKey();
    const reference = gatewayChargeKey(key);
    const before = server.chargeCount;

    const res = await accept(stack.app, offer.id, key, body);
    expect(res.statusCode, res.body).toBe(402);
    expect(res.json()).toEqual({ status: 'declined', accept_id: key, code: 'payment_method_unusable', message: buyerMessage('payment_method_unusable') });
    expect(res.body).not.toContain('not supported for this authorization');
    await expectNoOrder(key);
    expect(server.chargeCount).toBe(before);
    expect(chargeRequests(reference).map((r) => r.status)).toEqual([400]);
    // Decided by Paystack's record, not by its message.
    expect(verifyRequests(reference)).toHaveLength(1);
  });

  it('a successful charge under our reference with another amount is never left standing: 502, and it is refunded in full', async () => {
    const { offer, body } = await paystackAccept('AUTH_success');
    const key = newKey();
    const reference = gatewayChargeKey(key);
    server.seedTransaction({ reference, authorizationCode: 'AUTH_success', amount: AMOUNT + 100, currency: 'NGN', status: 'success', metadata: { workflow_id: key } });

    const res = await accept(stack.app, offer.id, key, body);
    expect(res.statusCode, res.body).toBe(502);
    expect(res.json()).toMatchObject({ status: 'error', code: 'gateway_error', message: buyerMessage('gateway_error') });
    const refunded = await pollUntil(
      () => server.transactions.get(reference)?.status,
      (st) => st === 'reversed',
    );
    expect(refunded).toBe('reversed');
    expect(server.refunds.filter((r) => r.reference === reference)).toEqual([expect.objectContaining({ amount: AMOUNT + 100 })]);
    await expectNoOrder(key);
  });

  it('a paused charge completed after the late-completion watch ended: its charge.success is reconciled and refunded, once, and recorded', async () => {
    const { offer, body } = await paystackAccept('AUTH_paused');
    const key = newKey();
    const reference = gatewayChargeKey(key);
    expect((await accept(stack.app, offer.id, key, body)).statusCode).toBe(202);
    // The 24-hour watch, ended: the accept's run is over while Paystack still holds the charge.
    await stack.client.workflow.getHandle(key).terminate('the late-completion watch ended (test)');
    server.settle(reference, 'success');

    const hookBody = server.webhookBody(reference);
    const hook = await postPaystackWebhook(hookBody, server.sign(hookBody));
    expect(hook.statusCode, hook.body).toBe(200);
    expect(hook.json()).toEqual({ received: true, handled: true });
    const result = await stack.client.workflow.getHandle<typeof reconcileCharge>(reconcileWorkflowId('paystack', reference)).result();
    expect(result).toMatchObject({ outcome: 'refunded' });
    expect(server.transactions.get(reference)?.status).toBe('reversed');
    expect(server.refunds.filter((r) => r.reference === reference)).toEqual([expect.objectContaining({ amount: AMOUNT })]);
    const record = await stack.prisma.accept.findUniqueOrThrow({ where: { idempotencyKey: key } });
    expect(record.refundRef).toBe(result.refundRef);
    expect(record.refundedAt).toBeInstanceOf(Date);

    // Paystack retries the webhook: nothing more.
    const again = await postPaystackWebhook(hookBody, server.sign(hookBody));
    expect(again.statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    expect(server.refunds.filter((r) => r.reference === reference)).toHaveLength(1);
    await expectNoOrder(key);
  });

  it('a charge.success for a closed accept that has its order refunds nothing', async () => {
    const { offer, body } = await paystackAccept('AUTH_success');
    const key = newKey();
    const reference = gatewayChargeKey(key);
    const res = await accept(stack.app, offer.id, key, body);
    expect(res.statusCode, res.body).toBe(200);
    await stack.client.workflow.getHandle(key).result();
    const hookBody = server.webhookBody(reference);
    const hook = await postPaystackWebhook(hookBody, server.sign(hookBody));
    expect(hook.json()).toEqual({ received: true, handled: true });
    expect(await stack.client.workflow.getHandle<typeof reconcileCharge>(reconcileWorkflowId('paystack', reference)).result()).toEqual({ outcome: 'has_order' });
    expect(server.refunds.filter((r) => r.reference === reference)).toHaveLength(0);
    expect(server.transactions.get(reference)?.status).toBe('success');
  });

  it('when Paystack keeps failing after taking the money, the buyer gets 502 and the charge is refunded', async () => {
    const { offer, body } = await paystackAccept('AUTH_success');
    const key = newKey();
    const reference = gatewayChargeKey(key);
    // Every attempt the workflow makes is answered 500; the first one did charge.
    server.failNext('transaction_chargeAuthorization', 'http_500_after', 100);

    const res = await accept(stack.app, offer.id, key, body);
    expect(res.statusCode, res.body).toBe(502);
    expect(res.json()).toMatchObject({ status: 'error', code: 'gateway_error' });

    const refunded = await pollUntil(
      () => server.transactions.get(reference)?.status,
      (s) => s === 'reversed',
    );
    expect(refunded).toBe('reversed');
    expect(server.refunds.filter((r) => r.reference === reference)).toEqual([
      // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- vitest types its asymmetric matchers (expect.any, expect.stringContaining) as any
      expect.objectContaining({ amount: AMOUNT, merchantNote: expect.stringContaining(`${reference}-refund`) }),
    ]);
    expect(server.transactionsFor(key)).toHaveLength(1);
    await expectNoOrder(key);
  });

  it('a paused charge the buyer never finishes ends expired: Paystack has no cancel, so it stays pending there', async () => {
    const settings = await stack.app.inject({ method: 'GET', url: '/wp-json/ocart/v1/settings', headers: auth });
    const previous = settings.json<Record<string, unknown>>()['upsells.sca_timeout_min'];
    const patch = (minutes: unknown) => stack.app.inject({ method: 'PATCH', url: '/wp-json/ocart/v1/settings', headers: auth, payload: { 'upsells.sca_timeout_min': minutes } });
    expect((await patch(0.05)).statusCode).toBe(200); // 3 seconds
    try {
      const { order, offer, body } = await paystackAccept('AUTH_paused');
      const key = newKey();
      const reference = gatewayChargeKey(key);

      const res = await accept(stack.app, offer.id, key, body);
      expect(res.statusCode, res.body).toBe(202);

      const ended = await pollUntil(
        () => status(key, order.cartId),
        (r) => r.json<{ status: string }>().status === 'expired',
      );
      expect(ended.statusCode, ended.body).toBe(200);
      expect(ended.json()).toMatchObject({ status: 'expired', code: 'authentication_timeout' });
      await expectNoOrder(key);
      // Confirmed and "cancelled" by reading it back; Paystack still holds it, unfinished.
      expect(verifyRequests(reference).length).toBeGreaterThanOrEqual(2);
      expect(server.transactions.get(reference)?.status).toBe('ongoing');
    } finally {
      expect((await patch(previous)).statusCode).toBe(200);
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('the Paystack adapter on its own', () => {
  const gateway = () => createPaystackGateway({ secretKey: SECRET, apiBase: server.url });
  const request = (key: string, over: Partial<ChargeRequest> = {}): ChargeRequest => ({
    acceptKey: key,
    idempotencyKey: gatewayChargeKey(key),
    amount: AMOUNT,
    currency: 'NGN',
    customerRef: null,
    methodRef: 'AUTH_success',
    email: DEFAULT_EMAIL,
    metadata: { workflow_id: key, offer_id: 'off_1', parent_order_id: 'wc-1' },
    returnUrl: 'http://127.0.0.1:3000/status',
    ...over,
  });

  it("refuses a reference outside Paystack's charset before sending anything", async () => {
    const before = server.requests.length;
    await expect(gateway().chargeOffSession(request(newKey(), { idempotencyKey: 'ocu_has/slash' }))).rejects.toBeInstanceOf(GatewayRefusedError);
    expect(server.requests.length).toBe(before);
  });

  it('refunds once however often it is asked', async () => {
    const key = newKey();
    const result = await gateway().chargeOffSession(request(key));
    expect(result).toEqual({ status: 'succeeded', chargeRef: gatewayChargeKey(key) });
    await gateway().refund(gatewayChargeKey(key), AMOUNT, `${gatewayChargeKey(key)}-refund`);
    await gateway().refund(gatewayChargeKey(key), AMOUNT, `${gatewayChargeKey(key)}-refund`);
    expect(server.refunds.filter((r) => r.reference === gatewayChargeKey(key))).toHaveLength(1);
    expect(await gateway().confirmCharge(gatewayChargeKey(key))).toMatchObject({ status: 'declined', code: 'charge_reversed' });
  });

  it('a refund whose answer was lost is found on the retry, however many refunds came in between', async () => {
    const key = newKey();
    const ref = gatewayChargeKey(key);
    expect(await gateway().chargeOffSession(request(key))).toEqual({ status: 'succeeded', chargeRef: ref });
    // Paystack refunds, and the answer is lost.
    server.failNext('refund_create', 'http_500_after');
    await expect(gateway().refund(ref, 1000, `${ref}-refund`)).rejects.toThrow();
    expect(server.refundsFor(ref)).toHaveLength(1);
    // Other refunds push it past Paystack's first pages before the retry.
    for (let i = 0; i < 230; i++) {
      const other = `ocart_other_${newKey()}`;
      server.seedTransaction({ reference: other, authorizationCode: 'AUTH_success', amount: 500, currency: 'NGN', status: 'success' });
      const res = await fetch(`${server.url}/refund`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' },
        body: JSON.stringify({ transaction: other }),
      });
      expect(res.status).toBe(200);
    }
    const retried = await gateway().refund(ref, 1000, `${ref}-refund`);
    expect(retried.refundRef).toBe(String(server.refundsFor(ref)[0]!.id));
    expect(server.refundsFor(ref)).toHaveLength(1);
    // It read every page since the charge (100 a page), asking from the transaction's creation.
    const lists = server.requests.filter((r) => r.operationId === 'refund_list').slice(-3);
    expect(lists.map((r) => new URLSearchParams(r.query).get('page'))).toEqual(['1', '2', '3']);
    expect(lists.every((r) => new URLSearchParams(r.query).get('from') !== null)).toBe(true);
  });

  it('cancelCharge cannot cancel a paused charge: it answers requires_action as Paystack still has it', async () => {
    const key = newKey();
    const paused = await gateway().chargeOffSession(request(key, { methodRef: 'AUTH_paused' }));
    // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- vitest types its asymmetric matchers (expect.any, expect.stringContaining) as any
    expect(paused).toMatchObject({ status: 'requires_action', action: { redirectUrl: expect.stringContaining('/checkout/resume/') } });
    expect(await gateway().cancelCharge(gatewayChargeKey(key))).toMatchObject({ status: 'requires_action' });
    server.settle(gatewayChargeKey(key), 'abandoned');
    expect(await gateway().cancelCharge(gatewayChargeKey(key))).toMatchObject({ status: 'declined', code: 'authentication_failed' });
  });

  it('findCharge is null for a reference Paystack does not know, and finds ours whatever amount it holds', async () => {
    const unknown = newKey();
    expect(await gateway().findCharge(request(unknown))).toBeNull();
    const other = newKey();
    server.seedTransaction({ reference: gatewayChargeKey(other), authorizationCode: 'AUTH_success', amount: 1, currency: 'NGN', status: 'success' });
    expect(await gateway().findCharge(request(other))).toEqual({ status: 'succeeded', chargeRef: gatewayChargeKey(other) });
  });

  it('parseWebhook reads workflow_id from metadata sent as an object or as stringified JSON', () => {
    for (const metadata of [{ workflow_id: 'key-abc-123' }, JSON.stringify({ workflow_id: 'key-abc-123' })]) {
      const body = JSON.stringify({ event: 'charge.success', data: { reference: 'ocu-ref', metadata } });
      expect(gateway().parseWebhook(Buffer.from(body), { 'x-paystack-signature': server.sign(body) })).toEqual({
        acceptKey: 'key-abc-123',
        chargeRef: 'ocu-ref',
        eventType: 'charge.success',
        succeeded: true,
      });
    }
  });

  it('a missing email or an unsupported currency is a decline before any request', async () => {
    const before = server.requests.length;
    const check = { customerRef: null, methodRef: 'AUTH_success', amount: AMOUNT };
    await expect(gateway().checkPaymentMethod({ ...check, email: null, currency: 'NGN' })).rejects.toMatchObject({ code: 'payment_method_unusable' });
    await expect(gateway().checkPaymentMethod({ ...check, email: DEFAULT_EMAIL, currency: 'XOF' })).rejects.toBeInstanceOf(GatewayCurrencyError);
    expect(server.requests.length).toBe(before);
  });
});
