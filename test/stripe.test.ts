/**
 * The Stripe gateway and the SCA/3DS path. The adapter runs on the official SDK against a
 * Stripe-compatible server (test/gateways/stripe-server.ts) whose objects come from Stripe's own
 * fixtures; the accepts run through the real stack (Fastify, Temporal dev server, PostgreSQL).
 * Charges are counted at that server, rows in the database.
 */
import { readFileSync } from 'node:fs';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GatewayCurrencyError,
  GatewayRefusedError,
  GatewayTransientError,
  type ChargeRequest,
  type PaymentGateway,
  WebhookSignatureError,
  redactGatewayText,
} from '../gateways/gateway.ts';
import { chargeResultFromIntent, createStripeGateway, declineCodeOf, declineFromCardError, gatewayErrorFrom, toStripeAmount, webhookEventFrom } from '../gateways/stripe.ts';
import { buyerMessage } from '../domain/buyer-messages.ts';
import { gatewayChargeKey } from '../domain/idempotency.ts';
import { waitFor } from '../scripts/lib/ports.ts';
import { statusUrl } from '../workflows/messages.ts';
import { reconcileWorkflowId } from '../workflows/reconcile-messages.ts';
import type { reconcileCharge } from '../workflows/reconcileCharge.ts';
import { startStripeServer, stripeFixturesPath, type StripeTestServer } from './gateways/stripe-server.ts';
import { accept, auth, readyToAccept } from './helpers/shop.ts';
import { newKey, uid } from './helpers/ids.ts';
import { postWebhook } from './helpers/webhooks.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const WEBHOOK_SECRET = 'whsec_test_ocart_upsells_0123456789';
const WEBHOOK_URL = '/wp-json/ocart/v1/webhooks/stripe';

function sdkFor(server: StripeTestServer): Stripe {
  const { hostname, port } = new URL(server.url);
  return new Stripe(server.secretKey, { host: hostname, port, protocol: 'http', maxNetworkRetries: 0 });
}

function signed(event: object, secret = WEBHOOK_SECRET): { payload: string; signature: string } {
  const payload = JSON.stringify(event);
  return { payload, signature: Stripe.webhooks.generateTestHeaderString({ payload, secret }) };
}

// ---------------------------------------------------------------------------------------------

describe('Stripe outcome mapping (plain functions)', () => {
  // Stripe's own example PaymentIntent, with the fields each case is about laid over it.
  const example = (JSON.parse(readFileSync(stripeFixturesPath(), 'utf8')) as { resources: { payment_intent: Stripe.PaymentIntent } }).resources.payment_intent;
  const intent = (over: Partial<Stripe.PaymentIntent>): Stripe.PaymentIntent => ({
    ...example,
    id: 'pi_1',
    client_secret: 'pi_1_secret_x',
    next_action: null,
    last_payment_error: null,
    ...over,
  });

  it('succeeded is succeeded, keyed by the intent id', () => {
    expect(chargeResultFromIntent(intent({ status: 'succeeded' }))).toEqual({ status: 'succeeded', chargeRef: 'pi_1' });
  });

  it('requires_action carries the client secret and the redirect_to_url page', () => {
    const next_action = { type: 'redirect_to_url', redirect_to_url: { url: 'https://hooks.stripe.com/3ds/pi_1', return_url: 'https://shop/back' } };
    expect(chargeResultFromIntent(intent({ status: 'requires_action', next_action }))).toEqual({
      status: 'requires_action',
      chargeRef: 'pi_1',
      action: { clientSecret: 'pi_1_secret_x', redirectUrl: 'https://hooks.stripe.com/3ds/pi_1' },
    });
    expect(chargeResultFromIntent(intent({ status: 'requires_action', next_action: { type: 'use_stripe_sdk' } }))).toEqual({
      status: 'requires_action',
      chargeRef: 'pi_1',
      action: { clientSecret: 'pi_1_secret_x' },
    });
  });

  it('an off-session attempt refused with authentication_required still waits for the buyer', () => {
    const last_payment_error = { type: 'card_error' as const, code: 'authentication_required' as const, decline_code: 'authentication_required' };
    expect(chargeResultFromIntent(intent({ status: 'requires_payment_method', last_payment_error }))).toMatchObject({ status: 'requires_action', chargeRef: 'pi_1' });
  });

  it('a failed payment is declined with the decline code', () => {
    const failed = (code: 'card_declined' | 'expired_card' | 'payment_intent_authentication_failure', decline_code?: string) =>
      chargeResultFromIntent(
        intent({ status: 'requires_payment_method', last_payment_error: { type: 'card_error', code, ...(decline_code ? { decline_code } : {}), message: 'no' } }),
      );
    expect(failed('card_declined', 'insufficient_funds')).toEqual({ status: 'declined', chargeRef: 'pi_1', code: 'insufficient_funds', message: 'no' });
    expect(failed('card_declined', 'generic_decline')).toMatchObject({ code: 'card_declined' });
    expect(failed('expired_card', 'expired_card')).toMatchObject({ code: 'expired_card' });
    expect(failed('payment_intent_authentication_failure')).toMatchObject({ code: 'authentication_failed' });
    expect(chargeResultFromIntent(intent({ status: 'canceled' }))).toMatchObject({ status: 'declined', code: 'canceled' });
  });

  it('processing is asked again later; a status we never create is refused', () => {
    expect(() => chargeResultFromIntent(intent({ status: 'processing' }))).toThrow(GatewayTransientError);
    expect(() => chargeResultFromIntent(intent({ status: 'requires_capture' }))).toThrow(GatewayRefusedError);
  });

  it('declineCodeOf prefers the issuer reason over the generic one', () => {
    expect(declineCodeOf({ code: 'card_declined', decline_code: 'insufficient_funds' })).toBe('insufficient_funds');
    expect(declineCodeOf({ code: 'card_declined', decline_code: 'generic_decline' })).toBe('card_declined');
    expect(declineCodeOf({ code: 'incorrect_cvc' })).toBe('incorrect_cvc');
    expect(declineCodeOf(null)).toBe('card_declined');
    const bare = new Stripe.errors.StripeCardError({ message: 'Your card was declined.', code: 'card_declined', decline_code: 'do_not_honor' });
    expect(declineFromCardError(bare)).toEqual({ status: 'declined', chargeRef: null, code: 'do_not_honor', message: 'Your card was declined.' });
  });

  it('network errors, 5xx, 409 and rate limits are transient; invalid requests, bad keys and reused keys are refused', () => {
    const { errors } = Stripe;
    expect(gatewayErrorFrom(new errors.StripeConnectionError({ message: 'socket hang up' }))).toBeInstanceOf(GatewayTransientError);
    expect(gatewayErrorFrom(new errors.StripeRateLimitError({ message: 'slow down', statusCode: 429 }))).toBeInstanceOf(GatewayTransientError);
    expect(gatewayErrorFrom(new errors.StripeAPIError({ message: 'boom', statusCode: 500 }))).toBeInstanceOf(GatewayTransientError);
    expect(gatewayErrorFrom(new errors.StripeAPIError({ message: 'lock_timeout', statusCode: 409 }))).toBeInstanceOf(GatewayTransientError);
    for (const refused of [
      new errors.StripeInvalidRequestError({ message: 'bad', statusCode: 400, code: 'parameter_unknown' }),
      new errors.StripeAuthenticationError({ message: 'bad key', statusCode: 401 }),
      new errors.StripePermissionError({ message: 'nope', statusCode: 403 }),
      new errors.StripeIdempotencyError({ message: 'reused', statusCode: 400 }),
    ]) {
      const mapped = gatewayErrorFrom(refused);
      expect(mapped).toBeInstanceOf(GatewayRefusedError);
      expect(mapped).toMatchObject({ code: 'gateway_error' });
    }
    const ours = new Error('a bug of ours');
    expect(gatewayErrorFrom(ours)).toBe(ours);
  });

  it("amounts go to Stripe in Stripe's minor units, never rounded", () => {
    expect(toStripeAmount({ value: 1500, currency: 'USD' })).toBe(1500);
    expect(toStripeAmount({ value: 500, currency: 'JPY' })).toBe(500);
    // ISK is zero-decimal in ISO 4217 but two-decimal in Stripe's API: 5 ISK is 500.
    expect(toStripeAmount({ value: 5, currency: 'ISK' })).toBe(500);
    expect(toStripeAmount({ value: 1230, currency: 'KWD' })).toBe(1230);
    expect(() => toStripeAmount({ value: 1234, currency: 'KWD' })).toThrow(GatewayCurrencyError);
    // MGA: two decimals in ISO 4217, zero-decimal at Stripe.
    expect(toStripeAmount({ value: 1500, currency: 'MGA' })).toBe(15);
    expect(() => toStripeAmount({ value: 1550, currency: 'MGA' })).toThrow(GatewayCurrencyError);
  });

  it('zero-decimal in ISO and at Stripe (BIF, DJF, GNF, KMF, VUV, XPF): the price as is, not a hundredth of it', () => {
    for (const currency of ['BIF', 'DJF', 'GNF', 'KMF', 'VUV', 'XPF']) {
      expect(toStripeAmount({ value: 1500, currency }), currency).toBe(1500);
    }
  });

  it("Stripe's special cases: ISK and UGX go as two-decimal values; HUF and TWD only in whole units; a code ISO does not list is refused", () => {
    expect(toStripeAmount({ value: 1500, currency: 'UGX' })).toBe(150_000);
    expect(toStripeAmount({ value: 1500, currency: 'ISK' })).toBe(150_000);
    expect(toStripeAmount({ value: 150_000, currency: 'HUF' })).toBe(150_000);
    expect(toStripeAmount({ value: 2_000, currency: 'TWD' })).toBe(2_000);
    expect(() => toStripeAmount({ value: 150_050, currency: 'HUF' })).toThrow(GatewayCurrencyError);
    expect(() => toStripeAmount({ value: 1_999, currency: 'TWD' })).toThrow(GatewayCurrencyError);
    expect(() => toStripeAmount({ value: 1500, currency: 'ZZZ' })).toThrow(GatewayCurrencyError);
  });

  it('a gateway message quoting a key is redacted before it reaches a log line', () => {
    const said = 'Invalid API Key provided: sk_live_51Habc123XYZ; webhook whsec_abcdef; Bearer sk_test_zzz';
    const logged = redactGatewayText(said);
    expect(logged).not.toMatch(/51Habc123XYZ|whsec_abcdef|sk_test_zzz/);
    expect(logged).toContain('sk_live_[redacted]');
  });

  it('only payment_intent.succeeded and payment_intent.payment_failed for our own intents signal an accept', () => {
    const event = (type: string, metadata: Record<string, string>): Stripe.Event =>
      JSON.parse(JSON.stringify({ id: 'evt_1', object: 'event', type, data: { object: intent({ metadata }) } })) as Stripe.Event;
    const ours = { workflow_id: 'key-123456', offer_id: 'off_1', parent_order_id: 'wc-1' };
    expect(webhookEventFrom(event('payment_intent.succeeded', ours))).toEqual({
      acceptKey: 'key-123456',
      chargeRef: 'pi_1',
      eventType: 'payment_intent.succeeded',
      succeeded: true,
    });
    expect(webhookEventFrom(event('payment_intent.payment_failed', ours))).toMatchObject({ eventType: 'payment_intent.payment_failed', succeeded: false });
    expect(webhookEventFrom(event('payment_intent.created', ours))).toBeNull();
    expect(webhookEventFrom(event('payment_intent.succeeded', { order_id: '42' }))).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------

describe('Stripe adapter against the Stripe-compatible server', () => {
  let server: StripeTestServer;
  let sdk: Stripe;
  let gateway: PaymentGateway;
  const options = () => ({ secretKey: server.secretKey, webhookSecret: WEBHOOK_SECRET, apiBase: server.url, maxNetworkRetries: 0 });

  beforeAll(async () => {
    server = await startStripeServer();
    sdk = sdkFor(server);
    gateway = createStripeGateway(options());
  });
  afterAll(async () => {
    await server?.close();
  });

  async function buyer(card: string) {
    const customer = await sdk.customers.create({ email: 'buyer@example.com' });
    const method = await sdk.paymentMethods.attach(card, { customer: customer.id });
    return { customerRef: customer.id, methodRef: method.id };
  }

  function request(b: { customerRef: string | null; methodRef: string }, over: Partial<ChargeRequest> = {}): ChargeRequest {
    const acceptKey = newKey();
    return {
      acceptKey,
      idempotencyKey: gatewayChargeKey(acceptKey),
      amount: 1500,
      currency: 'USD',
      email: 'buyer@example.com',
      metadata: { workflow_id: acceptKey, offer_id: 'off_test', parent_order_id: 'wc-test' },
      returnUrl: 'http://127.0.0.1:3000/back',
      ...b,
      ...over,
    };
  }

  it('the same idempotency key replays the first intent; with another amount it is refused, not charged', async () => {
    const req = request(await buyer('pm_card_visa'));
    const first = await gateway.chargeOffSession(req);
    const again = await gateway.chargeOffSession(req);
    expect(first).toMatchObject({ status: 'succeeded' });
    expect(again).toEqual(first);
    await expect(gateway.chargeOffSession({ ...req, amount: 1600 })).rejects.toBeInstanceOf(GatewayRefusedError);
    expect(server.intentsFor(req.acceptKey)).toHaveLength(1);
    expect(
      server
        .requests({ method: 'POST', path: '/v1/payment_intents' })
        .filter((r) => r.idempotencyKey === req.idempotencyKey)
        .map((r) => [r.status, r.replayed]),
    ).toEqual([
      [200, false],
      [200, true],
      [400, false],
    ]);
  });

  it('an answer that comes after the SDK gave up is transient, and the retry replays it: one intent', async () => {
    const impatient = createStripeGateway({ ...options(), timeoutMs: 300 });
    const req = request(await buyer('pm_card_visa'));
    server.delayNext(1, 1000, { method: 'POST', path: '/v1/payment_intents' });
    await expect(impatient.chargeOffSession(req)).rejects.toBeInstanceOf(GatewayTransientError);
    const retried = await impatient.chargeOffSession(req);
    const [only, ...others] = server.intentsFor(req.acceptKey);
    expect(others).toHaveLength(0);
    expect(retried).toEqual({ status: 'succeeded', chargeRef: only?.id });
  });

  it('a dropped connection after the charge is retried by the SDK under our key: one intent', async () => {
    const req = request(await buyer('pm_card_visa'));
    server.dropNext(1, { method: 'POST', path: '/v1/payment_intents' });
    await expect(gateway.chargeOffSession(req)).resolves.toMatchObject({ status: 'succeeded' });
    expect(server.intentsFor(req.acceptKey)).toHaveLength(1);
  });

  it('rate limits and 5xx are transient; a wrong API key is refused', async () => {
    const b = await buyer('pm_card_visa');
    const check = { ...b, email: null, amount: 1500, currency: 'USD' };
    server.failNext(1, { method: 'GET', path: `/v1/payment_methods/${b.methodRef}` }, 429);
    await expect(gateway.checkPaymentMethod(check)).rejects.toBeInstanceOf(GatewayTransientError);
    server.failNext(1, { method: 'GET', path: `/v1/payment_methods/${b.methodRef}` }, 503);
    await expect(gateway.checkPaymentMethod(check)).rejects.toBeInstanceOf(GatewayTransientError);
    await expect(gateway.checkPaymentMethod(check)).resolves.toBeUndefined();
    const wrongKey = createStripeGateway({ ...options(), secretKey: 'sk_test_wrong' });
    await expect(wrongKey.checkPaymentMethod(check)).rejects.toMatchObject({ name: 'GatewayRefusedError', code: 'gateway_error' });
  });

  it('the payment-method check refuses a missing, foreign, unattached or expired card', async () => {
    const b = await buyer('pm_card_visa');
    const other = await buyer('pm_card_visa');
    const check = (methodRef: string, customerRef: string | null = b.customerRef) =>
      gateway.checkPaymentMethod({ customerRef, methodRef, email: null, amount: 1500, currency: 'USD' });
    const expired = server.addPaymentMethod('pm_card_visa', { customer: b.customerRef, expMonth: 1, expYear: 2020 });
    for (const [methodRef, customerRef] of [['pm_does_not_exist'], [other.methodRef], ['pm_card_visa'], [expired], [b.methodRef, null]] as const) {
      await expect(check(methodRef, customerRef)).rejects.toMatchObject({ name: 'GatewayDeclineError', code: 'payment_method_unusable' });
    }
    await expect(check(b.methodRef)).resolves.toBeUndefined();
  });

  it('cancel leaves a succeeded intent succeeded, and cancels one waiting for the buyer', async () => {
    const paid = await gateway.chargeOffSession(request(await buyer('pm_card_visa')));
    expect(await gateway.cancelCharge(paid.chargeRef!)).toEqual(paid);
    const waiting = await gateway.chargeOffSession(request(await buyer('pm_card_authenticationRequired')));
    expect(waiting).toMatchObject({ status: 'requires_action' });
    expect(await gateway.cancelCharge(waiting.chargeRef!)).toMatchObject({ status: 'declined', code: 'canceled' });
    expect(server.intent(waiting.chargeRef!)).toMatchObject({ status: 'canceled', cancellationReason: 'abandoned' });
    // A second cancel (a Temporal retry) answers from the intent as it stands.
    expect(await gateway.cancelCharge(waiting.chargeRef!)).toMatchObject({ status: 'declined', code: 'canceled' });
  });

  it('refunds are keyed: a retry replays, and a charge refunded elsewhere counts as refunded', async () => {
    const paid = await gateway.chargeOffSession(request(await buyer('pm_card_visa')));
    const before = server.refundsCreated;
    const first = await gateway.refund(paid.chargeRef!, 1500, 'refund-key-1');
    expect(await gateway.refund(paid.chargeRef!, 1500, 'refund-key-1')).toEqual(first);
    expect(await gateway.refund(paid.chargeRef!, 1500, 'refund-key-2')).toEqual(first);
    expect(server.refundsCreated - before).toBe(1);
  });

  it("findCharge repeats the create under the accept's key: it answers the intent made with it, waits while that create is in flight, and is null when Stripe refused it", async () => {
    const b = await buyer('pm_card_authenticationRequired');
    const req = request(b);
    const made = await gateway.chargeOffSession(req);
    await gateway.chargeOffSession(request(b)); // another accept by the same customer
    expect(await gateway.findCharge(req)).toEqual(made);
    expect(server.intentsFor(req.acceptKey)).toHaveLength(1);

    // The first create is held at Stripe (in flight, not visible to a list): the same key is 409
    // idempotency_key_in_use until it is done, and then the replay names the intent.
    const impatient = createStripeGateway({ ...options(), timeoutMs: 300 });
    const slow = request(await buyer('pm_card_visa'));
    server.stallNext(1, 1500, { method: 'POST', path: '/v1/payment_intents' });
    await expect(impatient.chargeOffSession(slow)).rejects.toBeInstanceOf(GatewayTransientError);
    await expect(gateway.findCharge(slow)).rejects.toBeInstanceOf(GatewayTransientError);
    const keyed = server.requests({ method: 'POST', path: '/v1/payment_intents' }).filter((r) => r.idempotencyKey === slow.idempotencyKey);
    expect(keyed.map((r) => r.status)).toContain(409);
    await waitFor(async () => server.intentsFor(slow.acceptKey).length === 1, 5_000, 'the held create to run');
    await new Promise((r) => setTimeout(r, 100));
    const [only] = server.intentsFor(slow.acceptKey);
    expect(await gateway.findCharge(slow)).toEqual({ status: 'succeeded', chargeRef: only?.id });
    expect(server.intentsFor(slow.acceptKey)).toHaveLength(1);

    // A currency Stripe does not take was never sent: nothing to find.
    expect(await gateway.findCharge(request(b, { currency: 'ZZZ' }))).toBeNull();
  });

  it('Stripe refuses a confirm: true create that could redirect without a return_url; ours sends one, and the intent keeps automatic payment methods', async () => {
    const b = await buyer('pm_card_visa');
    const base = { amount: 1500, currency: 'usd', customer: b.customerRef, payment_method: b.methodRef, off_session: true, confirm: true } as const;
    const refused = await sdk.paymentIntents.create(base).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(refused).toMatchObject({ statusCode: 400, param: 'return_url', type: 'StripeInvalidRequestError' });
    expect((refused as Error).message).toMatch(/A `return_url` must be specified/);
    expect(await sdk.paymentIntents.create({ ...base, automatic_payment_methods: { enabled: true, allow_redirects: 'never' } })).toMatchObject({ status: 'succeeded' });
    expect(await sdk.paymentIntents.create({ ...base, allowed_payment_method_types: ['card'] })).toMatchObject({ status: 'succeeded', automatic_payment_methods: null });

    const req = request(b);
    const paid = await gateway.chargeOffSession(req);
    expect(paid).toMatchObject({ status: 'succeeded' });
    const intent = await sdk.paymentIntents.retrieve(paid.chargeRef!);
    expect(intent.automatic_payment_methods).toEqual({ enabled: true, allow_redirects: 'always' });
    expect(server.intent(paid.chargeRef!)).toMatchObject({ offSession: true, returnUrl: req.returnUrl });
  });

  it('parseWebhook verifies the signature, and ignores events that are not about our intents', async () => {
    const req = request(await buyer('pm_card_visa'));
    const made = await gateway.chargeOffSession(req);
    const event = server.event('payment_intent.succeeded', made.chargeRef!);
    const parse = (e: object, secret = WEBHOOK_SECRET) => {
      const { payload, signature } = signed(e, secret);
      return gateway.parseWebhook(Buffer.from(payload), { 'stripe-signature': signature });
    };
    expect(parse(event)).toEqual({ acceptKey: req.acceptKey, chargeRef: made.chargeRef, eventType: 'payment_intent.succeeded', succeeded: true });
    expect(parse({ ...event, type: 'charge.succeeded' })).toBeNull();
    expect(() => parse(event, 'whsec_someone_else')).toThrow(WebhookSignatureError);
    expect(() => gateway.parseWebhook(Buffer.from(JSON.stringify(event)), {})).toThrow(WebhookSignatureError);
  });
});

// ---------------------------------------------------------------------------------------------

describe('Stripe accepts through the whole stack', () => {
  let server: StripeTestServer;
  let sdk: Stripe;
  let stack: TestStack;

  beforeAll(async () => {
    server = await startStripeServer();
    sdk = sdkFor(server);
    stack = await startTestStack({
      // A short per-request timeout, so a create Stripe holds (stallNext) outlasts the charge's attempts.
      env: {
        STRIPE_SECRET_KEY: server.secretKey,
        STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        STRIPE_API_BASE: server.url,
        STRIPE_TIMEOUT_MS: '3000',
        OCART_ALLOWED_ORIGINS: 'https://shop.example',
      },
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await server?.close();
  });

  /** A paid Stripe parent order whose buyer saved `card`, an offer, and a fresh token. */
  async function ready(card: string, saveTo?: 'another customer', price?: { currency: string; amount: number }) {
    const customer = await sdk.customers.create({ email: 'buyer@example.com' });
    const owner = saveTo ? await sdk.customers.create({ email: 'someone-else@example.com' }) : customer;
    const method = await sdk.paymentMethods.attach(card, { customer: owner.id });
    const ready = await readyToAccept(
      stack.app,
      { gateway: 'stripe', customerRef: customer.id, methodRef: method.id, ...(price ? { currency: price.currency, total: price.amount * 4 } : {}) },
      price ?? {},
    );
    return { ...ready, key: newKey() };
  }

  const status = (key: string, cartId: string) => stack.app.inject({ method: 'GET', url: statusUrl(key, cartId) });

  async function waitForStatus(key: string, cartId: string, wanted: string, timeoutMs = 20_000) {
    let last = await status(key, cartId);
    await waitFor(
      async () => {
        last = await status(key, cartId);
        return last.json<{ status: string }>().status === wanted;
      },
      timeoutMs,
      `accept ${key} to become ${wanted}`,
    );
    return last;
  }

  const postStripeWebhook = (payload: string, signature: string | undefined) => postWebhook(stack.app, 'stripe', payload, signature);

  async function deliver(type: 'payment_intent.succeeded' | 'payment_intent.payment_failed', intentId: string) {
    const { payload, signature } = signed(server.event(type, intentId));
    const res = await postStripeWebhook(payload, signature);
    expect(res.statusCode, res.body).toBe(200);
    return res;
  }

  /**
   * Settings are one table shared by every test file in the run, so a change is held only around
   * the accept it is for (the workflow reads settings once, at validation) and then put back.
   */
  async function withSettings<T>(patch: Record<string, unknown>, work: () => Promise<T>): Promise<T> {
    const before = (await stack.app.inject({ method: 'GET', url: '/wp-json/ocart/v1/settings', headers: auth })).json<Record<string, unknown>>();
    const set = (values: Record<string, unknown>) => stack.app.inject({ method: 'PATCH', url: '/wp-json/ocart/v1/settings', headers: auth, payload: values });
    expect((await set(patch)).statusCode).toBe(200);
    try {
      return await work();
    } finally {
      await set(Object.fromEntries(Object.keys(patch).map((k) => [k, before[k]])));
    }
  }

  /**
   * The rows an accept left. The buyer's answer goes out before the workflow records it, so this
   * waits for the accept record to be final first.
   */
  async function rowsFor(key: string, parentId: string) {
    await waitFor(async () => (await stack.prisma.accept.findUnique({ where: { idempotencyKey: key } }))?.completedAt != null, 10_000, `accept ${key} to be recorded`);
    const [payments, children, record] = await Promise.all([
      stack.prisma.payment.findMany({ where: { idempotencyKey: key } }),
      stack.prisma.order.findMany({ where: { parentId, kind: 'child' } }),
      stack.prisma.accept.findUniqueOrThrow({ where: { idempotencyKey: key } }),
    ]);
    return { payments, children, record };
  }

  async function signalsReceived(key: string): Promise<number> {
    const history = await stack.client.workflow.getHandle(key).fetchHistory();
    return (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).length;
  }

  it('pm_card_visa: one off-session intent, the child order and its payment are written', async () => {
    const { order, offer, body, key } = await ready('pm_card_visa');
    const res = await accept(stack.app, offer.id, key, body);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ status: 'succeeded', accept_id: key, amount: { value: 1500, currency: 'USD' }, order: { kind: 'child' } });

    const [intent, ...more] = server.intentsFor(key);
    expect(more).toHaveLength(0);
    expect(intent).toMatchObject({
      status: 'succeeded',
      amount: 1500,
      currency: 'usd',
      offSession: true,
      idempotencyKey: gatewayChargeKey(key),
      metadata: { workflow_id: key, offer_id: offer.id, parent_order_id: order.externalId },
    });
    const { payments, children, record } = await rowsFor(key, order.id);
    expect(children).toHaveLength(1);
    expect(payments).toEqual([expect.objectContaining({ gateway: 'stripe', gatewayRef: intent?.id, status: 'succeeded', amount: 1500, orderId: children[0]?.id })]);
    expect(record).toMatchObject({ status: 'succeeded', gateway: 'stripe', gatewayRef: intent?.id });

    const replay = await accept(stack.app, offer.id, key, body);
    expect(replay.json()).toEqual(res.json());
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(server.intentsFor(key)).toHaveLength(1);
  });

  for (const [card, code] of [
    ['pm_card_chargeDeclined', 'card_declined'],
    ['pm_card_chargeDeclinedInsufficientFunds', 'insufficient_funds'],
  ] as const) {
    it(`${card}: 402 declined with ${code}, one intent, no order`, async () => {
      const { order, offer, body, key } = await ready(card);
      const res = await accept(stack.app, offer.id, key, body);
      expect(res.statusCode, res.body).toBe(402);
      expect(res.json()).toMatchObject({ status: 'declined', accept_id: key, code });
      expect(server.intentsFor(key)).toHaveLength(1);
      const { payments, children, record } = await rowsFor(key, order.id);
      expect(payments).toHaveLength(0);
      expect(children).toHaveLength(0);
      expect(record).toMatchObject({ status: 'declined', errorCode: code });
    });
  }

  it('SCA: 202 requires_action, the buyer authenticates, the webhook signals, Stripe is asked again, the order is written', async () => {
    const { order, offer, body, key } = await ready('pm_card_authenticationRequired');
    const res = await accept(stack.app, offer.id, key, body);
    expect(res.statusCode, res.body).toBe(202);
    const [intent] = server.intentsFor(key);
    expect(res.json()).toMatchObject({
      status: 'requires_action',
      accept_id: key,
      action: { gateway: 'stripe', client_secret: intent?.clientSecret },
      status_url: statusUrl(key, order.cartId),
    });
    expect((await status(key, order.cartId)).json()).toMatchObject({ status: 'requires_action' });

    server.authenticate(intent!.id, 'succeed');
    const hook = await deliver('payment_intent.succeeded', intent!.id);
    expect(hook.json()).toEqual({ received: true, handled: true });

    const done = await waitForStatus(key, order.cartId, 'succeeded');
    expect(done.statusCode).toBe(200);
    expect(done.json()).toMatchObject({ status: 'succeeded', order: { kind: 'child' } });
    const { payments, children } = await rowsFor(key, order.id);
    expect(children).toHaveLength(1);
    expect(payments).toEqual([expect.objectContaining({ gateway: 'stripe', gatewayRef: intent?.id, status: 'succeeded' })]);
    expect(server.intentsFor(key)).toHaveLength(1);
  });

  it('SCA: the off-session payment_failed event does not end the wait, and a success event that lands while Stripe is being asked is not lost', async () => {
    const { order, offer, body, key } = await ready('pm_card_authenticationRequired');
    expect((await accept(stack.app, offer.id, key, body)).statusCode).toBe(202);
    const [intent] = server.intentsFor(key);
    const reads = { method: 'GET', path: `/v1/payment_intents/${intent!.id}` };

    // Stripe announces the refused off-session attempt at once; the workflow asks Stripe, which
    // still says the buyer has to act. That read is held up, and the buyer finishes meanwhile.
    server.delayNext(1, 1500, reads);
    await deliver('payment_intent.payment_failed', intent!.id);
    await waitFor(async () => server.requests(reads).length >= 1, 10_000, 'the workflow to ask Stripe after the first event');
    server.authenticate(intent!.id, 'succeed');
    await deliver('payment_intent.succeeded', intent!.id);

    const done = await waitForStatus(key, order.cartId, 'succeeded', 15_000);
    expect(done.json()).toMatchObject({ status: 'succeeded' });
    expect(server.requests(reads).length).toBeGreaterThanOrEqual(2);
    expect((await rowsFor(key, order.id)).payments).toHaveLength(1);
  });

  it('SCA: a payment_failed webhook after failed authentication ends as declined (authentication_failed), no order', async () => {
    const { order, offer, body, key } = await ready('pm_card_authenticationRequired');
    expect((await accept(stack.app, offer.id, key, body)).statusCode).toBe(202);
    const [intent] = server.intentsFor(key);
    server.authenticate(intent!.id, 'fail');
    await deliver('payment_intent.payment_failed', intent!.id);

    const done = await waitForStatus(key, order.cartId, 'declined');
    expect(done.statusCode).toBe(402);
    expect(done.json()).toMatchObject({ status: 'declined', code: 'authentication_failed' });
    const { payments, children, record } = await rowsFor(key, order.id);
    expect(payments).toHaveLength(0);
    expect(children).toHaveLength(0);
    expect(record).toMatchObject({ status: 'declined', errorCode: 'authentication_failed', gatewayRef: intent?.id });
    expect(server.intentsFor(key)).toHaveLength(1);
    // Cancelled, so its client secret can no longer be confirmed after the accept has ended.
    expect(server.intent(intent!.id).status).toBe('canceled');
  });

  it('SCA: no webhook before upsells.sca_timeout_min: the intent is canceled at Stripe and the accept is expired', async () => {
    const { order, offer, body, key } = await ready('pm_card_authenticationRequired');
    await withSettings({ 'upsells.sca_timeout_min': 0.05 }, async () => {
      expect((await accept(stack.app, offer.id, key, body)).statusCode).toBe(202);
    });
    const done = await waitForStatus(key, order.cartId, 'expired');
    expect(done.statusCode).toBe(200);
    expect(done.json()).toMatchObject({ status: 'expired', code: 'authentication_timeout' });
    const [intent, ...more] = server.intentsFor(key);
    expect(more).toHaveLength(0);
    expect(intent).toMatchObject({ status: 'canceled', cancellationReason: 'abandoned' });
    const { payments, children, record } = await rowsFor(key, order.id);
    expect(payments).toHaveLength(0);
    expect(children).toHaveLength(0);
    expect(record).toMatchObject({ status: 'expired', errorCode: 'authentication_timeout' });
  });

  it('a forged or unsigned webhook is 400 signature_invalid and signals nothing', async () => {
    const { order, offer, body, key } = await ready('pm_card_authenticationRequired');
    expect((await accept(stack.app, offer.id, key, body)).statusCode).toBe(202);
    const [intent] = server.intentsFor(key);
    server.authenticate(intent!.id, 'succeed');

    const forged = signed(server.event('payment_intent.succeeded', intent!.id), 'whsec_forger');
    for (const res of [
      await postStripeWebhook(forged.payload, forged.signature),
      await postStripeWebhook(forged.payload, undefined),
      await postStripeWebhook(forged.payload, 't=1,v1=00'),
    ]) {
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'signature_invalid' });
    }
    expect(await signalsReceived(key)).toBe(0);
    expect((await status(key, order.cartId)).json()).toMatchObject({ status: 'requires_action' });
    expect(await stack.prisma.payment.count({ where: { idempotencyKey: key } })).toBe(0);
  });

  it('a duplicated webhook is harmless: one order, one payment, one intent', async () => {
    const { order, offer, body, key } = await ready('pm_card_authenticationRequired');
    expect((await accept(stack.app, offer.id, key, body)).statusCode).toBe(202);
    const [intent] = server.intentsFor(key);
    server.authenticate(intent!.id, 'succeed');
    const { payload, signature } = signed(server.event('payment_intent.succeeded', intent!.id));
    const twice = await Promise.all([postStripeWebhook(payload, signature), postStripeWebhook(payload, signature)]);
    expect(twice.map((r) => r.statusCode)).toEqual([200, 200]);
    await waitForStatus(key, order.cartId, 'succeeded');
    await stack.client.workflow.getHandle(key).result();
    // Stripe redelivers after the accept has finished too: the charge is reconciled, and since it
    // has its order, nothing is refunded.
    const refundsBefore = server.refundsCreated;
    const late = await postStripeWebhook(payload, signature);
    expect(late.statusCode).toBe(200);
    expect(late.json()).toEqual({ received: true, handled: true });
    const reconciled = await stack.client.workflow.getHandle<typeof reconcileCharge>(reconcileWorkflowId('stripe', intent!.id)).result();
    expect(reconciled).toEqual({ outcome: 'has_order' });
    expect(server.refundsCreated).toBe(refundsBefore);
    expect(server.intent(intent!.id).amountRefunded).toBe(0);

    const { payments, children } = await rowsFor(key, order.id);
    expect(children).toHaveLength(1);
    expect(payments).toHaveLength(1);
    expect(server.intentsFor(key)).toHaveLength(1);
  });

  it('a 500 from Stripe, then success: Temporal retries under the same key, exactly one charge', async () => {
    const { order, offer, body, key } = await ready('pm_card_visa');
    const creates = { method: 'POST', path: '/v1/payment_intents' };
    const before = server.requests(creates).length;
    server.failNext(1, creates, 500);
    const res = await accept(stack.app, offer.id, key, body);
    expect(res.statusCode, res.body).toBe(200);
    const attempts = server
      .requests(creates)
      .slice(before)
      .filter((r) => r.idempotencyKey === gatewayChargeKey(key));
    expect(attempts.map((r) => r.status)).toEqual([500, 200]);
    expect(server.intentsFor(key)).toHaveLength(1);
    expect((await rowsFor(key, order.id)).payments).toHaveLength(1);
  });

  it('a charge whose answer was lost on the way back is replayed, not repeated: exactly one charge', async () => {
    const { order, offer, body, key } = await ready('pm_card_visa');
    server.dropNext(1, { method: 'POST', path: '/v1/payment_intents' });
    const res = await accept(stack.app, offer.id, key, body);
    expect(res.statusCode, res.body).toBe(200);
    expect(server.intentsFor(key)).toHaveLength(1);
    expect((await rowsFor(key, order.id)).payments).toHaveLength(1);
  });

  it('a create Stripe still holds after every charge attempt: 502, then the void step repeats the create until Stripe stops answering 409 and refunds what it made', async () => {
    const { order, offer, body, key } = await ready('pm_card_visa');
    const creates = { method: 'POST', path: '/v1/payment_intents' };
    // The first create is held for 12 s: the SDK gives up after 3 s, Temporal's retries meet 409
    // idempotency_key_in_use, and the accept answers before Stripe has made anything visible.
    server.stallNext(1, 12_000, creates);
    const res = await accept(stack.app, offer.id, key, body);
    expect(res.statusCode, res.body).toBe(502);
    expect(res.json()).toMatchObject({ status: 'error', code: 'gateway_error' });

    await waitFor(async () => server.intentsFor(key)[0]?.amountRefunded === 1500, 40_000, 'the held charge to be refunded');
    const [intent, ...more] = server.intentsFor(key);
    expect(more).toHaveLength(0);
    expect(intent).toMatchObject({ status: 'succeeded', amountReceived: 1500, amountRefunded: 1500 });
    const keyed = server.requests(creates).filter((r) => r.idempotencyKey === gatewayChargeKey(key));
    expect(keyed.filter((r) => r.status === 409).length).toBeGreaterThan(0);
    expect(keyed.at(-1)).toMatchObject({ status: 200, replayed: true });
    const { payments, children, record } = await rowsFor(key, order.id);
    expect(payments).toHaveLength(0);
    expect(children).toHaveLength(0);
    expect(record).toMatchObject({ status: 'error', errorCode: 'gateway_error' });
  }, 90_000);

  it('a gateway message quoting a secret never reaches the buyer or the accept record: our code and our words', async () => {
    const { order, offer, body, key } = await ready('pm_card_visa');
    const secret = 'sk_live_51HxTopSecretKey0123456789';
    server.failNext(1, { method: 'GET', path: /^\/v1\/payment_methods\// }, 401, {
      type: 'invalid_request_error',
      message: `Invalid API Key provided: ${secret}`,
    });
    const res = await accept(stack.app, offer.id, key, body);
    expect(res.statusCode, res.body).toBe(502);
    expect(res.json()).toEqual({ status: 'error', accept_id: key, code: 'gateway_error', message: buyerMessage('gateway_error') });
    expect(res.body).not.toMatch(/sk_live|Invalid API Key/);
    const { record } = await rowsFor(key, order.id);
    expect(JSON.stringify([record.response, record.state, record.errorCode])).not.toMatch(/sk_live|Invalid API Key/);
    expect(server.intentsFor(key)).toHaveLength(0);

    // A decline keeps its code, in our words.
    const declined = await ready('pm_card_chargeDeclinedInsufficientFunds');
    const d = await accept(stack.app, declined.offer.id, declined.key, declined.body);
    expect(d.statusCode).toBe(402);
    expect(d.json()).toEqual({ status: 'declined', accept_id: declined.key, code: 'insufficient_funds', message: buyerMessage('insufficient_funds') });
  });

  it('a currency Stripe cannot take: 422 currency_unsupported before anything is charged', async () => {
    const { order, offer, body, key } = await ready('pm_card_visa', undefined, { currency: 'ZZZ', amount: 1500 });
    const res = await accept(stack.app, offer.id, key, body);
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json()).toEqual({ status: 'rejected', accept_id: key, code: 'currency_unsupported', message: buyerMessage('currency_unsupported') });
    expect(server.intentsFor(key)).toHaveLength(0);
    expect((await rowsFor(key, order.id)).payments).toHaveLength(0);
  });

  it('XPF (zero-decimal in ISO 4217 and at Stripe) is charged at its price, not a hundredth of it', async () => {
    const { offer, body, key } = await ready('pm_card_visa', undefined, { currency: 'XPF', amount: 1500 });
    const res = await accept(stack.app, offer.id, key, body);
    expect(res.statusCode, res.body).toBe(200);
    expect(server.intentsFor(key)).toEqual([expect.objectContaining({ amount: 1500, currency: 'xpf', amountReceived: 1500 })]);
  });

  it('a success webhook for a closed accept whose charge has no order: reconciled, refunded once, recorded', async () => {
    // The accept ran and closed (declined); a charge for it then succeeded at Stripe with no order
    // (completed by its client secret, say). Its webhook must not be acknowledged and forgotten.
    const { order, offer, body, key } = await ready('pm_card_chargeDeclined');
    expect((await accept(stack.app, offer.id, key, body)).statusCode).toBe(402);
    await rowsFor(key, order.id);
    await stack.client.workflow.getHandle(key).result();
    const customer = await sdk.customers.create({ email: 'buyer@example.com' });
    const method = await sdk.paymentMethods.attach('pm_card_visa', { customer: customer.id });
    const orphan = await sdk.paymentIntents.create({
      amount: 1500,
      currency: 'usd',
      customer: customer.id,
      payment_method: method.id,
      confirm: true,
      off_session: true,
      return_url: 'https://shop.example/back',
      metadata: { workflow_id: key, offer_id: offer.id, parent_order_id: order.externalId },
    });
    expect(orphan.status).toBe('succeeded');
    const refundsBefore = server.refundsCreated;

    const { payload, signature } = signed(server.event('payment_intent.succeeded', orphan.id));
    const hook = await postStripeWebhook(payload, signature);
    expect(hook.statusCode, hook.body).toBe(200);
    expect(hook.json()).toEqual({ received: true, handled: true });
    const result = await stack.client.workflow.getHandle<typeof reconcileCharge>(reconcileWorkflowId('stripe', orphan.id)).result();
    expect(result).toMatchObject({ outcome: 'refunded' });
    expect(server.intent(orphan.id).amountRefunded).toBe(1500);
    expect(server.refundsCreated).toBe(refundsBefore + 1);
    const record = await stack.prisma.accept.findUniqueOrThrow({ where: { idempotencyKey: key } });
    expect(record).toMatchObject({ refundRef: result.refundRef, status: 'declined' });
    expect(record.refundedAt).toBeInstanceOf(Date);

    // Stripe delivers it again: the same reconciliation, nothing more refunded.
    const again = await postStripeWebhook(payload, signature);
    expect(again.statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    expect(server.refundsCreated).toBe(refundsBefore + 1);
    expect(server.intent(orphan.id).amountRefunded).toBe(1500);
  });

  it('upsells.sca_modal_enabled true: action "modal" with the client secret; false: "redirect" to the bank page, returning to the status URL', async () => {
    const modal = await ready('pm_card_authenticationRequired');
    const modalRes = await withSettings({ 'upsells.sca_modal_enabled': true }, () => accept(stack.app, modal.offer.id, modal.key, modal.body));
    const [modalIntent] = server.intentsFor(modal.key);
    expect(modalRes.statusCode).toBe(202);
    expect(modalRes.json<{ action: Record<string, unknown> }>().action).toMatchObject({ type: 'modal', gateway: 'stripe', client_secret: modalIntent?.clientSecret });

    const redirect = await ready('pm_card_authenticationRequired');
    const redirectRes = await withSettings({ 'upsells.sca_modal_enabled': false }, () => accept(stack.app, redirect.offer.id, redirect.key, redirect.body));
    const [redirectIntent] = server.intentsFor(redirect.key);
    expect(redirectRes.statusCode).toBe(202);
    const bankPage = (redirectIntent?.nextAction?.redirect_to_url as { url?: string } | undefined)?.url;
    expect(bankPage).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/redirect\/authenticate\/pi_/);
    expect(redirectRes.json<{ action: Record<string, unknown> }>().action).toMatchObject({ type: 'redirect', gateway: 'stripe', redirect_url: bankPage });
    expect(redirectIntent?.returnUrl).toBe(`${stack.config.publicBaseUrl}${statusUrl(redirect.key, redirect.order.cartId)}`);
  });

  it("a return_url on the shop's origin, or a path on ours, is where the bank sends the buyer back", async () => {
    for (const [given, expected] of [
      ['https://shop.example/checkout/thank-you?order=1001', 'https://shop.example/checkout/thank-you?order=1001'],
      ['/demo?o=1', `${stack.config.publicBaseUrl}/demo?o=1`],
    ] as const) {
      const r = await ready('pm_card_authenticationRequired');
      const res = await withSettings({ 'upsells.sca_modal_enabled': false }, () => accept(stack.app, r.offer.id, r.key, { ...r.body, return_url: given }));
      expect(res.statusCode, res.body).toBe(202);
      const [intent] = server.intentsFor(r.key);
      expect(intent?.returnUrl).toBe(expected);
      expect((intent?.nextAction?.redirect_to_url as { return_url?: string } | undefined)?.return_url).toBe(expected);
      // Where the buyer comes back is not what they bought: a replay naming another page is the same request.
      const replay = await accept(stack.app, r.offer.id, r.key, { ...r.body, return_url: '/elsewhere' });
      expect(replay.statusCode).toBe(202);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(server.intentsFor(r.key)).toHaveLength(1);
    }
  });

  it('a return_url anywhere else: 400 return_url_not_allowed, nothing charged, nothing written', async () => {
    for (const given of ['https://evil.example/phish', '//evil.example/x', 'javascript:alert(1)', 'https://user:pw@shop.example/', 'http://shop.example/thank-you', 'thank-you']) {
      const { order, offer, body, key } = await ready('pm_card_visa');
      const res = await accept(stack.app, offer.id, key, { ...body, return_url: given });
      expect(res.statusCode, `${given}: ${res.body}`).toBe(400);
      expect(res.json()).toMatchObject({ status: 'rejected', accept_id: key, code: 'return_url_not_allowed' });
      expect(server.intentsFor(key)).toHaveLength(0);
      expect(await stack.prisma.accept.count({ where: { idempotencyKey: key } })).toBe(0);
      expect(await stack.prisma.order.count({ where: { parentId: order.id } })).toBe(0);
    }
  });

  it("a payment method not saved to the order's customer: 402 payment_method_unusable, and nothing is charged", async () => {
    const { order, offer, body, key } = await ready('pm_card_visa', 'another customer');
    const res = await accept(stack.app, offer.id, key, body);
    expect(res.statusCode, res.body).toBe(402);
    expect(res.json()).toMatchObject({ status: 'declined', code: 'payment_method_unusable' });
    expect(server.intentsFor(key)).toHaveLength(0);
    expect((await rowsFor(key, order.id)).payments).toHaveLength(0);
  });
});

// ---------------------------------------------------------------------------------------------

describe('without Stripe keys', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('an order paid through Stripe gets 503 gateway_not_configured, and no webhook endpoint exists', async () => {
    const { offer, body } = await readyToAccept(stack.app, { gateway: 'stripe', customerRef: `cus_${uid()}`, methodRef: `pm_${uid()}` });
    const res = await accept(stack.app, offer.id, newKey(), body);
    expect(res.statusCode, res.body).toBe(503);
    expect(res.json()).toMatchObject({ status: 'error', code: 'gateway_not_configured' });
    const hook = await stack.app.inject({ method: 'POST', url: WEBHOOK_URL, headers: { 'content-type': 'application/json' }, payload: '{}' });
    expect(hook.statusCode).toBe(404);
  });
});
