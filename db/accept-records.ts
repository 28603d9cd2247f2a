/**
 * The API's read of an accept record: one indexed SQL read (Prisma's query compiler costs
 * milliseconds here). The stored answer and state are parsed with the contract's schemas
 * (contract/records.ts): a body that does not fit is a MalformedRecordError, never passed on as one.
 */
import type { Sql } from './sql.ts';
import { type AcceptState } from '../contract/accept.ts';
import { parseAcceptState } from '../contract/records.ts';

export interface AcceptRecordView {
  fingerprint: string;
  cart_id: string;
  /** the first answer the buyer got, once there is one */
  response: AcceptState | null;
  /** the accept's current state, as the status route shows it */
  state: AcceptState | null;
  completed_at: Date | null;
}

interface AcceptRecordRow {
  fingerprint: string;
  cart_id: string;
  response: unknown;
  state: unknown;
  completed_at: Date | null;
}

export async function findAcceptRecord(db: Sql, acceptKey: string): Promise<AcceptRecordView | null> {
  const rows = await db.$queryRaw<AcceptRecordRow[]>`
    SELECT fingerprint, cart_id, response, state, completed_at FROM accepts WHERE idempotency_key = ${acceptKey}`;
  const row = rows[0];
  if (!row) return null;
  return {
    fingerprint: row.fingerprint,
    cart_id: row.cart_id,
    response: parseAcceptState(row.response, 'accept response'),
    state: parseAcceptState(row.state, 'accept state'),
    completed_at: row.completed_at,
  };
}
