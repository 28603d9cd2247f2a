/**
 * Merge is decided when the order is written (the parent row
 * locked), and the shop's PUT of an order never erases a merge. The worker and the API share a clock
 * the test moves, so "75 s after payment" is real to the order write without waiting 75 s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxCharges } from './helpers/assertions.ts';
import { pollUntil } from './helpers/poll.ts';
import { accept, auth, createOffer, mintToken, readyToAccept, registerParentOrder } from './helpers/shop.ts';
import { newKey } from './helpers/ids.ts';
import { parentOrderBody, parentOrderPath } from './helpers/parent-order.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

let stack: TestStack;
let clockOffsetMs = 0;
beforeAll(async () => {
  stack = await startTestStack({ clock: () => new Date(Date.now() + clockOffsetMs) });
});
afterAll(async () => {
  await stack?.stop();
});

async function patchSettings(patch: Record<string, unknown>) {
  const res = await stack.app.inject({ method: 'PATCH', url: '/wp-json/ocart/v1/settings', headers: auth, payload: patch });
  expect(res.statusCode, res.body).toBe(200);
}

const statusOf = (key: string, cartId: string) => stack.app.inject({ method: 'GET', url: `/wp-json/ocart/v1/upsells/accepts/${key}?cart_id=${cartId}` });

/** Accepts with a card that asks for 3-D Secure; returns the sandbox charge to approve later. */
async function acceptAwaitingSca(offerId: string, body: Record<string, unknown>) {
  const key = newKey();
  const res = await accept(stack.app, offerId, key, body);
  expect(res.statusCode, res.body).toBe(202);
  return { key, chargeId: String(res.json<{ action: { client_secret: string } }>().action.client_secret).replace(/_secret$/, '') };
}

async function approveSca(chargeId: string, key: string, cartId: string) {
  const approve = await stack.app.inject({ method: 'POST', url: `/sandbox/authenticate/${chargeId}`, payload: { result: 'approve' } });
  expect(approve.json()).toMatchObject({ status: 'succeeded' });
  const done = await pollUntil(
    () => statusOf(key, cartId),
    (r) => r.json<{ status: string }>().status !== 'requires_action' && r.json<{ status: string }>().status !== 'processing',
  );
  expect(done.statusCode, done.body).toBe(200);
  return done.json<{ order: { id: string } }>();
}

async function eventData(key: string) {
  const event = await stack.prisma.outboxEvent.findUniqueOrThrow({ where: { acceptKey: key } });
  return (event.payload as { data: Record<string, unknown> }).data;
}

describe('merge is decided at write time', () => {
  it('3-D Secure finished 75 s after payment with a 1-minute cutoff: a child order, fell_back_to_child, merge_cutoff_passed', async () => {
    await patchSettings({ 'upsells.merge_cutoff_min': 1 });
    try {
      const { order, offer, body } = await readyToAccept(stack.app, { methodRef: 'pm_card_authenticationRequired', total: 5000 }, { orderStrategy: 'merge', amount: 1200 });
      // Validated at once: within the cutoff, so validation plans a merge.
      const { key, chargeId } = await acceptAwaitingSca(offer.id, body);
      clockOffsetMs = 75_000;
      const done = await approveSca(chargeId, key, order.cartId);

      expect(done).toMatchObject({ status: 'succeeded', strategy: 'merge', order: { kind: 'child' }, fell_back_to_child: true });
      const parent = await stack.prisma.order.findUniqueOrThrow({ where: { id: order.id }, include: { lineItems: true, children: true } });
      expect(parent.totalAmount).toBe(5000);
      expect(parent.lineItems.filter((li) => li.acceptKey)).toHaveLength(0);
      expect(parent.children.map((c) => [c.id, c.totalAmount, c.status])).toEqual([[done.order.id, 1200, 'paid']]);
      expect(await eventData(key)).toMatchObject({ fell_back_to_child: true, fell_back_reason: 'merge_cutoff_passed', order: { kind: 'child' } });
      expect(await stack.prisma.accept.findUniqueOrThrow({ where: { idempotencyKey: key } })).toMatchObject({ childOrderId: done.order.id });
      expect(await sandboxCharges(stack.prisma, key)).toHaveLength(1);
    } finally {
      clockOffsetMs = 0;
      await patchSettings({ 'upsells.merge_cutoff_min': 5 });
    }
  });

  it('the shop refunds the parent while the buyer is at the bank: never merged into it; a child order, parent_not_paid', async () => {
    const { order, offer, body } = await readyToAccept(stack.app, { methodRef: 'pm_card_authenticationRequired', total: 5000 }, { orderStrategy: 'merge', amount: 1200 });
    const { key, chargeId } = await acceptAwaitingSca(offer.id, body);
    await registerParentOrder(stack.app, { externalId: order.externalId, cartId: order.cartId, status: 'refunded', total: 5000, methodRef: 'pm_card_authenticationRequired' });
    const done = await approveSca(chargeId, key, order.cartId);

    expect(done).toMatchObject({ status: 'succeeded', order: { kind: 'child' }, fell_back_to_child: true });
    const parent = await stack.prisma.order.findUniqueOrThrow({ where: { id: order.id }, include: { lineItems: true, children: true } });
    expect(parent).toMatchObject({ status: 'refunded', totalAmount: 5000 });
    expect(parent.lineItems.filter((li) => li.acceptKey)).toHaveLength(0);
    expect(parent.children.map((c) => c.totalAmount)).toEqual([1200]);
    expect(await eventData(key)).toMatchObject({ fell_back_to_child: true, fell_back_reason: 'parent_not_paid' });
  });

  it('within the cutoff and still paid: merged, and the event says it did not fall back', async () => {
    const { order, offer, body } = await readyToAccept(stack.app, { total: 5000 }, { orderStrategy: 'merge', amount: 1200 });
    const key = newKey();
    const res = await accept(stack.app, offer.id, key, body);
    expect(res.json()).toMatchObject({ order: { id: order.id, kind: 'merged' }, fell_back_to_child: false });
    expect((await stack.prisma.order.findUniqueOrThrow({ where: { id: order.id } })).totalAmount).toBe(6200);
    expect(await eventData(key)).toMatchObject({ fell_back_to_child: false, fell_back_reason: null });
  });
});

describe("the shop's PUT /orders/{id} never erases a merge", () => {
  it('50 rounds of PUTs racing a merge: the total is always the sum of the stored lines', async () => {
    const offer = await createOffer(stack.app, { orderStrategy: 'merge', amount: 1200 });
    const lost: string[] = [];
    let overlapping = 0;
    for (let round = 0; round < 50; round++) {
      const paidAt = new Date();
      const order = await registerParentOrder(stack.app, { total: 5000, paidAt });
      const { token } = await mintToken(stack.app, offer.id, order.externalId, order.cartId);
      const put = () =>
        stack.app.inject({
          method: 'PUT',
          url: parentOrderPath(order.externalId),
          headers: auth,
          payload: parentOrderBody({ cartId: order.cartId, total: 5000, paidAt }),
        });
      // The shop keeps updating the order for as long as the accept runs.
      let accepting = true;
      const accepted = accept(stack.app, offer.id, newKey(), { token, cart_id: order.cartId }).finally(() => {
        accepting = false;
      });
      const puts = (async () => {
        let n = 0;
        while (accepting) {
          const r = await put();
          expect(r.statusCode, r.body).toBe(200);
          n++;
        }
        return n;
      })();
      const [res, n] = await Promise.all([accepted, puts]);
      expect(res.json()).toMatchObject({ status: 'succeeded', order: { kind: 'merged' } });
      if (n > 1) overlapping++;

      const stored = await stack.prisma.order.findUniqueOrThrow({ where: { id: order.id }, include: { lineItems: true } });
      const sum = stored.lineItems.reduce((t, li) => t + li.quantity * li.unitAmount, 0);
      expect(stored.lineItems.filter((li) => li.acceptKey)).toHaveLength(1);
      if (stored.totalAmount !== sum) lost.push(`round ${round}: total ${stored.totalAmount}, lines ${sum}`);
    }
    // Proof that the race was run: PUTs were in flight across the merges.
    expect(overlapping).toBeGreaterThan(40);
    expect(lost).toEqual([]);
  });
});
