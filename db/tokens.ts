/** Single-use token ids: one unique insert burns a jti for exactly one accept. */
import type { Sql } from './sql.ts';
import { firstRow, onlyRow } from './rows.ts';

/** One unique insert. Returns the key that burned the jti: this accept's, or an earlier one's. */
export async function burnJti(db: Sql, jti: string, acceptKey: string, now: Date): Promise<string> {
  const rows = await db.$queryRaw<unknown[]>`
    WITH burned AS (
      INSERT INTO burned_tokens (jti, accept_key, burned_at) VALUES (${jti}, ${acceptKey}, ${now.toISOString()}::timestamp(3))
      ON CONFLICT (jti) DO NOTHING RETURNING accept_key
    )
    SELECT accept_key FROM burned
    UNION ALL
    SELECT accept_key FROM burned_tokens WHERE jti = ${jti} AND NOT EXISTS (SELECT 1 FROM burned)`;
  const burnedBy = firstRow('burned_tokens', rows, (r) => r.str('accept_key'));
  if (burnedBy !== null) return burnedBy;
  // A concurrent insert of the same jti committed while this statement waited on it: the conflict
  // skipped our insert, but the statement's snapshot predates the other row. A new statement sees it.
  const again = await db.$queryRaw<unknown[]>`SELECT accept_key FROM burned_tokens WHERE jti = ${jti}`;
  return onlyRow('burned_tokens', again, (r) => r.str('accept_key'));
}
