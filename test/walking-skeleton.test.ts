import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accept, readyToAccept } from './helpers/shop.ts';
import { newKey } from './helpers/ids.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe('walking skeleton: HTTP -> Temporal -> worker -> PostgreSQL', () => {
  it('an accepted offer charges once and writes the order, payment, accept record and outbox event', async () => {
    const { app, prisma } = stack;
    const { order, offer, body } = await readyToAccept(app);
    const key = newKey();

    const res = await accept(app, offer.id, key, body);
    expect(res.statusCode, res.body).toBe(200);
    const json = res.json<{ order: { id: string } }>();
    expect(json).toMatchObject({
      status: 'succeeded',
      accept_id: key,
      offer_id: offer.id,
      amount: { value: 1500, currency: 'USD' },
      parent_order: { id: order.id, external_id: order.externalId },
      order: { kind: 'child' },
      strategy: 'child',
      fell_back_to_child: false,
    });

    const child = await prisma.order.findUniqueOrThrow({ where: { id: json.order.id }, include: { lineItems: true, payments: true } });
    expect(child).toMatchObject({ kind: 'child', parentId: order.id, status: 'paid', totalAmount: 1500, currency: 'USD', cartId: order.cartId });
    expect(child.lineItems).toHaveLength(1);
    expect(child.payments).toEqual([expect.objectContaining({ gateway: 'sandbox', idempotencyKey: key, status: 'succeeded', amount: 1500 })]);

    const record = await prisma.accept.findUniqueOrThrow({ where: { idempotencyKey: key } });
    expect(record).toMatchObject({ status: 'succeeded', childOrderId: child.id, offerId: offer.id, parentOrderId: order.id });
    expect(record.response).toEqual(json);

    const event = await prisma.outboxEvent.findUniqueOrThrow({ where: { acceptKey: key } });
    expect(event.type).toBe('ocart/upsell/accepted');
    expect(event.payload).toMatchObject({ data: { parent_order: { external_id: order.externalId }, order: { id: child.id } } });

    const charges = await prisma.sandboxCharge.findMany({ where: { metadata: { path: ['workflow_id'], equals: key } } });
    expect(charges).toHaveLength(1);
  });

  it('the same idempotency key sent twice yields one charge and the same response', async () => {
    const { app, prisma } = stack;
    const { offer, body } = await readyToAccept(app);
    const key = newKey();

    const first = await accept(app, offer.id, key, body);
    const second = await accept(app, offer.id, key, body);
    expect(first.statusCode).toBe(200);
    expect(second.statusCode).toBe(200);
    expect(second.json()).toEqual(first.json());
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();

    const charges = await prisma.sandboxCharge.count({ where: { metadata: { path: ['workflow_id'], equals: key } } });
    expect(charges).toBe(1);
    expect(await prisma.payment.count({ where: { idempotencyKey: key } })).toBe(1);
  });
});
