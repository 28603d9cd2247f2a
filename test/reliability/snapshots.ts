/**
 * Snapshots of the business tables (a row count, a digest and one md5 per row), to show that a
 * refused request changed nothing, and the accept records a refusal leaves by design.
 */
import { pollUntil } from '../helpers/poll.ts';
import type { Stack } from './harness.ts';

/** Tables whose rows a refused request must leave exactly as they were (accepts is checked apart). */
export const BUSINESS_TABLES = [
  'orders',
  'line_items',
  'payments',
  'saved_payment_methods',
  'offers',
  'burned_tokens',
  'outbox_events',
  'sandbox_charges',
  'settings',
  'event_subscribers',
] as const;
export type BusinessTable = (typeof BUSINESS_TABLES)[number];

/** Rows a case may add by design, per table: a predicate on the row's text. */
export type AllowedRows = Partial<Record<BusinessTable, (row: string) => boolean>>;

export interface TableState {
  n: number;
  hash: string;
  rows: string[];
}
export type Snapshot = Map<string, TableState>;

export async function snapshot(stack: Stack): Promise<Snapshot> {
  const out: Snapshot = new Map();
  for (const table of BUSINESS_TABLES) {
    const [row] = await stack.prisma.$queryRawUnsafe<Array<{ n: number; hash: string; rows: string[] }>>(
      `SELECT count(*)::int AS n,
              coalesce(md5(string_agg(t::text, '' ORDER BY t::text)), '') AS hash,
              coalesce(array_agg(md5(t::text)), '{}') AS rows
         FROM "${table}" t`,
    );
    out.set(table, { n: row?.n ?? 0, hash: row?.hash ?? '', rows: row?.rows ?? [] });
  }
  return out;
}

/** One line per table that changed, with the rows that appeared (text cut short). */
export async function describeChanges(stack: Stack, before: Snapshot, after: Snapshot, allowed: AllowedRows = {}): Promise<string[]> {
  const out: string[] = [];
  for (const table of BUSINESS_TABLES) {
    const b = before.get(table);
    const a = after.get(table);
    if (!b || !a || b.hash === a.hash) continue;
    const old = new Set(b.rows);
    const fresh = new Set(a.rows);
    const added = a.rows.filter((h) => !old.has(h));
    const removed = b.rows.filter((h) => !fresh.has(h)).length;
    const texts = added.length
      ? await stack.prisma.$queryRawUnsafe<Array<{ t: string }>>(`SELECT left(t::text, 240) AS t FROM "${table}" t WHERE md5(t::text) = ANY($1::text[])`, added)
      : [];
    const allow = allowed[table];
    if (allow && removed === 0 && texts.length === added.length && texts.every((r) => allow(r.t))) continue;
    out.push(`${table}: ${b.n} -> ${a.n} rows, ${added.length} new/changed, ${removed} removed/changed${texts.length ? `; new: ${texts.map((r) => r.t).join(' | ')}` : ''}`);
  }
  return out;
}

function sameSnapshot(a: Snapshot, b: Snapshot): boolean {
  return BUSINESS_TABLES.every((t) => a.get(t)?.hash === b.get(t)?.hash);
}

/** Other scenarios' workflows may still be finishing: wait until the business tables hold still. */
export async function waitForQuiet(stack: Stack, maxMs = 60_000): Promise<{ quiet: boolean; snap: Snapshot }> {
  const until = Date.now() + maxMs;
  let prev = await snapshot(stack);
  for (;;) {
    await new Promise((r) => setTimeout(r, 1500));
    const next = await snapshot(stack);
    if (sameSnapshot(prev, next)) return { quiet: true, snap: next };
    if (Date.now() > until) return { quiet: false, snap: next };
    prev = next;
  }
}

export interface AcceptRow {
  idempotency_key: string;
  status: string;
  error_code: string | null;
  completed: boolean;
}

async function acceptRecord(stack: Stack, key: string): Promise<AcceptRow | null> {
  const rows = await stack.prisma.$queryRawUnsafe<AcceptRow[]>(
    'SELECT idempotency_key, status, error_code, completed_at IS NOT NULL AS completed FROM accepts WHERE idempotency_key = $1',
    key,
  );
  return rows[0] ?? null;
}

/** The workflow answers before it records its outcome: wait for the record to be final. */
export function waitForAcceptRecord(stack: Stack, key: string, maxMs = 15_000): Promise<AcceptRow | null> {
  return pollUntil(
    () => acceptRecord(stack, key),
    (row) => !!row?.completed,
    maxMs,
  );
}

export async function chargesFor(stack: Stack, key: string): Promise<number> {
  return (await stack.sandboxCharges([key])).get(key) ?? 0;
}
