/**
 * The accept's hot-path reads and writes, as parameterised SQL through Prisma's $queryRaw.
 * Prisma 6.19's query compiler (the only engine that runs offline here) spends 3-15 ms planning each
 * model query; these run in about 0.5 ms. Everything else in the service uses the Prisma models.
 */
import type { Db, DbTx } from './client.ts';
import { newId } from './ids.ts';
import { acceptEventKind, recordAcceptEvent } from './offer-events.ts';
import { loadSettings } from './settings-store.ts';
import { decideOrderAtWrite } from '../domain/order-strategy.ts';
import type { AcceptInput, AcceptResponse } from '../workflows/messages.ts';
import { succeededResponse } from '../workflows/responses.ts';
import type { AcceptPlan, WrittenOrder } from '../activities/types.ts';

export const ACCEPTED_EVENT = 'ocart/upsell/accepted';

/** The order cannot be written for a reason no retry will change (the parent order is gone). */
export class OrderWriteRefusedError extends Error {
  override name = 'OrderWriteRefusedError';
}

/** Final statuses end the accept; requires_action is an answer, but the flow goes on. */
const FINAL = new Set(['succeeded', 'declined', 'rejected', 'error', 'expired']);

export interface OfferRow {
  id: string;
  product_id: string;
  name: string;
  amount: number;
  currency: string;
  active: boolean;
  starts_at: Date | null;
  ends_at: Date | null;
  eligibility: unknown;
  order_strategy: string | null;
  max_per_order: number;
}

export interface ParentRow {
  id: string;
  external_id: string;
  kind: string;
  cart_id: string;
  status: string;
  currency: string;
  total_amount: number;
  paid_at: Date | null;
  customer_email: string | null;
  gateway: string | null;
  customer_ref: string | null;
  method_ref: string | null;
  product_ids: string[];
}

export async function findOffer(db: Db, offerId: string): Promise<OfferRow | null> {
  const rows = await db.$queryRaw<OfferRow[]>`
    SELECT id, product_id, name, amount, currency, active, starts_at, ends_at, eligibility, order_strategy, max_per_order
    FROM offers WHERE id = ${offerId}`;
  return rows[0] ?? null;
}

export async function findParentOrder(db: Db, externalId: string): Promise<ParentRow | null> {
  const rows = await db.$queryRaw<ParentRow[]>`
    SELECT o.id, o.external_id, o.kind, o.cart_id, o.status, o.currency, o.total_amount, o.paid_at, o.customer_email,
           m.gateway, m.customer_ref, m.method_ref,
           COALESCE((SELECT array_agg(li.product_id) FROM line_items li WHERE li.order_id = o.id), '{}') AS product_ids
    FROM orders o LEFT JOIN saved_payment_methods m ON m.order_id = o.id
    WHERE o.external_id = ${externalId}`;
  return rows[0] ?? null;
}

/** One unique insert. Returns the key that burned the jti: this accept's, or an earlier one's. */
export async function burnJti(db: Db | DbTx, jti: string, acceptKey: string): Promise<string> {
  const rows = await db.$queryRaw<Array<{ accept_key: string }>>`
    WITH burned AS (
      INSERT INTO burned_tokens (jti, accept_key) VALUES (${jti}, ${acceptKey})
      ON CONFLICT (jti) DO NOTHING RETURNING accept_key
    )
    SELECT accept_key FROM burned
    UNION ALL
    SELECT accept_key FROM burned_tokens WHERE jti = ${jti} AND NOT EXISTS (SELECT 1 FROM burned)`;
  return rows[0]!.accept_key;
}

/**
 * Takes one of the offer's max_per_order slots for this parent, for this accept; false when every
 * slot is held by other accepts. The unique (parent_order_id, offer_id, slot) decides, not the read:
 * two accepts that both see slot 1 free both insert it, one waits for the other's commit and gets
 * nothing, and tries the next free slot. A retry of the same accept finds its own claim.
 */
export async function claimOfferSlot(db: Db | DbTx, parentOrderId: string, offerId: string, maxPerOrder: number, acceptKey: string): Promise<boolean> {
  // Each round either takes a slot, finds this accept's own claim, finds every slot taken, or lost
  // a slot to a concurrent accept that committed (which fills one slot more): max + 1 rounds bound it.
  for (let round = 0; round <= maxPerOrder; round++) {
    const rows = await db.$queryRaw<Array<{ outcome: 'taken' | 'own' | 'full' | 'lost' }>>`
      WITH own AS (
        SELECT 1 FROM offer_claims WHERE accept_key = ${acceptKey}
      ), free AS (
        SELECT s AS slot FROM generate_series(1, ${maxPerOrder}::int) s
        WHERE NOT EXISTS (SELECT 1 FROM own)
          AND NOT EXISTS (SELECT 1 FROM offer_claims c WHERE c.parent_order_id = ${parentOrderId} AND c.offer_id = ${offerId} AND c.slot = s)
        LIMIT 1
      ), taken AS (
        INSERT INTO offer_claims (accept_key, parent_order_id, offer_id, slot)
        SELECT ${acceptKey}, ${parentOrderId}, ${offerId}, slot FROM free
        ON CONFLICT DO NOTHING RETURNING slot
      )
      SELECT CASE WHEN EXISTS (SELECT 1 FROM own) THEN 'own'
                  WHEN EXISTS (SELECT 1 FROM taken) THEN 'taken'
                  WHEN NOT EXISTS (SELECT 1 FROM free) THEN 'full'
                  ELSE 'lost' END AS outcome`;
    const outcome = rows[0]!.outcome;
    if (outcome === 'own' || outcome === 'taken') return true;
    if (outcome === 'full') return false;
  }
  return false;
}

/**
 * Gives the accept's slot back once it ended with no charge standing, so the buyer can try again.
 * Never while a payment for the accept exists: a stray recording of a failure after the order was
 * written must not free the offer a second time.
 */
export async function releaseOfferClaim(db: Db, acceptKey: string): Promise<void> {
  await db.$executeRaw`
    DELETE FROM offer_claims
    WHERE accept_key = ${acceptKey} AND NOT EXISTS (SELECT 1 FROM payments WHERE idempotency_key = ${acceptKey})`;
}

/**
 * The accept record as validation leaves it, holding the validated plan (recorded-plan.ts reads it
 * back on a re-run); a retry finds its own row and updates it, and the first plan recorded stays.
 */
export async function upsertValidatedAccept(db: Db, input: AcceptInput, plan: AcceptPlan): Promise<void> {
  await db.$executeRaw`
    INSERT INTO accepts (idempotency_key, fingerprint, offer_id, cart_id, parent_order_id, status, gateway, amount, currency, validated_plan, updated_at)
    VALUES (${input.acceptKey}, ${input.fingerprint}, ${input.offerId}, ${input.cartId}, ${plan.parentOrderId}, 'processing',
            ${plan.gateway}, ${plan.amount.value}, ${plan.amount.currency}, ${JSON.stringify(plan)}::jsonb, now())
    ON CONFLICT (idempotency_key) DO UPDATE
      SET parent_order_id = EXCLUDED.parent_order_id, gateway = EXCLUDED.gateway,
          amount = EXCLUDED.amount, currency = EXCLUDED.currency,
          validated_plan = COALESCE(accepts.validated_plan, EXCLUDED.validated_plan), updated_at = now()`;
}

/**
 * Records an answer. The first answer ever recorded stays in `response` (replays return it);
 * `state` follows the flow. Creates the record when validation refused the accept before writing it.
 */
export async function recordAcceptOutcome(
  db: Db | DbTx,
  input: Pick<AcceptInput, 'acceptKey' | 'fingerprint' | 'offerId' | 'cartId'>,
  response: AcceptResponse,
  chargeRef: string | null,
  now: Date,
): Promise<void> {
  const json = JSON.stringify(response);
  const code = 'code' in response ? response.code : null;
  const completedAt = FINAL.has(response.status) ? now : null;
  await db.$executeRaw`
    INSERT INTO accepts (idempotency_key, fingerprint, offer_id, cart_id, status, error_code, gateway_ref, response, state, completed_at, updated_at)
    VALUES (${input.acceptKey}, ${input.fingerprint}, ${input.offerId}, ${input.cartId}, ${response.status}, ${code}, ${chargeRef},
            ${json}::json, ${json}::json, ${completedAt?.toISOString() ?? null}::timestamp(3), now())
    ON CONFLICT (idempotency_key) DO UPDATE
      SET status = EXCLUDED.status, error_code = EXCLUDED.error_code,
          gateway_ref = COALESCE(EXCLUDED.gateway_ref, accepts.gateway_ref),
          response = COALESCE(accepts.response, EXCLUDED.response),
          state = EXCLUDED.state, completed_at = EXCLUDED.completed_at, updated_at = now()
      -- A finished accept stays finished: a late or stray attempt never moves it back.
      WHERE accepts.completed_at IS NULL`;
  // Offer analytics: a payment decline, an SCA start or abandonment (once per accept).
  const eventKind = acceptEventKind(response.status);
  if (eventKind && eventKind !== 'accept') await recordAcceptEvent(db, eventKind, input.acceptKey, now);
}

async function findEarlierWrite(tx: DbTx, acceptKey: string): Promise<WrittenOrder | null> {
  const rows = await tx.$queryRaw<Array<{ order_id: string; external_id: string; kind: string; event_id: string; fell_back: boolean | null }>>`
    SELECT p.order_id, o.external_id, o.kind, e.id AS event_id, (e.payload->'data'->>'fell_back_to_child')::boolean AS fell_back
    FROM payments p JOIN orders o ON o.id = p.order_id JOIN outbox_events e ON e.accept_key = p.idempotency_key
    WHERE p.idempotency_key = ${acceptKey}`;
  const r = rows[0];
  return r
    ? {
        orderId: r.order_id,
        orderExternalId: r.external_id,
        kind: r.kind === 'child' ? 'child' : 'merged',
        eventId: r.event_id,
        fellBackToChild: r.fell_back ?? false,
      }
    : null;
}

function parentGone(plan: AcceptPlan): never {
  throw new OrderWriteRefusedError(`parent order ${plan.parentOrderId} no longer exists`);
}

/** Step 7-8: the order change, payment, accept record and outbox event, in one transaction. */
export async function writeUpsellOrder(
  prisma: Db,
  input: Pick<AcceptInput, 'acceptKey' | 'fingerprint' | 'offerId' | 'cartId'>,
  plan: AcceptPlan,
  chargeRef: string,
  now: Date,
): Promise<WrittenOrder> {
  return prisma.$transaction(async (tx) => {
    // A retry after a crash finds its own earlier write (the payment's key is unique).
    const earlier = await findEarlierWrite(tx, plan.acceptKey);
    if (earlier) return earlier;

    // Merge or child is decided here, with the parent row locked until commit: validation's choice
    // may be minutes old (3-D Secure), and the shop's PUT of the order takes the same lock, so the
    // status and paid_at read here still hold when the total grows.
    const parents = await tx.$queryRaw<Array<{ status: string; paid_at: Date | null }>>`
      SELECT status, paid_at FROM orders WHERE id = ${plan.parentOrderId} FOR UPDATE`;
    const parent = parents[0] ?? parentGone(plan);
    const cutoffMin = plan.strategy === 'merge' ? (await loadSettings(tx))['upsells.merge_cutoff_min'] : 0;
    const decision = decideOrderAtWrite(plan.strategy, { status: parent.status, paidAt: parent.paid_at }, cutoffMin, now);

    const { value, currency } = plan.amount;
    let order: { id: string; external_id: string };
    if (decision.orderKind === 'merged') {
      const rows = await tx.$queryRaw<Array<{ id: string; external_id: string }>>`
        UPDATE orders SET total_amount = total_amount + ${value}, updated_at = now()
        WHERE id = ${plan.parentOrderId} RETURNING id, external_id`;
      order = rows[0] ?? parentGone(plan);
    } else {
      const id = newId('ord');
      const rows = await tx.$queryRaw<Array<{ id: string; external_id: string }>>`
        INSERT INTO orders (id, external_id, kind, cart_id, status, currency, total_amount, paid_at, customer_email, parent_id, updated_at)
        SELECT ${id}, p.external_id || '-upsell-' || ${id.slice(4)}, 'child', p.cart_id, 'paid', ${currency}, ${value}, ${now.toISOString()}::timestamp(3), p.customer_email, p.id, now()
        FROM orders p WHERE p.id = ${plan.parentOrderId}
        RETURNING id, external_id`;
      order = rows[0] ?? parentGone(plan);
    }
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
    const childOrderId = decision.orderKind === 'child' ? order.id : null;
    const responseJson = JSON.stringify(response);
    await tx.$executeRaw`
      WITH line AS (
        INSERT INTO line_items (id, order_id, product_id, name, quantity, unit_amount, accept_key)
        VALUES (${newId('li')}, ${order.id}, ${plan.productId}, ${plan.productName}, 1, ${value}, ${plan.acceptKey})
      ), payment AS (
        INSERT INTO payments (id, order_id, gateway, gateway_ref, idempotency_key, status, amount, currency, updated_at)
        VALUES (${newId('pay')}, ${order.id}, ${plan.gateway}, ${chargeRef}, ${plan.acceptKey}, 'succeeded', ${value}, ${currency}, now())
      ), outbox AS (
        INSERT INTO outbox_events (id, type, accept_key, payload) VALUES (${eventId}, ${ACCEPTED_EVENT}, ${plan.acceptKey}, ${JSON.stringify(event)}::jsonb)
      )
      INSERT INTO accepts (idempotency_key, fingerprint, offer_id, cart_id, parent_order_id, status, gateway, gateway_ref, amount, currency,
                           child_order_id, response, state, completed_at, updated_at)
      VALUES (${input.acceptKey}, ${input.fingerprint}, ${input.offerId}, ${input.cartId}, ${plan.parentOrderId}, 'succeeded', ${plan.gateway},
              ${chargeRef}, ${value}, ${currency}, ${childOrderId}, ${responseJson}::json, ${responseJson}::json, ${now.toISOString()}::timestamp(3), now())
      ON CONFLICT (idempotency_key) DO UPDATE
        SET status = 'succeeded', error_code = NULL, gateway_ref = EXCLUDED.gateway_ref, child_order_id = EXCLUDED.child_order_id,
            response = COALESCE(accepts.response, EXCLUDED.response), state = EXCLUDED.state,
            completed_at = EXCLUDED.completed_at, updated_at = now()`;
    await recordAcceptEvent(tx, 'accept', plan.acceptKey, now);
    return written;
  });
}
