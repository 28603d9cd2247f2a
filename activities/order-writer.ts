/** Step 7-8: the order change, payment, accept record and outbox event, in one transaction. */
import type { Db, DbTx } from '../db/client.ts';
import { newId } from '../db/ids.ts';
import { toJson } from '../db/json.ts';
import type { AcceptResponse } from '../workflows/messages.ts';
import { succeededResponse } from '../workflows/responses.ts';
import type { AcceptPlan, WrittenOrder } from './types.ts';

export const ACCEPTED_EVENT = 'ocart/upsell/accepted';

/** Final statuses end the accept; requires_action is an answer, but the flow goes on. */
const FINAL = new Set(['succeeded', 'declined', 'rejected', 'error', 'expired']);

async function findEarlierWrite(tx: DbTx, acceptKey: string): Promise<WrittenOrder | null> {
  const payment = await tx.payment.findUnique({ where: { idempotencyKey: acceptKey }, include: { order: true } });
  if (!payment) return null;
  const event = await tx.outboxEvent.findUniqueOrThrow({ where: { acceptKey } });
  return {
    orderId: payment.order.id,
    orderExternalId: payment.order.externalId,
    kind: payment.order.kind === 'child' ? 'child' : 'merged',
    eventId: event.id,
  };
}

export async function writeUpsellOrder(prisma: Db, plan: AcceptPlan, chargeRef: string, now: Date): Promise<WrittenOrder> {
  return prisma.$transaction(async (tx) => {
    // A retry after a crash finds its own earlier write (the payment's key is unique).
    const earlier = await findEarlierWrite(tx, plan.acceptKey);
    if (earlier) return earlier;

    const line = { productId: plan.productId, name: plan.productName, quantity: 1, unitAmount: plan.amount.value, acceptKey: plan.acceptKey };
    let order: { id: string; externalId: string };
    if (plan.orderKind === 'merged') {
      order = await tx.order.update({
        where: { id: plan.parentOrderId },
        data: { totalAmount: { increment: plan.amount.value }, lineItems: { create: { id: newId('li'), ...line } } },
        select: { id: true, externalId: true },
      });
    } else {
      const parent = await tx.order.findUniqueOrThrow({ where: { id: plan.parentOrderId } });
      const id = newId('ord');
      order = await tx.order.create({
        data: {
          id,
          externalId: `${parent.externalId}-upsell-${id.slice(4)}`,
          kind: 'child',
          cartId: parent.cartId,
          status: 'paid',
          currency: plan.amount.currency,
          totalAmount: plan.amount.value,
          paidAt: now,
          customerEmail: parent.customerEmail,
          parentId: parent.id,
          lineItems: { create: { id: newId('li'), ...line } },
        },
        select: { id: true, externalId: true },
      });
    }

    await tx.payment.create({
      data: {
        id: newId('pay'),
        orderId: order.id,
        gateway: plan.gateway,
        gatewayRef: chargeRef,
        idempotencyKey: plan.acceptKey,
        status: 'succeeded',
        amount: plan.amount.value,
        currency: plan.amount.currency,
      },
    });

    const written: WrittenOrder = { orderId: order.id, orderExternalId: order.externalId, kind: plan.orderKind, eventId: newId('evt') };
    const response = succeededResponse(plan, written);
    const accept = await tx.accept.findUniqueOrThrow({ where: { idempotencyKey: plan.acceptKey } });
    await tx.accept.update({
      where: { idempotencyKey: plan.acceptKey },
      data: {
        status: 'succeeded',
        errorCode: null,
        gatewayRef: chargeRef,
        childOrderId: plan.orderKind === 'child' ? order.id : null,
        response: accept.response ?? toJson(response),
        state: toJson(response),
        completedAt: now,
      },
    });

    await tx.outboxEvent.create({
      data: {
        id: written.eventId,
        type: ACCEPTED_EVENT,
        acceptKey: plan.acceptKey,
        payload: toJson({
          id: written.eventId,
          type: ACCEPTED_EVENT,
          created_at: now.toISOString(),
          data: {
            accept_id: plan.acceptKey,
            offer_id: plan.offerId,
            amount: plan.amount,
            gateway: plan.gateway,
            gateway_ref: chargeRef,
            parent_order: { id: plan.parentOrderId, external_id: plan.parentExternalId },
            order: { id: order.id, external_id: order.externalId, kind: plan.orderKind },
            strategy: plan.strategy,
            fell_back_to_child: plan.fellBackToChild,
          },
        }),
      },
    });
    return written;
  });
}

export async function recordAcceptOutcome(
  prisma: Db,
  acceptKey: string,
  response: AcceptResponse,
  chargeRef: string | null,
  now: Date,
): Promise<void> {
  const accept = await prisma.accept.findUnique({ where: { idempotencyKey: acceptKey } });
  if (!accept) throw new Error(`accept ${acceptKey} has no record`);
  await prisma.accept.update({
    where: { idempotencyKey: acceptKey },
    data: {
      status: response.status,
      errorCode: 'code' in response ? response.code : null,
      ...(chargeRef ? { gatewayRef: chargeRef } : {}),
      response: accept.response ?? toJson(response),
      state: toJson(response),
      completedAt: FINAL.has(response.status) ? now : null,
    },
  });
}
