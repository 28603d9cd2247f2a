/** An offer's slots per parent order: taken by an accept when validation passes, given back when it ends without a charge. */
import type { Sql } from './sql.ts';
import type { Db } from './client.ts';
import { onlyRow, parseRows } from './rows.ts';

const CLAIM_OUTCOMES = ['taken', 'own', 'full', 'lost'] as const;

/**
 * Takes one of the offer's max_per_order slots for this parent, for this accept; false when every
 * slot is held by other accepts. The unique (parent_order_id, offer_id, slot) decides, not the read:
 * two accepts that both see slot 1 free both insert it, one waits for the other's commit and gets
 * nothing, and tries the next free slot. A retry of the same accept finds its own claim.
 */
export async function claimOfferSlot(db: Sql, parentOrderId: string, offerId: string, maxPerOrder: number, acceptKey: string, now: Date): Promise<boolean> {
  // Each round either takes a slot, finds this accept's own claim, finds every slot taken, or lost
  // a slot to a concurrent accept that committed (which fills one slot more): max + 1 rounds bound it.
  for (let round = 0; round <= maxPerOrder; round++) {
    const rows = await db.$queryRaw<unknown[]>`
      WITH own AS (
        SELECT 1 FROM offer_claims WHERE accept_key = ${acceptKey}
      ), free AS (
        SELECT s AS slot FROM generate_series(1, ${maxPerOrder}::int) s
        WHERE NOT EXISTS (SELECT 1 FROM own)
          AND NOT EXISTS (SELECT 1 FROM offer_claims c WHERE c.parent_order_id = ${parentOrderId} AND c.offer_id = ${offerId} AND c.slot = s)
        LIMIT 1
      ), taken AS (
        INSERT INTO offer_claims (accept_key, parent_order_id, offer_id, slot, created_at)
        SELECT ${acceptKey}, ${parentOrderId}, ${offerId}, slot, ${now.toISOString()}::timestamp(3) FROM free
        ON CONFLICT DO NOTHING RETURNING slot
      )
      SELECT CASE WHEN EXISTS (SELECT 1 FROM own) THEN 'own'
                  WHEN EXISTS (SELECT 1 FROM taken) THEN 'taken'
                  WHEN NOT EXISTS (SELECT 1 FROM free) THEN 'full'
                  ELSE 'lost' END AS outcome`;
    const outcome = onlyRow('offer_claims', rows, (r) => r.enumOf('outcome', CLAIM_OUTCOMES));
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
export async function releaseOfferClaim(db: Sql, acceptKey: string): Promise<void> {
  await db.$executeRaw`
    DELETE FROM offer_claims
    WHERE accept_key = ${acceptKey} AND NOT EXISTS (SELECT 1 FROM payments WHERE idempotency_key = ${acceptKey})`;
}

/** True while every one of the offer's slots for this parent is held: the mint route refuses then. */
export async function offerFullyClaimed(db: Db, parentOrderId: string, offerId: string, maxPerOrder: number): Promise<boolean> {
  const rows = await db.$queryRaw<unknown[]>`
    SELECT count(*)::int AS held FROM offer_claims WHERE parent_order_id = ${parentOrderId} AND offer_id = ${offerId}`;
  return onlyRow('offer_claims', rows, (r) => r.int('held')) >= maxPerOrder;
}

/** How many slots accepts hold per offer on one parent order. */
export async function claimsHeldByOffer(db: Db, parentOrderId: string): Promise<Map<string, number>> {
  const rows = await db.$queryRaw<unknown[]>`
    SELECT offer_id, count(*)::int AS held FROM offer_claims WHERE parent_order_id = ${parentOrderId} GROUP BY offer_id`;
  return new Map(parseRows('offer_claims', rows, (r) => [r.str('offer_id'), r.int('held')] as const));
}
