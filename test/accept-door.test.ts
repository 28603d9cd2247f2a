/**
 * At the API's door: forged tokens refused in process (no workflow, no row,
 * no rate-limit round trip); an expired token answered only from a finished accept's record; no
 * socket held past OCART_ACCEPT_WAIT_MS; outages on the status route said as 503, never 404;
 * `status: error` always a 5xx; every refusal of an accept names it.
 */
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowNotFoundError } from '@temporalio/client';
import { httpStatusFor } from '../api/routes/accept.ts';
import { ERROR_STATUS } from '../domain/errors.ts';
import { signToken } from '../domain/token.ts';
import { statusUrl } from '../workflows/messages.ts';
import { startStripeServer, type StripeTestServer } from './gateways/stripe-server.ts';
import { expectNothingCharged, sandboxCharges } from './helpers/assertions.ts';
import { pollUntil } from './helpers/poll.ts';
import { accept, readyToAccept } from './helpers/shop.ts';
import { newKey } from './helpers/ids.ts';
import { appWithOutage, startTestStack, type TestStack } from './helpers/stack.ts';

const WEBHOOK_SECRET = 'whsec_test_ocart_upsells_0123456789';
const MINUTE = 60_000;

let stripe: StripeTestServer;
let stack: TestStack;
/** Moves this stack's clock (API and worker alike), to let tokens expire without waiting. */
let clockOffsetMs = 0;

beforeAll(async () => {
  stripe = await startStripeServer();
  stack = await startTestStack({
    clock: () => new Date(Date.now() + clockOffsetMs),
    env: { STRIPE_SECRET_KEY: stripe.secretKey, STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, STRIPE_API_BASE: stripe.url },
  });
});
afterAll(async () => {
  await stack?.stop();
  await stripe?.close();
});

/** True when Temporal has no workflow under this id (a strongly consistent read, unlike list/count). */
async function noWorkflow(key: string): Promise<boolean> {
  return stack.client.workflow
    .getHandle(key)
    .describe()
    .then(
      () => false,
      (err: unknown) => {
        if (err instanceof WorkflowNotFoundError) return true;
        throw err;
      },
    );
}

async function rateLimitRows(cartId: string): Promise<number> {
  const rows = await stack.prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM rate_limits WHERE key = ${`accept-cart:${cartId}`}`;
  return rows[0]?.n ?? 0;
}

describe('refused at the door', () => {
  it('forged tokens (shape, HMAC, unknown kid, another offer, another cart) get their 4xx with no workflow, no row, no rate-limit count', async () => {
    const { order, offer, body } = await readyToAccept(stack.app);
    const other = await readyToAccept(stack.app);
    const subject = { offerId: offer.id, orderId: order.externalId, cartId: order.cartId };
    const cases: { name: string; offerId: string; body: Record<string, unknown>; status: number; code: string }[] = [
      { name: 'garbage', offerId: offer.id, body: { ...body, token: 'not-a-token' }, status: 400, code: 'token_malformed' },
      {
        name: 'wrong secret',
        offerId: offer.id,
        body: { ...body, token: signToken(subject, [{ kid: 'k2026', secret: 'attacker-guess-0123456789abcdefghijk' }], new Date(), 30).token },
        status: 401,
        code: 'token_signature_invalid',
      },
      {
        name: 'unknown kid',
        offerId: offer.id,
        body: { ...body, token: signToken(subject, [{ kid: 'nokid', secret: 'test-signing-secret-0123456789abcdefghij' }], new Date(), 30).token },
        status: 401,
        code: 'token_signature_invalid',
      },
      { name: 'another offer', offerId: other.offer.id, body, status: 403, code: 'token_mismatch' },
      { name: 'another cart', offerId: offer.id, body: { ...body, cart_id: other.order.cartId }, status: 403, code: 'token_mismatch' },
    ];
    const acceptsBefore = await stack.prisma.accept.count();
    for (const c of cases) {
      const key = newKey();
      const res = await accept(stack.app, c.offerId, key, c.body);
      expect(res.statusCode, `${c.name}: ${res.body}`).toBe(c.status);
      expect(res.json()).toMatchObject({ status: 'rejected', code: c.code, accept_id: key });
      expect(await noWorkflow(key), `${c.name}: a workflow was started`).toBe(true);
      expect(await stack.prisma.accept.count({ where: { idempotencyKey: key } })).toBe(0);
      await expectNothingCharged(stack.prisma, key);
    }
    expect(await stack.prisma.accept.count()).toBe(acceptsBefore);
    // Nothing reached the limiter's table either: a forged flood costs no database round trip.
    expect(await rateLimitRows(order.cartId)).toBe(0);
    expect(await rateLimitRows(other.order.cartId)).toBe(0);
  });

  it('an expired token: a new key is refused 410 token_expired with nothing written or started; a finished accept replayed with it gets its recorded answer', async () => {
    const { offer, body, order } = await readyToAccept(stack.app);
    const key = newKey();
    const first = await accept(stack.app, offer.id, key, body);
    expect(first.statusCode, first.body).toBe(200);
    await pollUntil(
      () => stack.prisma.accept.findUniqueOrThrow({ where: { idempotencyKey: key } }),
      (r) => r.completedAt !== null,
    );
    clockOffsetMs = 31 * MINUTE; // past the token's 30-minute lifetime
    try {
      const late = newKey();
      const refused = await accept(stack.app, offer.id, late, body);
      expect(refused.statusCode, refused.body).toBe(410);
      expect(refused.json()).toMatchObject({ status: 'rejected', code: 'token_expired', accept_id: late });
      expect(await noWorkflow(late)).toBe(true);
      expect(await stack.prisma.accept.count({ where: { idempotencyKey: late } })).toBe(0);

      const replay = await accept(stack.app, offer.id, key, body);
      expect(replay.statusCode).toBe(200);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.json()).toEqual(first.json());
      // The same key with another request (here: another cart) is not that accept's replay.
      const otherCart = await accept(stack.app, offer.id, key, { ...body, cart_id: `${order.cartId}-x` });
      expect(otherCart.statusCode).toBe(410);
      expect(otherCart.json()).toMatchObject({ code: 'token_expired', accept_id: key });
      expect(await sandboxCharges(stack.prisma, key)).toHaveLength(1);
    } finally {
      clockOffsetMs = 0;
    }
  });
});

describe('contract consistency', () => {
  it('a body that fails validation is 400 invalid_request naming the accept', async () => {
    const key = newKey();
    const res = await accept(stack.app, 'off_any', key, { token: 'x' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ status: 'rejected', code: 'invalid_request', accept_id: key });
    const unnamed = await accept(stack.app, 'off_any', 'bad key!', { token: 'x' });
    expect(unnamed.json()).toMatchObject({ code: 'idempotency_key_invalid' });
    expect(unnamed.json<{ accept_id?: string }>().accept_id).toBeUndefined();
  });

  it('status: error always comes with a 5xx, whatever its code: every code of the table, as an error, maps to 500 or above', () => {
    for (const code of Object.keys(ERROR_STATUS)) {
      expect(httpStatusFor({ status: 'error', accept_id: 'k', code, message: 'm' }), code).toBeGreaterThanOrEqual(500);
    }
    // The same codes as refusals keep their own status (currency_unsupported is 422 as a refusal).
    expect(httpStatusFor({ status: 'rejected', accept_id: 'k', code: 'currency_unsupported', message: 'm' })).toBe(422);
  });

  it('an amount the gateway cannot take (Stripe, KWD 1.234) is refused before any charge: 422 currency_unsupported, the same on the status route', async () => {
    const sdk = new Stripe(stripe.secretKey, { host: new URL(stripe.url).hostname, port: new URL(stripe.url).port, protocol: 'http', maxNetworkRetries: 0 });
    const customer = await sdk.customers.create({ email: 'buyer@example.com' });
    const method = await sdk.paymentMethods.attach('pm_card_visa', { customer: customer.id });
    const { offer, body, order } = await readyToAccept(
      stack.app,
      { gateway: 'stripe', customerRef: customer.id, methodRef: method.id, currency: 'KWD', total: 5000 },
      { currency: 'KWD', amount: 1234 },
    );
    const key = newKey();
    const res = await accept(stack.app, offer.id, key, body);
    expect(res.json()).toMatchObject({ status: 'rejected', code: 'currency_unsupported', accept_id: key });
    expect(res.statusCode).toBe(422);
    expect(stripe.intentsFor(key)).toHaveLength(0);
    const status = await pollUntil(
      () => stack.app.inject({ method: 'GET', url: statusUrl(key, order.cartId) }),
      (r) => r.json<{ status: string }>().status === 'rejected',
    );
    expect(status.statusCode).toBe(422);
  });
});

describe('the status route says an outage, never 404', () => {
  it('the database unreachable: 503 temporarily_unavailable with Retry-After', async () => {
    const { app, close } = await appWithOutage(stack, { databaseUrl: 'postgresql://nobody@127.0.0.1:9/nothing' });
    try {
      const key = newKey();
      const res = await app.inject({ method: 'GET', url: statusUrl(key, 'cart-a') });
      expect(res.statusCode, res.body).toBe(503);
      expect(res.json()).toMatchObject({ status: 'error', code: 'temporarily_unavailable', accept_id: key });
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await close();
    }
  });

  it('Temporal unreachable, for an accept still running (no final record yet): 503, not 404', async () => {
    const { app, close } = await appWithOutage(stack, { closedTemporal: true });
    try {
      const key = newKey();
      const res = await app.inject({ method: 'GET', url: statusUrl(key, 'cart-a') });
      expect(res.statusCode, res.body).toBe(503);
      expect(res.json()).toMatchObject({ code: 'temporarily_unavailable' });
      expect(res.headers['retry-after']).toBeDefined();
    } finally {
      await close();
    }
  });
});

describe('no socket held for long', () => {
  let slow: TestStack;
  beforeAll(async () => {
    // Every sandbox call takes 4 s (the method check and the charge: 8 s); the API waits 400 ms, so
    // the first call, its replay and the status read all come well before the run ends.
    slow = await startTestStack({ env: { SANDBOX_LATENCY_MS: '4000', OCART_ACCEPT_WAIT_MS: '400' } });
  });
  afterAll(async () => {
    await slow?.stop();
  });

  it('answers 202 processing with a status URL, a replay answers the same, the run goes on to one charge and one order', async () => {
    const { offer, body, order } = await readyToAccept(slow.app);
    const key = newKey();
    const started = Date.now();
    const res = await accept(slow.app, offer.id, key, body);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toEqual({ status: 'processing', accept_id: key, status_url: statusUrl(key, order.cartId) });

    const replay = await accept(slow.app, offer.id, key, body);
    expect(replay.statusCode, replay.body).toBe(202);
    expect(replay.json()).toMatchObject({ status: 'processing', accept_id: key });

    const running = await slow.app.inject({ method: 'GET', url: res.json<{ status_url: string }>().status_url });
    expect(running.statusCode).toBe(200);
    expect(running.json()).toMatchObject({ status: 'processing', accept_id: key });

    const done = await pollUntil(
      () => slow.app.inject({ method: 'GET', url: res.json<{ status_url: string }>().status_url }),
      (r) => r.json<{ status: string }>().status === 'succeeded',
      30_000,
    );
    expect(done.json()).toMatchObject({ status: 'succeeded', accept_id: key });
    const after = await accept(slow.app, offer.id, key, body);
    expect(after.statusCode).toBe(200);
    expect(after.headers['idempotent-replayed']).toBe('true');
    expect(await sandboxCharges(slow.prisma, key)).toHaveLength(1);
    expect(await slow.prisma.lineItem.count({ where: { acceptKey: key } })).toBe(1);
  });
});
