/** Single-use token ids: one unique insert burns a jti for exactly one accept. */
import type { Db, DbTx } from './client.ts';
import { onlyRow } from './rows.ts';

/** One unique insert. Returns the key that burned the jti: this accept's, or an earlier one's. */
export async function burnJti(db: Db | DbTx, jti: string, acceptKey: string, now: Date): Promise<string> {
  const rows = await db.$queryRaw<unknown[]>`
    WITH burned AS (
      INSERT INTO burned_tokens (jti, accept_key, burned_at) VALUES (${jti}, ${acceptKey}, ${now.toISOString()}::timestamp(3))
      ON CONFLICT (jti) DO NOTHING RETURNING accept_key
    )
    SELECT accept_key FROM burned
    UNION ALL
    SELECT accept_key FROM burned_tokens WHERE jti = ${jti} AND NOT EXISTS (SELECT 1 FROM burned)`;
  return onlyRow('burned_tokens', rows, (r) => r.str('accept_key'));
}
