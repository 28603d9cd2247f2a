/** Charges recorded against orders. One payment per accept: its idempotency key is unique. */
import type { Db } from './client.ts';
import { firstRow } from './rows.ts';

/** True once the accept's order is written (its payment row exists). */
export async function paymentExistsForAccept(db: Db, acceptKey: string): Promise<boolean> {
  const rows = await db.$queryRaw<unknown[]>`SELECT 1::int AS one FROM payments WHERE idempotency_key = ${acceptKey}`;
  return firstRow('payments', rows, (r) => r.int('one')) !== null;
}

/** The order a gateway charge was recorded against, or null when no payment names it. */
export async function findOrderIdForCharge(db: Db, gateway: string, chargeRef: string): Promise<string | null> {
  const rows = await db.$queryRaw<unknown[]>`
    SELECT order_id FROM payments WHERE gateway = ${gateway} AND gateway_ref = ${chargeRef} LIMIT 1`;
  return firstRow('payments', rows, (r) => r.str('order_id'));
}
