/**
 * The accept record's reads and writes, and the order write that ends a charged accept, as
 * parameterised SQL. The accept's activities run them on the pg pool (db/sql.ts), without Prisma's
 * runtime; a Prisma client runs them too. Rows are parsed (db/rows.ts), and every timestamp written
 * is the caller's `now`.
 */
import type { Db } from './client.ts';
import type { Sql, SqlDb } from './sql.ts';
import { newId } from './ids.ts';
import { firstRow, onlyRow } from './rows.ts';
import { ORDER_KINDS, ORDER_STATUSES } from './statuses.ts';
import { acceptEventKind, recordAcceptEvent } from './offer-events.ts';
import { loadSettings } from './settings-store.ts';
import { decideOrderAtWrite } from '../domain/order-strategy.ts';
import { parseAcceptPlan } from '../contract/records.ts';
import { isFinalStatus, succeededResponse } from '../contract/answers.ts';
import type { AcceptInput, AcceptPlan, AcceptResponse, WrittenOrder } from '../contract/accept.ts';

export const ACCEPTED_EVENT = 'ocart/upsell/accepted';

/** The order cannot be written for a reason no retry will change (the parent order is gone). */
export class OrderWriteRefusedError extends Error {
  override name = 'OrderWriteRefusedError';
}

/**
 * The accept record as validation leaves it, holding the validated plan (findRecordedPlan reads it
 * back on a re-run); a retry finds its own row and updates it, and the first plan recorded stays.
 */
export async function upsertValidatedAccept(db: Sql, input: AcceptInput, plan: AcceptPlan, now: Date): Promise<void> {
  const at = now.toISOString();
  await db.$executeRaw`
    INSERT INTO accepts (idempotency_key, fingerprint, offer_id, cart_id, parent_order_id, status, gateway, amount, currency, validated_plan, created_at, updated_at)
    VALUES (${input.acceptKey}, ${input.fingerprint}, ${input.offerId}, ${input.cartId}, ${plan.parentOrderId}, 'processing',
            ${plan.gateway}, ${plan.amount.value}, ${plan.amount.currency}, ${JSON.stringify(plan)}::jsonb, ${at}::timestamp(3), ${at}::timestamp(3))
    ON CONFLICT (idempotency_key) DO UPDATE
      SET parent_order_id = EXCLUDED.parent_order_id, gateway = EXCLUDED.gateway,
          amount = EXCLUDED.amount, currency = EXCLUDED.currency,
          validated_plan = COALESCE(accepts.validated_plan, EXCLUDED.validated_plan), updated_at = EXCLUDED.updated_at`;
}

/**
 * The validated plan as recorded at validation's first success (upsertValidatedAccept), read back
 * when the accept's first workflow task runs again. Validation, the method check and the charge run
 * as local activities in one workflow task, so a worker that dies after the charge makes the whole
 * task run again: it must charge and write with the plan it charged with, never re-check a token
 * that has expired since, or a price that has changed since, and refuse an accept that was charged.
 */
export interface RecordedPlan {
  plan: AcceptPlan;
  /** the gateway accepted the saved method for this plan (a charge may have followed) */
  methodChecked: boolean;
}

/**
 * This accept's recorded plan, or null before validation first succeeded. Same key and same request
 * only, and only while the accept is open: a closed accept's plan is never reused to charge again.
 */
export async function findRecordedPlan(db: Sql, input: Pick<AcceptInput, 'acceptKey' | 'fingerprint'>): Promise<RecordedPlan | null> {
  const rows = await db.$queryRaw<unknown[]>`
    SELECT validated_plan, method_checked_at IS NOT NULL AS method_checked FROM accepts
    WHERE idempotency_key = ${input.acceptKey} AND fingerprint = ${input.fingerprint} AND validated_plan IS NOT NULL
      AND completed_at IS NULL`;
  return firstRow('accepts', rows, (r) => ({ plan: parseAcceptPlan(r.json('validated_plan')), methodChecked: r.bool('method_checked') }));
}

/** Recorded before the charge can start: a re-run after it skips the check as well. */
export async function markMethodChecked(db: Sql, acceptKey: string, now: Date): Promise<void> {
  const at = now.toISOString();
  await db.$executeRaw`
    UPDATE accepts SET method_checked_at = ${at}::timestamp(3), updated_at = ${at}::timestamp(3)
    WHERE idempotency_key = ${acceptKey} AND method_checked_at IS NULL`;
}

/** Reconciliation refunded a charge of this accept that had no order: the first refund's time stays. */
export async function recordReconciledRefund(db: Db, acceptKey: string, refundRef: string, now: Date): Promise<void> {
  const at = now.toISOString();
  await db.$executeRaw`
    UPDATE accepts SET refund_ref = ${refundRef}, refunded_at = COALESCE(refunded_at, ${at}::timestamp(3)), updated_at = ${at}::timestamp(3)
    WHERE idempotency_key = ${acceptKey}`;
}

/**
 * Records an answer. The first answer ever recorded stays in `response` (replays return it);
 * `state` follows the flow. Creates the record when validation refused the accept before writing it.
 */
export async function recordAcceptOutcome(
  db: Sql,
  input: Pick<AcceptInput, 'acceptKey' | 'fingerprint' | 'offerId' | 'cartId'>,
  response: AcceptResponse,
  chargeRef: string | null,
  now: Date,
): Promise<void> {
  const json = JSON.stringify(response);
  const code = 'code' in response ? response.code : null;
  const completedAt = isFinalStatus(response.status) ? now : null;
  const at = now.toISOString();
  await db.$executeRaw`
    INSERT INTO accepts (idempotency_key, fingerprint, offer_id, cart_id, status, error_code, gateway_ref, response, state, completed_at, created_at, updated_at)
    VALUES (${input.acceptKey}, ${input.fingerprint}, ${input.offerId}, ${input.cartId}, ${response.status}::accept_status, ${code}, ${chargeRef},
            ${json}::json, ${json}::json, ${completedAt?.toISOString() ?? null}::timestamp(3), ${at}::timestamp(3), ${at}::timestamp(3))
    ON CONFLICT (idempotency_key) DO UPDATE
      SET status = EXCLUDED.status, error_code = EXCLUDED.error_code,
          gateway_ref = COALESCE(EXCLUDED.gateway_ref, accepts.gateway_ref),
          response = COALESCE(accepts.response, EXCLUDED.response),
          state = EXCLUDED.state, completed_at = EXCLUDED.completed_at, updated_at = EXCLUDED.updated_at
      -- A finished accept stays finished: a late or stray attempt never moves it back.
      WHERE accepts.completed_at IS NULL`;
  // Offer analytics: a payment decline, an SCA start or abandonment (once per accept).
  const eventKind = acceptEventKind(response.status);
  if (eventKind && eventKind !== 'accept') await recordAcceptEvent(db, eventKind, input.acceptKey, now);
}

function parentGone(plan: AcceptPlan): never {
  throw new OrderWriteRefusedError(`parent order ${plan.parentOrderId} no longer exists`);
}

/**
 * Step 7-8: the order change, payment, accept record, outbox event and analytics event, in one
 * transaction of two statements: the parent locked (with any earlier write of this accept read in the
 * same round trip), then every write at once.
 */
export async function writeUpsellOrder(
  db: SqlDb,
  input: Pick<AcceptInput, 'acceptKey' | 'fingerprint' | 'offerId' | 'cartId'>,
  plan: AcceptPlan,
  chargeRef: string,
  now: Date,
): Promise<WrittenOrder> {
  return db.$transaction(async (tx) => {
    // Merge or child is decided here, with the parent row locked until commit: validation's choice
    // may be minutes old (3-D Secure), and the shop's PUT of the order takes the same lock, so the
    // status and paid_at read here still hold when the total grows. A retry after a crash finds its
    // own earlier write (the payment's key is unique) and returns it, even when the parent has gone
    // since: one row comes back either way, with the parent's columns null when it is gone.
    const locked = await tx.$queryRaw<unknown[]>`
      WITH parent AS (
        SELECT external_id, status, paid_at FROM orders WHERE id = ${plan.parentOrderId} FOR UPDATE
      ), earlier AS (
        SELECT p.order_id, o.external_id, o.kind, e.id AS event_id, (e.payload->'data'->>'fell_back_to_child')::boolean AS fell_back
        FROM payments p JOIN orders o ON o.id = p.order_id JOIN outbox_events e ON e.accept_key = p.idempotency_key
        WHERE p.idempotency_key = ${plan.acceptKey}
        LIMIT 1
      )
      SELECT parent.external_id AS parent_external_id, parent.status AS parent_status, parent.paid_at AS parent_paid_at,
             earlier.order_id AS earlier_order_id, earlier.external_id AS earlier_external_id, earlier.kind AS earlier_kind,
             earlier.event_id AS earlier_event_id, earlier.fell_back AS earlier_fell_back
      FROM (SELECT 1) one LEFT JOIN parent ON true LEFT JOIN earlier ON true`;
    const found = onlyRow('orders', locked, (r) => ({
      parent:
        r.strOrNull('parent_external_id') === null
          ? null
          : { externalId: r.str('parent_external_id'), status: r.enumOf('parent_status', ORDER_STATUSES), paidAt: r.dateOrNull('parent_paid_at') },
      earlier:
        r.strOrNull('earlier_order_id') === null
          ? null
          : ({
              orderId: r.str('earlier_order_id'),
              orderExternalId: r.str('earlier_external_id'),
              kind: r.enumOf('earlier_kind', ORDER_KINDS) === 'child' ? 'child' : 'merged',
              eventId: r.str('earlier_event_id'),
              fellBackToChild: r.boolOrNull('earlier_fell_back') ?? false,
            } satisfies WrittenOrder),
    }));
    if (found.earlier) return found.earlier;
    const parent = found.parent ?? parentGone(plan);

    const cutoffMin = plan.strategy === 'merge' ? (await loadSettings(tx))['upsells.merge_cutoff_min'] : 0;
    const decision = decideOrderAtWrite(plan.strategy, parent, cutoffMin, now);
    const at = now.toISOString();
    const { value, currency } = plan.amount;
    const child = decision.orderKind === 'child';
    const childId = newId('ord');
    const order = child ? { id: childId, external_id: `${parent.externalId}-upsell-${childId.slice(4)}` } : { id: plan.parentOrderId, external_id: parent.externalId };
    const eventId = newId('evt');
    const written: WrittenOrder = {
      orderId: order.id,
      orderExternalId: order.external_id,
      kind: decision.orderKind,
      eventId,
      fellBackToChild: decision.fellBackToChild,
    };
    const response = succeededResponse(plan, written);
    const event = {
      id: eventId,
      type: ACCEPTED_EVENT,
      created_at: now.toISOString(),
      data: {
        accept_id: plan.acceptKey,
        offer_id: plan.offerId,
        amount: plan.amount,
        gateway: plan.gateway,
        gateway_ref: chargeRef,
        parent_order: { id: plan.parentOrderId, external_id: plan.parentExternalId },
        order: { id: order.id, external_id: order.external_id, kind: decision.orderKind },
        strategy: plan.strategy,
        fell_back_to_child: decision.fellBackToChild,
        fell_back_reason: decision.fellBackReason,
      },
    };
    const responseJson = JSON.stringify(response);
    // One statement: its parts see the rows as they were before it (the accept record as validation
    // left it), and the line's and payment's foreign keys are checked once the child order is in.
    // The analytics event is recordAcceptEvent's `accept` row: the accept record is `succeeded` once
    // this commits, and the answer time counts when this is the accept's first answer.
    await tx.$executeRaw`
      WITH child_order AS (
        INSERT INTO orders (id, external_id, kind, cart_id, status, currency, total_amount, paid_at, customer_email, parent_id, created_at, updated_at)
        SELECT ${order.id}, ${order.external_id}, 'child', p.cart_id, 'paid', ${currency}, ${value}, ${at}::timestamp(3), p.customer_email, p.id,
               ${at}::timestamp(3), ${at}::timestamp(3)
        FROM orders p WHERE p.id = ${plan.parentOrderId} AND ${child}::boolean
      ), merged_order AS (
        UPDATE orders SET total_amount = total_amount + ${value}, updated_at = ${at}::timestamp(3)
        WHERE id = ${plan.parentOrderId} AND NOT ${child}::boolean
      ), line AS (
        INSERT INTO line_items (id, order_id, product_id, name, quantity, unit_amount, accept_key, created_at)
        VALUES (${newId('li')}, ${order.id}, ${plan.productId}, ${plan.productName}, 1, ${value}, ${plan.acceptKey}, ${at}::timestamp(3))
      ), payment AS (
        INSERT INTO payments (id, order_id, gateway, gateway_ref, idempotency_key, status, amount, currency, created_at, updated_at)
        VALUES (${newId('pay')}, ${order.id}, ${plan.gateway}, ${chargeRef}, ${plan.acceptKey}, 'succeeded', ${value}, ${currency}, ${at}::timestamp(3), ${at}::timestamp(3))
      ), outbox AS (
        INSERT INTO outbox_events (id, type, accept_key, payload, created_at)
        VALUES (${eventId}, ${ACCEPTED_EVENT}, ${plan.acceptKey}, ${JSON.stringify(event)}::jsonb, ${at}::timestamp(3))
      ), analytics AS (
        INSERT INTO offer_events (offer_id, kind, source_key, amount, currency, answer_ms, occurred_at)
        SELECT ${plan.offerId}, 'accept'::offer_event_kind, ${plan.acceptKey}, ${value}, ${currency},
               CASE WHEN a.response IS NULL OR a.response->>'status' = 'succeeded'
                    THEN GREATEST(0, round(extract(epoch FROM (${at}::timestamptz - a.created_at::timestamptz)) * 1000))::int END,
               ${at}::timestamptz
        FROM (SELECT 1) one LEFT JOIN accepts a ON a.idempotency_key = ${plan.acceptKey}
        ON CONFLICT (kind, source_key) DO NOTHING
      )
      INSERT INTO accepts (idempotency_key, fingerprint, offer_id, cart_id, parent_order_id, status, gateway, gateway_ref, amount, currency,
                           child_order_id, response, state, completed_at, created_at, updated_at)
      VALUES (${input.acceptKey}, ${input.fingerprint}, ${input.offerId}, ${input.cartId}, ${plan.parentOrderId}, 'succeeded', ${plan.gateway},
              ${chargeRef}, ${value}, ${currency}, ${child ? order.id : null}, ${responseJson}::json, ${responseJson}::json, ${at}::timestamp(3), ${at}::timestamp(3), ${at}::timestamp(3))
      ON CONFLICT (idempotency_key) DO UPDATE
        SET status = 'succeeded', error_code = NULL, gateway_ref = EXCLUDED.gateway_ref, child_order_id = EXCLUDED.child_order_id,
            response = COALESCE(accepts.response, EXCLUDED.response), state = EXCLUDED.state,
            completed_at = EXCLUDED.completed_at, updated_at = EXCLUDED.updated_at`;
    return written;
  });
}

/** Accepts waiting for the buyer to authenticate (open, requires_action): a worker metric. */
export async function countWaitingForBuyer(db: Db): Promise<number> {
  const rows = await db.$queryRaw<unknown[]>`
    SELECT count(*)::int AS waiting FROM accepts WHERE status = 'requires_action' AND completed_at IS NULL`;
  return onlyRow('accepts', rows, (r) => r.int('waiting'));
}
