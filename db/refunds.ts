/**
 * The refund store: reserving an amount of an upsell's charge before the gateway is asked,
 * releasing it when the gateway refuses, and recording a refund the gateway took. Every write
 * locks the payment row first, so refunds of one charge are decided one at a time.
 */
import type { Db, DbTx, Prisma } from './client.ts';
import type { Money } from '../contract/money.ts';
import { newId } from './ids.ts';
import { recordRefundEvent } from './offer-events.ts';

import { REFUNDED_EVENT, type RefundAnswer, type RefundBody, type RefundInput, type RefundedStatus } from '../contract/refunds.ts';

/** A reserved refund, ready for the gateway. Plain JSON: it is recorded in workflow history. */
export interface RefundPlan {
  refundId: string;
  acceptId: string;
  idempotencyKey: string;
  paymentId: string;
  gateway: string;
  chargeRef: string;
  amount: Money;
}

/** `recorded`: the answer an earlier run gave under this key (a replay), not a fresh refusal. */
export type Reservation = { kind: 'reserved'; plan: RefundPlan } | { kind: 'answered'; answer: RefundAnswer; recorded: boolean };

/** What the API reads before starting anything: a finished refund under this key answers from here. */
export interface RefundRecordView {
  accept_id: string;
  fingerprint: string;
  response: Prisma.JsonValue | null;
}

export async function findRefundRecord(db: Db, idempotencyKey: string): Promise<RefundRecordView | null> {
  const rows = await db.$queryRaw<RefundRecordView[]>`
    SELECT accept_id, fingerprint, response FROM refunds WHERE idempotency_key = ${idempotencyKey}`;
  return rows[0] ?? null;
}

/** A stored answer, checked for its shape (it is JSON from the database). */
export function refundAnswerFromJson(value: Prisma.JsonValue | null): RefundAnswer | null {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const v = value as Record<string, unknown>;
  if (v.ok === true && v.body && typeof v.body === 'object') return value as unknown as RefundAnswer;
  if (v.ok === false && typeof v.code === 'string' && typeof v.message === 'string') return value as unknown as RefundAnswer;
  return null;
}

const refusal = (code: string, message: string): Reservation => ({ kind: 'answered', answer: { ok: false, code, message }, recorded: false });
const reused = () => refusal('idempotency_key_reused', 'this idempotency key was already used for a different request');

type RefundRow = {
  id: string;
  accept_id: string;
  fingerprint: string;
  payment_id: string;
  gateway: string;
  amount: number;
  currency: string;
  status: string;
  response: Prisma.JsonValue | null;
};

async function refundByKey(tx: DbTx, idempotencyKey: string): Promise<RefundRow | null> {
  const rows = await tx.$queryRaw<RefundRow[]>`
    SELECT id, accept_id, fingerprint, payment_id, gateway, amount, currency, status, response FROM refunds WHERE idempotency_key = ${idempotencyKey}`;
  return rows[0] ?? null;
}

/**
 * Takes the amount out of what the charge has left, or says why not. The payment row is locked
 * (FOR UPDATE) while the check and the reserved row are written: two refunds racing for the last
 * amount are decided one after the other, and the second sees the first's reservation. Nothing is
 * written when the refund is refused. Idempotent: a retry finds its own reservation or answer.
 */
export async function reserveRefund(prisma: Db, input: RefundInput, now: Date): Promise<Reservation> {
  return prisma.$transaction(async (tx) => {
    const accepts = await tx.$queryRaw<Array<{ status: string }>>`SELECT status FROM accepts WHERE idempotency_key = ${input.acceptId}`;
    const accept = accepts[0];
    const payments = await tx.$queryRaw<Array<{ id: string; gateway: string; gateway_ref: string; amount: number; currency: string; refunded_amount: number }>>`
      SELECT id, gateway, gateway_ref, amount, currency, refunded_amount FROM payments WHERE idempotency_key = ${input.acceptId} FOR UPDATE`;
    const payment = payments[0];

    // Under the payment's lock: a reservation or answer of ours (a retry, or an earlier run) is found.
    const existing = await refundByKey(tx, input.idempotencyKey);
    if (existing) {
      if (existing.fingerprint !== input.fingerprint || existing.accept_id !== input.acceptId) return reused();
      const answer = refundAnswerFromJson(existing.response);
      if (answer) return { kind: 'answered', answer, recorded: true };
      if (existing.status === 'reserved' && payment) {
        return { kind: 'reserved', plan: planOf(existing, input, payment.gateway_ref) };
      }
    }

    if (!accept) return refusal('accept_not_found', 'no such accept');
    if (accept.status !== 'succeeded' || !payment) {
      return refusal('not_refundable', `the accept did not succeed (${accept.status}): nothing was charged to refund`);
    }
    const reserved = await tx.$queryRaw<Array<{ total: bigint | number | null }>>`
      SELECT COALESCE(SUM(amount), 0) AS total FROM refunds WHERE payment_id = ${payment.id} AND status = 'reserved'`;
    const left = payment.amount - payment.refunded_amount - Number(reserved[0]?.total ?? 0);
    if (left <= 0) return refusal('refund_exceeds_charge', 'the charge has been refunded in full; nothing is left to refund');
    const amount = input.amount ?? left;
    if (amount > left) {
      return refusal('refund_exceeds_charge', `a refund of ${amount} is more than the ${left} the charge has left to refund (${payment.currency})`);
    }
    const id = newId('rf');
    await tx.$executeRaw`
      INSERT INTO refunds (id, accept_id, payment_id, idempotency_key, fingerprint, amount, currency, status, gateway, updated_at)
      VALUES (${id}, ${input.acceptId}, ${payment.id}, ${input.idempotencyKey}, ${input.fingerprint}, ${amount}, ${payment.currency}, 'reserved', ${payment.gateway}, ${now})`;
    return {
      kind: 'reserved',
      plan: {
        refundId: id,
        acceptId: input.acceptId,
        idempotencyKey: input.idempotencyKey,
        paymentId: payment.id,
        gateway: payment.gateway,
        chargeRef: payment.gateway_ref,
        amount: { value: amount, currency: payment.currency },
      },
    };
  });
}

function planOf(row: RefundRow, input: RefundInput, chargeRef: string): RefundPlan {
  return {
    refundId: row.id,
    acceptId: input.acceptId,
    idempotencyKey: input.idempotencyKey,
    paymentId: row.payment_id,
    gateway: row.gateway,
    chargeRef,
    amount: { value: row.amount, currency: row.currency },
  };
}

/** The gateway refused: the reservation is given back, and the refusal is this key's answer. */
export async function releaseRefund(db: Db, plan: RefundPlan, code: string, message: string, now: Date): Promise<RefundAnswer> {
  const answer: RefundAnswer = { ok: false, code, message };
  await db.$executeRaw`
    UPDATE refunds SET status = 'failed', error_code = ${code}, response = ${JSON.stringify(answer)}::json, updated_at = ${now}
    WHERE id = ${plan.refundId} AND status = 'reserved'`;
  const rows = await db.$queryRaw<Array<{ response: Prisma.JsonValue | null }>>`SELECT response FROM refunds WHERE id = ${plan.refundId}`;
  return refundAnswerFromJson(rows[0]?.response ?? null) ?? answer;
}

export interface RecordedRefund {
  answer: RefundAnswer;
  /** the ocart/upsell/refunded event in the outbox */
  eventId: string;
}

const statusFor = (refunded: number, total: number): RefundedStatus => (refunded >= total ? 'refunded' : 'partially_refunded');

/**
 * The one writer of a refund the gateway took, in one transaction: the refund row, the amount
 * refunded on the payment (its status), on the upsell's line and on its order (a child order's
 * status too; a merged parent keeps the shop's status, its line says refunded), and the outbox event.
 * A retry finds its own earlier write.
 */
export async function recordRefund(prisma: Db, plan: RefundPlan, gateway: { refundRef: string; status: 'succeeded' | 'pending' }, now: Date): Promise<RecordedRefund> {
  return prisma.$transaction(async (tx) => {
    const payments = await tx.$queryRaw<Array<{ amount: number; refunded_amount: number; order_id: string }>>`
      SELECT amount, refunded_amount, order_id FROM payments WHERE id = ${plan.paymentId} FOR UPDATE`;
    const payment = payments[0];
    if (!payment) throw new Error(`payment ${plan.paymentId} of refund ${plan.refundId} does not exist`);
    const rows = await tx.$queryRaw<Array<{ status: string; response: Prisma.JsonValue | null }>>`
      SELECT status, response FROM refunds WHERE id = ${plan.refundId} FOR UPDATE`;
    const row = rows[0];
    if (!row) throw new Error(`refund ${plan.refundId} does not exist`);
    const earlier = refundAnswerFromJson(row.response);
    if (row.status !== 'reserved' && earlier) {
      const events = await tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM outbox_events WHERE accept_key = ${refundEventKey(plan.refundId)}`;
      return { answer: earlier, eventId: events[0]?.id ?? '' };
    }

    const value = plan.amount.value;
    const refundedTotal = payment.refunded_amount + value;
    await tx.$executeRaw`
      UPDATE payments SET refunded_amount = ${refundedTotal}, status = ${statusFor(refundedTotal, payment.amount)}::payment_status, refund_ref = ${gateway.refundRef}, updated_at = ${now}
      WHERE id = ${plan.paymentId}`;
    const lines = await tx.$queryRaw<Array<{ status: RefundedStatus }>>`
      UPDATE line_items SET refunded_amount = refunded_amount + ${value},
        status = (CASE WHEN refunded_amount + ${value} >= quantity * unit_amount THEN 'refunded' ELSE 'partially_refunded' END)::line_item_status
      WHERE accept_key = ${plan.acceptId} RETURNING status`;
    const orders = await tx.$queryRaw<Array<{ id: string; external_id: string; kind: string; status: string }>>`
      UPDATE orders SET refunded_amount = refunded_amount + ${value},
        status = CASE WHEN kind = 'child' THEN (CASE WHEN refunded_amount + ${value} >= total_amount THEN 'refunded' ELSE 'partially_refunded' END)::order_status ELSE status END,
        updated_at = ${now}
      WHERE id = ${payment.order_id} RETURNING id, external_id, kind, status`;
    const order = orders[0];
    if (!order) throw new Error(`order ${payment.order_id} of payment ${plan.paymentId} does not exist`);
    const orderKind = order.kind === 'child' ? 'child' : 'merged';
    const orderStatus: RefundedStatus = orderKind === 'child' ? (order.status as RefundedStatus) : (lines[0]?.status ?? statusFor(refundedTotal, payment.amount));

    const body: RefundBody = {
      accept_id: plan.acceptId,
      refund: { id: plan.refundId, amount: plan.amount, status: gateway.status },
      refunded_total: { value: refundedTotal, currency: plan.amount.currency },
      order_status: orderStatus,
    };
    const answer: RefundAnswer = { ok: true, body };
    const eventId = newId('evt');
    const event = {
      id: eventId,
      type: REFUNDED_EVENT,
      created_at: now.toISOString(),
      data: {
        ...body,
        gateway: plan.gateway,
        gateway_ref: plan.chargeRef,
        gateway_refund_ref: gateway.refundRef,
        order: { id: order.id, external_id: order.external_id, kind: orderKind },
      },
    };
    await tx.$executeRaw`
      INSERT INTO outbox_events (id, type, accept_key, payload) VALUES (${eventId}, ${REFUNDED_EVENT}, ${refundEventKey(plan.refundId)}, ${JSON.stringify(event)}::jsonb)`;
    await recordRefundEvent(tx, plan.acceptId, plan.refundId, plan.amount, now);
    await tx.$executeRaw`
      UPDATE refunds SET status = ${gateway.status}::refund_status, gateway_ref = ${gateway.refundRef}, response = ${JSON.stringify(answer)}::json, updated_at = ${now}
      WHERE id = ${plan.refundId}`;
    return { answer, eventId };
  });
}

/**
 * The outbox's unique accept_key holds one event per accept; a refund's event is keyed by the
 * refund instead (an accept may have several refunds). The payload names the accept.
 */
export function refundEventKey(refundId: string): string {
  return `refund/${refundId}`;
}
