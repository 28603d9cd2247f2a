/** The shop API's read of an offer's claims for a parent order (the accept takes and gives back claims in activities/accept-store.ts). */
import type { Db } from './client.ts';

/** True while every one of the offer's slots for this parent is held: the mint route refuses then. */
export async function offerFullyClaimed(db: Db, parentOrderId: string, offerId: string, maxPerOrder: number): Promise<boolean> {
  const rows = await db.$queryRaw<Array<{ held: number }>>`
    SELECT count(*)::int AS held FROM offer_claims WHERE parent_order_id = ${parentOrderId} AND offer_id = ${offerId}`;
  return (rows[0]?.held ?? 0) >= maxPerOrder;
}
