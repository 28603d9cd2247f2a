/**
 * Fixed-window request counters shared by every API replica (api/plugins/rate-limit.ts): one row per
 * limited key, one upsert … RETURNING per hit (the row lock makes concurrent hits count exactly).
 * Windows are timed by the caller's clock (the app's injected `now`).
 */
import type { Sql } from './sql.ts';
import { onlyRow } from './rows.ts';

/** One hit on `key` in its `windowMs` window: the hits so far in this window, and the ms until it resets. */
export async function hitWindow(db: Sql, key: string, windowMs: number, now: Date): Promise<{ current: number; ttl: number }> {
  const at = now.toISOString();
  const resetsAt = new Date(now.getTime() + windowMs).toISOString();
  // A row whose window has ended starts a new one with this hit.
  const rows = await db.$queryRaw<unknown[]>`
    INSERT INTO rate_limits AS r (key, hits, resets_at)
    VALUES (${key}, 1, ${resetsAt}::timestamptz)
    ON CONFLICT (key) DO UPDATE
      SET hits = CASE WHEN r.resets_at <= ${at}::timestamptz THEN 1 ELSE r.hits + 1 END,
          resets_at = CASE WHEN r.resets_at <= ${at}::timestamptz THEN EXCLUDED.resets_at ELSE r.resets_at END
    RETURNING hits, resets_at`;
  const row = onlyRow('rate_limits', rows, (r) => ({ hits: r.int('hits'), resetsAt: r.date('resets_at') }));
  return { current: row.hits, ttl: Math.max(0, row.resetsAt.getTime() - now.getTime()) };
}

/** Deletes windows that ended more than a minute before `now`. */
export async function pruneEndedWindows(db: Sql, now: Date): Promise<void> {
  await db.$executeRaw`DELETE FROM rate_limits WHERE resets_at < ${new Date(now.getTime() - 60_000).toISOString()}::timestamptz`;
}
