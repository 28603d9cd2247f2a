/** The shop endpoints that receive signed events. */
import type { Sql } from './sql.ts';
import type { Db } from './client.ts';
import { newId } from './ids.ts';
import { parseRows } from './rows.ts';

export interface Subscriber {
  id: string;
  url: string;
  secret: string;
}

export async function activeSubscribers(db: Sql): Promise<Subscriber[]> {
  const rows = await db.$queryRaw<unknown[]>`SELECT id, url, secret FROM event_subscribers WHERE active`;
  return parseRows('event_subscribers', rows, (r) => ({ id: r.str('id'), url: r.str('url'), secret: r.str('secret') }));
}

export async function createSubscriber(db: Db, url: string, secret: string, now: Date): Promise<{ id: string; url: string; active: boolean }> {
  const row = await db.eventSubscriber.create({ data: { id: newId('sub'), url, secret, createdAt: now } });
  // The secret stays here: callers get what may be shown.
  return { id: row.id, url: row.url, active: row.active };
}
