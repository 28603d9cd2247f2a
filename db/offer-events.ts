/**
 * The offer analytics ledger: one offer_events row per thing that happened to an offer. Every
 * writer inserts with ON CONFLICT (kind, source_key) DO NOTHING, so a replayed accept, a retried
 * activity or a second impression with the same token adds nothing, and the report (db/analytics.ts)
 * can count rows.
 *
 * Kinds, what writes them, and their source_key:
 * - `impression`: the storefront script showed the offer (POST .../impressions); the token's jti.
 * - `accept`: the accept's order was written (writeUpsellOrder), amount = the revenue; the accept key.
 * - `payment_decline`: the gateway declined the saved method or the charge; the accept key.
 * - `sca_started`: the bank asked for the buyer (requires_action answered); the accept key.
 * - `sca_abandoned`: the buyer did not finish authentication in time (expired); the accept key.
 * - `buyer_decline`: the buyer said no to the offer; a key unique to that answer (the token's jti).
 * - `refund`: money given back on an accept, amount = the refunded amount; the refund's own id.
 * `answer_ms` is set on the event that carried the buyer's first answer to the click.
 */
import type { Sql } from './sql.ts';
import type { Money } from '../contract/money.ts';
import type { Db, DbTx } from './client.ts';

export const OFFER_EVENT_KINDS = ['impression', 'accept', 'buyer_decline', 'payment_decline', 'sca_started', 'sca_abandoned', 'refund'] as const;
export type OfferEventKind = (typeof OFFER_EVENT_KINDS)[number];

export interface OfferEventInput {
  offerId: string;
  kind: OfferEventKind;
  sourceKey: string;
  currency: string;
  /** minor units; null where no money moved */
  amount?: number | null;
  /** the funnel step the event belongs to; null for a standalone offer */
  stepId?: string | null;
  answerMs?: number | null;
  /** the caller's clock */
  occurredAt: Date;
}

/** Records one event; true when it was new, false when this (kind, source_key) was already recorded. */
export async function recordOfferEvent(db: Db | DbTx, e: OfferEventInput): Promise<boolean> {
  const occurredAt = e.occurredAt.toISOString();
  const inserted = await db.$executeRaw`
    INSERT INTO offer_events (offer_id, step_id, kind, source_key, amount, currency, answer_ms, occurred_at)
    VALUES (${e.offerId}, ${e.stepId ?? null}, ${e.kind}::offer_event_kind, ${e.sourceKey}, ${e.amount ?? null}, ${e.currency},
            ${e.answerMs ?? null}, ${occurredAt}::timestamptz)
    ON CONFLICT (kind, source_key) DO NOTHING`;
  return inserted > 0;
}

/** The accept-flow kinds recordAcceptEvent writes, by the accept status that must stand for each. */
const ACCEPT_EVENT_STATUS = {
  accept: 'succeeded',
  payment_decline: 'declined',
  sca_started: 'requires_action',
  sca_abandoned: 'expired',
} as const;
export type AcceptEventKind = keyof typeof ACCEPT_EVENT_STATUS;
const ACCEPT_EVENT_KINDS: readonly AcceptEventKind[] = ['accept', 'payment_decline', 'sca_started', 'sca_abandoned'];

/** The analytics event an accept answer stands for, if any (refusals and errors are not offer events). */
export function acceptEventKind(status: string): AcceptEventKind | null {
  return ACCEPT_EVENT_KINDS.find((kind) => ACCEPT_EVENT_STATUS[kind] === status) ?? null;
}

/**
 * Records an accept's event from its accepts row (offer, amount, currency), keyed by the accept key.
 * Only while the row holds the status the kind stands for, so a stray late recording that the accept
 * record refused (a finished accept stays finished) is not counted either. `answer_ms` (click to the
 * first answer: the row's creation to now) is set when this event carried that answer: for an accept
 * after 3-D Secure the first answer was requires_action, and the SCA start carries it.
 */
export async function recordAcceptEvent(db: Sql, kind: AcceptEventKind, acceptKey: string, now: Date): Promise<void> {
  const status = ACCEPT_EVENT_STATUS[kind];
  const at = now.toISOString();
  await db.$executeRaw`
    INSERT INTO offer_events (offer_id, kind, source_key, amount, currency, answer_ms, occurred_at)
    SELECT a.offer_id, ${kind}::offer_event_kind, a.idempotency_key,
           CASE WHEN ${kind}::text = 'accept' THEN a.amount END,
           COALESCE(a.currency, o.currency),
           CASE WHEN a.response->>'status' = ${status}::text
                THEN GREATEST(0, round(extract(epoch FROM (${at}::timestamptz - a.created_at::timestamptz)) * 1000))::int END,
           ${at}::timestamptz
    FROM accepts a LEFT JOIN offers o ON o.id = a.offer_id
    WHERE a.idempotency_key = ${acceptKey} AND a.status::text = ${status}::text AND COALESCE(a.currency, o.currency) IS NOT NULL
    ON CONFLICT (kind, source_key) DO NOTHING`;
}

/** Records a refund the gateway took, for its accept's offer, keyed by the refund's id (once, whatever is retried). */
export async function recordRefundEvent(db: Db | DbTx, acceptKey: string, refundId: string, amount: Money, now: Date): Promise<void> {
  await db.$executeRaw`
    INSERT INTO offer_events (offer_id, kind, source_key, amount, currency, occurred_at)
    SELECT a.offer_id, 'refund'::offer_event_kind, ${refundId}, ${amount.value}, ${amount.currency}, ${now.toISOString()}::timestamptz
    FROM accepts a WHERE a.idempotency_key = ${acceptKey}
    ON CONFLICT (kind, source_key) DO NOTHING`;
}
