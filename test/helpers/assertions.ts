import { expect } from 'vitest';
import type { Db } from '../../db/client.ts';

/** Charges the sandbox gateway made for one accept (its ledger is the gateway's own count). */
export function sandboxCharges(prisma: Db, acceptKey: string) {
  return prisma.sandboxCharge.findMany({ where: { metadata: { path: ['workflow_id'], equals: acceptKey } } });
}

/** Nothing charged, no payment, no order written for this accept. */
export async function expectNothingCharged(prisma: Db, acceptKey: string) {
  expect(await sandboxCharges(prisma, acceptKey)).toHaveLength(0);
  expect(await prisma.payment.count({ where: { idempotencyKey: acceptKey } })).toBe(0);
  expect(await prisma.lineItem.count({ where: { acceptKey } })).toBe(0);
  expect(await prisma.outboxEvent.count({ where: { acceptKey } })).toBe(0);
}
