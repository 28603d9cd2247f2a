/** Offers: the accept's one-statement read, and the shop API's model reads and writes. */
import type { Sql } from './sql.ts';
import { type Db, Prisma } from './client.ts';
import type { EligibilityRules } from '../domain/eligibility.ts';
import type { Offer } from './generated/client.ts';
import { type Row, firstRow, parseRows } from './rows.ts';

export type { Offer };

/** What the accept reads of an offer (snake_case: the columns as the SQL names them). */
export interface OfferRow {
  id: string;
  product_id: string;
  name: string;
  amount: number;
  currency: string;
  active: boolean;
  starts_at: Date | null;
  ends_at: Date | null;
  eligibility: unknown;
  order_strategy: string | null;
  max_per_order: number;
}

function offerRow(r: Row): OfferRow {
  const price = r.money('amount', 'currency');
  return {
    id: r.str('id'),
    product_id: r.str('product_id'),
    name: r.str('name'),
    amount: price.value,
    currency: price.currency,
    active: r.bool('active'),
    starts_at: r.dateOrNull('starts_at'),
    ends_at: r.dateOrNull('ends_at'),
    eligibility: r.json('eligibility'),
    order_strategy: r.strOrNull('order_strategy'),
    max_per_order: r.int('max_per_order'),
  };
}

/** On every accept's hot path: one SQL read (Prisma 6.19's query compiler costs milliseconds per model query). */
export async function findOffer(db: Sql, offerId: string): Promise<OfferRow | null> {
  const rows = await db.$queryRaw<unknown[]>`
    SELECT id, product_id, name, amount, currency, active, starts_at, ends_at, eligibility, order_strategy, max_per_order
    FROM offers WHERE id = ${offerId}`;
  return firstRow('offers', rows, offerRow);
}

/** Every active offer, oldest first (the eligibility report lists them all). */
export async function activeOffers(db: Db): Promise<OfferRow[]> {
  const rows = await db.$queryRaw<unknown[]>`
    SELECT id, product_id, name, amount, currency, active, starts_at, ends_at, eligibility, order_strategy, max_per_order
    FROM offers WHERE active ORDER BY created_at, id`;
  return parseRows('offers', rows, offerRow);
}

/** An offer's fields as the shop sets them; eligibility null clears the rules. */
export interface OfferFields {
  productId: string;
  name: string;
  amount: number;
  currency: string;
  active?: boolean;
  startsAt?: Date | null;
  endsAt?: Date | null;
  eligibility?: EligibilityRules | null;
  orderStrategy?: 'child' | 'merge' | null;
  maxPerOrder?: number;
}

/** A JSON null is stored as SQL NULL (Prisma's DbNull), as an absent rule set. */
function columns<T extends Partial<OfferFields>>(fields: T) {
  const { eligibility, ...rest } = fields;
  return { ...rest, ...(eligibility !== undefined ? { eligibility: eligibility === null ? Prisma.DbNull : { ...eligibility } } : {}) };
}

export async function getOffer(db: Db, offerId: string): Promise<Offer | null> {
  return db.offer.findUnique({ where: { id: offerId } });
}

/** Creates the offer, or replaces the given fields of the one with this id. */
export async function upsertOffer(db: Db, id: string, create: OfferFields, update: Partial<OfferFields>, now: Date): Promise<Offer> {
  return db.offer.upsert({
    where: { id },
    create: { id, ...columns(create), createdAt: now, updatedAt: now },
    update: { ...columns(update), updatedAt: now },
  });
}

/** Changes the offer's given fields; null when there is no such offer. */
export async function updateOffer(db: Db, id: string, data: Partial<OfferFields>, now: Date): Promise<Offer | null> {
  const { count } = await db.offer.updateMany({ where: { id }, data: { ...columns(data), updatedAt: now } });
  return count === 0 ? null : getOffer(db, id);
}
