/**
 * The refund store: reserving an amount of an upsell's charge before the gateway is asked,
 * releasing it when the gateway refuses, and recording a refund the gateway took. Every write
 * locks the payment row first, so refunds of one charge are decided one at a time.
 */
import type { Db, DbTx } from './client.ts';
import type { Money } from '../contract/money.ts';
import { newId } from './ids.ts';
import { recordRefundEvent } from './offer-events.ts';
import { type Row, firstRow, onlyRow } from './rows.ts';
import { ACCEPT_STATUSES, LINE_ITEM_STATUSES, ORDER_KINDS, ORDER_STATUSES, REFUND_STATUSES } from './statuses.ts';
import { REFUNDED_EVENT, type RefundAnswer, type RefundBody, type RefundInput, type RefundedStatus, parseRefundAnswer } from '../contract/refunds.ts';

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
  /** the recorded answer; null while the refund is reserved */
  answer: RefundAnswer | null;
}

export async function findRefundRecord(db: Db, idempotencyKey: string): Promise<RefundRecordView | null> {
  const rows = await db.$queryRaw<unknown[]>`
    SELECT accept_id, fingerprint, response FROM refunds WHERE idempotency_key = ${idempotencyKey}`;
  return firstRow('refunds', rows, (r) => ({ accept_id: r.str('accept_id'), fingerprint: r.str('fingerprint'), answer: parseRefundAnswer(r.json('response')) }));
}

const refusal = (code: string, message: string): Reservation => ({ kind: 'answered', answer: { ok: false, code, message }, recorded: false });
const reused = () => refusal('idempotency_key_reused', 'this idempotency key was already used for a different request');

interface RefundRow {
  id: string;
  accept_id: string;
  fingerprint: string;
  payment_id: string;
  gateway: string;
  amount: number;
  currency: string;
  status: (typeof REFUND_STATUSES)[number];
  answer: RefundAnswer | null;
}

async function refundByKey(tx: DbTx, idempotencyKey: string): Promise<RefundRow | null> {
  const rows = await tx.$queryRaw<unknown[]>`
    SELECT id, accept_id, fingerprint, payment_id, gateway, amount, currency, status::text AS status, response FROM refunds WHERE idempotency_key = ${idempotencyKey}`;
  return firstRow('refunds', rows, (r) => ({
    id: r.str('id'),
    accept_id: r.str('accept_id'),
    fingerprint: r.str('fingerprint'),
    payment_id: r.str('payment_id'),
    gateway: r.str('gateway'),
    amount: r.int('amount'),
    currency: r.str('currency'),
    status: r.enumOf('status', REFUND_STATUSES),
    answer: parseRefundAnswer(r.json('response')),
  }));
}

/** A payment row as the refund reads it (locked FOR UPDATE by the caller's query). */
function paymentOf(r: Row) {
  return {
    id: r.str('id'),
    gateway: r.str('gateway'),
    gateway_ref: r.str('gateway_ref'),
    amount: r.int('amount'),
    currency: r.str('currency'),
    refunded_amount: r.int('refunded_amount'),
    order_id: r.str('order_id'),
  };
}

/**
 * Takes the amount out of what the charge has left, or says why not. The payment row is locked
 * (FOR UPDATE) while the check and the reserved row are written: two refunds racing for the last
 * amount are decided one after the other, and the second sees the first's reservation. Nothing is
 * written when the refund is refused. Idempotent: a retry finds its own reservation or answer.
 */
export async function reserveRefund(prisma: Db, input: RefundInput, now: Date): Promise<Reservation> {
  return prisma.$transaction(async (tx) => {
    const accept = firstRow('accepts', await tx.$queryRaw<unknown[]>`SELECT status::text AS status FROM accepts WHERE idempotency_key = ${input.acceptId}`, (r) => ({
      status: r.enumOf('status', ACCEPT_STATUSES),
    }));
    const payment = firstRow(
      'payments',
      await tx.$queryRaw<unknown[]>`
        SELECT id, gateway, gateway_ref, amount, currency, refunded_amount, order_id FROM payments WHERE idempotency_key = ${input.acceptId} FOR UPDATE`,
      paymentOf,
    );

    // Under the payment's lock: a reservation or answer of ours (a retry, or an earlier run) is found.
    const existing = await refundByKey(tx, input.idempotencyKey);
    if (existing) {
      if (existing.fingerprint !== input.fingerprint || existing.accept_id !== input.acceptId) return reused();
      if (existing.answer) return { kind: 'answered', answer: existing.answer, recorded: true };
      if (existing.status === 'reserved' && payment) {
        return { kind: 'reserved', plan: planOf(existing, input, payment.gateway_ref) };
      }
    }

    if (!accept) return refusal('accept_not_found', 'no such accept');
    if (accept.status !== 'succeeded' || !payment) {
      return refusal('not_refundable', `the accept did not succeed (${accept.status}): nothing was charged to refund`);
    }
    const reserved = onlyRow(
      'refunds',
      await tx.$queryRaw<unknown[]>`
        SELECT COALESCE(SUM(amount), 0)::bigint AS total FROM refunds WHERE payment_id = ${payment.id} AND status = 'reserved'`,
      (r) => r.int('total'),
    );
    const left = payment.amount - payment.refunded_amount - reserved;
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
  const rows = await db.$queryRaw<unknown[]>`SELECT response FROM refunds WHERE id = ${plan.refundId}`;
  return firstRow('refunds', rows, (r) => parseRefundAnswer(r.json('response'))) ?? answer;
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
    const payment = firstRow(
      'payments',
      await tx.$queryRaw<unknown[]>`
        SELECT id, gateway, gateway_ref, amount, currency, refunded_amount, order_id FROM payments WHERE id = ${plan.paymentId} FOR UPDATE`,
      paymentOf,
    );
    if (!payment) throw new Error(`payment ${plan.paymentId} of refund ${plan.refundId} does not exist`);
    const row = firstRow('refunds', await tx.$queryRaw<unknown[]>`SELECT status::text AS status, response FROM refunds WHERE id = ${plan.refundId} FOR UPDATE`, (r) => ({
      status: r.enumOf('status', REFUND_STATUSES),
      answer: parseRefundAnswer(r.json('response')),
    }));
    if (!row) throw new Error(`refund ${plan.refundId} does not exist`);
    if (row.status !== 'reserved' && row.answer) {
      const eventId = firstRow('outbox_events', await tx.$queryRaw<unknown[]>`SELECT id FROM outbox_events WHERE accept_key = ${refundEventKey(plan.refundId)}`, (r) =>
        r.str('id'),
      );
      return { answer: row.answer, eventId: eventId ?? '' };
    }

    const value = plan.amount.value;
    const refundedTotal = payment.refunded_amount + value;
    await tx.$executeRaw`
      UPDATE payments SET refunded_amount = ${refundedTotal}, status = ${statusFor(refundedTotal, payment.amount)}::payment_status, refund_ref = ${gateway.refundRef}, updated_at = ${now}
      WHERE id = ${plan.paymentId}`;
    const lineStatuses = await tx.$queryRaw<unknown[]>`
      UPDATE line_items SET refunded_amount = refunded_amount + ${value},
        status = (CASE WHEN refunded_amount + ${value} >= quantity * unit_amount THEN 'refunded' ELSE 'partially_refunded' END)::line_item_status
      WHERE accept_key = ${plan.acceptId} RETURNING status::text AS status`;
    const lineStatus = firstRow('line_items', lineStatuses, (r) => r.enumOf('status', LINE_ITEM_STATUSES));
    const orderRows = await tx.$queryRaw<unknown[]>`
      UPDATE orders SET refunded_amount = refunded_amount + ${value},
        status = CASE WHEN kind = 'child' THEN (CASE WHEN refunded_amount + ${value} >= total_amount THEN 'refunded' ELSE 'partially_refunded' END)::order_status ELSE status END,
        updated_at = ${now}
      WHERE id = ${payment.order_id} RETURNING id, external_id, kind::text AS kind, status::text AS status`;
    const order = firstRow('orders', orderRows, (r) => ({
      id: r.str('id'),
      external_id: r.str('external_id'),
      kind: r.enumOf('kind', ORDER_KINDS),
      status: r.enumOf('status', ORDER_STATUSES),
    }));
    if (!order) throw new Error(`order ${payment.order_id} of payment ${plan.paymentId} does not exist`);
    const orderKind = order.kind === 'child' ? 'child' : 'merged';
    const refundedOrder = order.status === 'refunded' || order.status === 'partially_refunded' ? order.status : null;
    if (orderKind === 'child' && !refundedOrder) throw new Error(`child order ${order.id} is ${order.status} after a refund`);
    const orderStatus: RefundedStatus = (orderKind === 'child' ? refundedOrder : lineStatus) ?? statusFor(refundedTotal, payment.amount);

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
