/** The API's read of an accept record: one indexed SQL read (Prisma's query compiler costs milliseconds here). */
import type { Db } from './client.ts';
import type { Prisma } from './client.ts';

export interface AcceptRecordView {
  fingerprint: string;
  cart_id: string;
  response: Prisma.JsonValue | null;
  state: Prisma.JsonValue | null;
  completed_at: Date | null;
}

export async function findAcceptRecord(db: Db, acceptKey: string): Promise<AcceptRecordView | null> {
  const rows = await db.$queryRaw<AcceptRecordView[]>`
    SELECT fingerprint, cart_id, response, state, completed_at FROM accepts WHERE idempotency_key = ${acceptKey}`;
  return rows[0] ?? null;
}
