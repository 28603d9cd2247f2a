/**
 * The merchant console's recent accepts: the newest accepts first (read through the index on
 * accepts.created_at), each with its offer's name, the parent order's shop id, and what its charge
 * has had refunded so far. One query.
 */
import type { Db } from './client.ts';
import { parseRows } from './rows.ts';
import { ACCEPT_STATUSES, type AcceptStatus } from './statuses.ts';

export interface RecentAccept {
  acceptId: string;
  offerId: string;
  offerName: string | null;
  status: AcceptStatus;
  errorCode: string | null;
  gateway: string | null;
  /** what the accept charged or was to charge; null when it was refused before a price was fixed */
  amount: number | null;
  currency: string | null;
  /** refunded through the refund route on the accept's payment (0 without a payment) */
  refundedAmount: number;
  /** true when the accept wrote a payment (so it can be refunded while something is left) */
  paid: boolean;
  parentOrderExternalId: string | null;
  childOrderId: string | null;
  createdAt: Date;
  completedAt: Date | null;
}

export const MAX_RECENT_ACCEPTS = 100;

export async function recentAccepts(db: Db, limit: number): Promise<RecentAccept[]> {
  const n = Math.min(Math.max(1, Math.trunc(limit)), MAX_RECENT_ACCEPTS);
  const rows = await db.$queryRaw<unknown[]>`
    SELECT a.idempotency_key, a.offer_id, o.name AS offer_name, a.status::text AS status, a.error_code, a.gateway,
      COALESCE(p.amount, a.amount) AS amount, COALESCE(p.currency, a.currency) AS currency,
      COALESCE(p.refunded_amount, 0) AS refunded_amount, p.id IS NOT NULL AS paid,
      parent.external_id AS parent_external_id, a.child_order_id, a.created_at, a.completed_at
    FROM (SELECT * FROM accepts ORDER BY created_at DESC, idempotency_key DESC LIMIT ${n}) a
    LEFT JOIN offers o ON o.id = a.offer_id
    LEFT JOIN payments p ON p.idempotency_key = a.idempotency_key
    LEFT JOIN orders parent ON parent.id = a.parent_order_id
    ORDER BY a.created_at DESC, a.idempotency_key DESC`;
  return parseRows('accepts', rows, (r) => ({
    acceptId: r.str('idempotency_key'),
    offerId: r.str('offer_id'),
    offerName: r.strOrNull('offer_name'),
    status: r.enumOf('status', ACCEPT_STATUSES),
    errorCode: r.strOrNull('error_code'),
    gateway: r.strOrNull('gateway'),
    amount: r.intOrNull('amount'),
    currency: r.strOrNull('currency'),
    refundedAmount: r.int('refunded_amount'),
    paid: r.bool('paid'),
    parentOrderExternalId: r.strOrNull('parent_external_id'),
    childOrderId: r.strOrNull('child_order_id'),
    createdAt: r.date('created_at'),
    completedAt: r.dateOrNull('completed_at'),
  }));
}
