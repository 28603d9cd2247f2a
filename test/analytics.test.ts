/**
 * Offer analytics: the events the accept flow records (through the real accept, the sandbox gateway
 * and Temporal), counted once under replays.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poll } from './helpers/assertions.ts';
import { accept, auth, createOffer, mintToken, registerParentOrder } from './helpers/shop.ts';
import { newKey, startTestStack, type TestStack } from './helpers/stack.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

const patchSettings = (p: Record<string, unknown>) => stack.app.inject({ method: 'PATCH', url: '/wp-json/ocart/v1/settings', headers: auth, payload: p });

/** A fresh paid parent (with the given saved method), a token for the offer, and the accept's body. */
async function buyer(offerId: string, methodRef: string) {
  const order = await registerParentOrder(stack.app, { methodRef });
  const minted = await mintToken(stack.app, offerId, order.externalId, order.cartId);
  return { order, jti: minted.jti, body: { token: minted.token, cart_id: order.cartId } };
}

async function eventsOf(offerId: string) {
  return stack.prisma.offerEvent.findMany({ where: { offerId }, orderBy: { id: 'asc' } });
}

const statusOf = (key: string, cartId: string) => stack.app.inject({ method: 'GET', url: `/wp-json/ocart/v1/upsells/accepts/${key}?cart_id=${cartId}` });

/**
 * One offer through every accept outcome: two plain successes (one replayed twice), a declined card,
 * an SCA the buyer abandons, and an SCA the buyer completes. Returns the accept keys.
 */
async function seedOutcomes(offerId: string) {
  const ok1 = await buyer(offerId, 'pm_card_visa');
  const okKey1 = newKey();
  expect((await accept(stack.app, offerId, okKey1, ok1.body)).statusCode).toBe(200);
  for (let i = 0; i < 2; i++) {
    const replay = await accept(stack.app, offerId, okKey1, ok1.body);
    expect(replay.statusCode).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
  }
  const ok2 = await buyer(offerId, 'pm_card_visa');
  const okKey2 = newKey();
  expect((await accept(stack.app, offerId, okKey2, ok2.body)).statusCode).toBe(200);

  const declined = await buyer(offerId, 'pm_card_chargeDeclined');
  const declinedKey = newKey();
  expect((await accept(stack.app, offerId, declinedKey, declined.body)).statusCode).toBe(402);
  // A replayed decline is the same decline.
  expect((await accept(stack.app, offerId, declinedKey, declined.body)).statusCode).toBe(402);

  // The SCA timeout is taken into the accept's plan at validation: short for this one only.
  expect((await patchSettings({ 'upsells.sca_timeout_min': 0.05 })).statusCode).toBe(200);
  const abandoned = await buyer(offerId, 'pm_card_authenticationRequired');
  const abandonedKey = newKey();
  try {
    expect((await accept(stack.app, offerId, abandonedKey, abandoned.body)).statusCode).toBe(202);
  } finally {
    await patchSettings({ 'upsells.sca_timeout_min': 30 });
  }

  const sca = await buyer(offerId, 'pm_card_authenticationRequired');
  const scaKey = newKey();
  const waiting = await accept(stack.app, offerId, scaKey, sca.body);
  expect(waiting.statusCode).toBe(202);
  const chargeId = waiting.json<{ action: { client_secret: string } }>().action.client_secret.replace(/_secret$/, '');
  expect((await stack.app.inject({ method: 'POST', url: `/sandbox/authenticate/${chargeId}`, payload: { result: 'approve' } })).statusCode).toBe(200);
  const done = await poll(
    () => statusOf(scaKey, sca.order.cartId),
    (r) => r.json<{ status: string }>().status !== 'requires_action',
  );
  expect(done.json<{ status: string }>().status).toBe('succeeded');

  await stack.client.workflow.getHandle(abandonedKey).result();
  expect((await statusOf(abandonedKey, abandoned.order.cartId)).json<{ status: string }>().status).toBe('expired');
  return { okKey1, okKey2, declinedKey, abandonedKey, scaKey, buyers: { ok1, ok2, declined, abandoned, sca } };
}

describe('the accept flow records offer events', () => {
  it('accepts with revenue, a payment decline, SCA starts and an abandonment, each once whatever was replayed', async () => {
    const offer = await createOffer(stack.app, { amount: 1500 });
    const keys = await seedOutcomes(offer.id);
    const events = await poll(
      () => eventsOf(offer.id),
      (e) => e.length >= 7,
    );
    const byKind = (kind: string) =>
      events
        .filter((e) => e.kind === kind)
        .map((e) => e.sourceKey)
        .sort();
    expect(byKind('accept')).toEqual([keys.okKey1, keys.okKey2, keys.scaKey].sort());
    expect(byKind('payment_decline')).toEqual([keys.declinedKey]);
    expect(byKind('sca_started')).toEqual([keys.abandonedKey, keys.scaKey].sort());
    expect(byKind('sca_abandoned')).toEqual([keys.abandonedKey]);
    expect(events).toHaveLength(7);

    // Revenue on the accepts only, as charged (the payments say what was charged).
    const payments = await stack.prisma.payment.findMany({ where: { idempotencyKey: { in: [keys.okKey1, keys.okKey2, keys.scaKey] } } });
    expect(payments).toHaveLength(3);
    for (const e of events) {
      expect(e.currency).toBe('USD');
      if (e.kind === 'accept') expect(e.amount).toBe(payments.find((p) => p.idempotencyKey === e.sourceKey)!.amount);
      else expect(e.amount).toBeNull();
    }
    // Click to answer: on the event that carried the first answer (not the accept after 3-D Secure,
    // whose first answer was requires_action, nor the abandonment).
    const answered = (key: string, kind: string) => events.find((e) => e.sourceKey === key && e.kind === kind)!.answerMs;
    for (const [key, kind] of [
      [keys.okKey1, 'accept'],
      [keys.okKey2, 'accept'],
      [keys.declinedKey, 'payment_decline'],
      [keys.scaKey, 'sca_started'],
      [keys.abandonedKey, 'sca_started'],
    ] as const) {
      expect(answered(key, kind)).toBeGreaterThanOrEqual(0);
      expect(answered(key, kind)).toBeLessThan(15_000);
    }
    expect(answered(keys.scaKey, 'accept')).toBeNull();
    expect(answered(keys.abandonedKey, 'sca_abandoned')).toBeNull();
  });
});
