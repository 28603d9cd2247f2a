/** Single-use token ids: one unique insert burns a jti for exactly one accept. */
import type { Db, DbTx } from './client.ts';
import { firstRow, onlyRow } from './rows.ts';

/**
 * One unique insert. Returns the key that burned the jti: this accept's, or an earlier one's.
 * When a concurrent insert of the same jti commits while this statement waits on it, the insert
 * does nothing and the statement's snapshot (taken before that commit) cannot see the other row:
 * no row comes back, and a second statement (a fresh snapshot) reads it.
 */
export async function burnJti(db: Db | DbTx, jti: string, acceptKey: string, now: Date): Promise<string> {
  const burned = firstRow('burned_tokens', await burnOnce(db, jti, acceptKey, now), (r) => r.str('accept_key'));
  return burned ?? onlyRow('burned_tokens', await burnOnce(db, jti, acceptKey, now), (r) => r.str('accept_key'));
}

async function burnOnce(db: Db | DbTx, jti: string, acceptKey: string, now: Date): Promise<unknown[]> {
  return db.$queryRaw<unknown[]>`
    WITH burned AS (
      INSERT INTO burned_tokens (jti, accept_key, burned_at) VALUES (${jti}, ${acceptKey}, ${now.toISOString()}::timestamp(3))
      ON CONFLICT (jti) DO NOTHING RETURNING accept_key
    )
    SELECT accept_key FROM burned
    UNION ALL
    SELECT accept_key FROM burned_tokens WHERE jti = ${jti} AND NOT EXISTS (SELECT 1 FROM burned)`;
}
