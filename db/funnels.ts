/**
 * Funnels, the answers each accept or decline key gave inside one, buyer declines and the
 * post-purchase window rows. Prisma models: none of this is on the accept's hot path except
 * the window lookup, which is one raw read.
 */
import type { Sql } from './sql.ts';
import { randomBytes } from 'node:crypto';
import type { Db, DbTx } from './client.ts';
import { Prisma } from './client.ts';
import type { Funnel } from './generated/client.ts';
import { parseEligibility } from '../domain/eligibility.ts';
import type { FunnelDefinition, FunnelOffer, FunnelStep } from '../domain/funnel.ts';
import { type DeclinedBody, type FunnelNext, parseDeclinedBody, parseFunnelNext, parseFunnelSteps } from '../contract/funnels.ts';
import { firstRow, parseRows } from './rows.ts';
import { WINDOW_STATUSES, type WindowStatus } from './statuses.ts';

/** A value written to a JSON column, as the JSON it stores (undefined properties left out). */
function jsonValue(value: unknown): Prisma.InputJsonValue {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map((item: unknown) => (item === null ? null : jsonValue(item)));
  if (typeof value === 'object' && value !== null && !(value instanceof Date)) {
    const out: Record<string, Prisma.InputJsonValue | null> = {};
    for (const [key, item] of Object.entries(value)) if (item !== undefined) out[key] = item === null ? null : jsonValue(item);
    return out;
  }
  throw new TypeError(`not a JSON value: ${typeof value}`);
}

export function newFunnelId(): string {
  return `fun_${randomBytes(12).toString('base64url')}`;
}

export function funnelDefinition(row: Funnel): FunnelDefinition {
  return {
    name: row.name,
    entry: row.entry,
    max_accepts: row.maxAccepts,
    steps: parseFunnelSteps(row.steps).map(({ eligibility, on_payment_declined, ...step }): FunnelStep => ({
      ...step,
      ...(on_payment_declined === undefined ? {} : { on_payment_declined }),
      ...(eligibility === undefined ? {} : { eligibility: parseEligibility(eligibility) }),
    })),
    starts_at: row.startsAt,
    ends_at: row.endsAt,
  };
}

export async function findFunnel(db: Db | DbTx, id: string): Promise<Funnel | null> {
  return db.funnel.findUnique({ where: { id } });
}

/** Every funnel, oldest first. */
export async function listFunnels(db: Db): Promise<Funnel[]> {
  return db.funnel.findMany({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
}

export async function saveFunnel(db: Db, id: string, def: FunnelDefinition, currency: string, now: Date): Promise<Funnel> {
  const data = {
    updatedAt: now,
    name: def.name,
    entry: def.entry,
    maxAccepts: def.max_accepts,
    steps: jsonValue(def.steps),
    currency,
    startsAt: def.starts_at,
    endsAt: def.ends_at,
  };
  return db.funnel.upsert({ where: { id }, create: { id, ...data, createdAt: now }, update: data });
}

/** The offers a funnel's steps name, as the funnel rules read them. */
export async function funnelOffers(db: Db, offerIds: readonly string[]): Promise<Map<string, FunnelOffer>> {
  const rows = await db.offer.findMany({ where: { id: { in: [...new Set(offerIds)] } } });
  return new Map(
    rows.map((o) => [o.id, { id: o.id, currency: o.currency, active: o.active, startsAt: o.startsAt, endsAt: o.endsAt, eligibility: parseEligibility(o.eligibility ?? null) }]),
  );
}

export interface FunnelParent {
  id: string;
  externalId: string;
  cartId: string;
  totalAmount: number;
  productIds: string[];
}

export async function findFunnelParent(db: Db, externalId: string): Promise<FunnelParent | null> {
  const order = await db.order.findUnique({ where: { externalId }, include: { lineItems: { select: { productId: true } } } });
  if (!order) return null;
  return { id: order.id, externalId: order.externalId, cartId: order.cartId, totalAmount: order.totalAmount, productIds: order.lineItems.map((li) => li.productId) };
}

/** Accepts of this parent inside this funnel that charged (the one just answered included). */
export async function countFunnelAccepts(db: Db, funnelId: string, parentExternalId: string): Promise<number> {
  return db.funnelAnswer.count({ where: { funnelId, parentExternalId, outcome: 'succeeded' } });
}

/** Each offer's max_per_order, by id. */
export async function offerSlots(db: Db, offerIds: readonly string[]): Promise<Map<string, number>> {
  const rows = parseRows(
    'offers',
    await db.$queryRaw<unknown[]>`SELECT id, max_per_order FROM offers WHERE id = ANY(${[...offerIds]}::text[])`,
    (r) => [r.str('id'), r.int('max_per_order')] as const,
  );
  return new Map(rows);
}

/** Offers whose every max_per_order slot this parent already holds. */
export async function takenOffers(db: Db, parentOrderId: string, offers: ReadonlyMap<string, { id: string }>, maxPerOrder: ReadonlyMap<string, number>): Promise<Set<string>> {
  const claims = await db.offerClaim.groupBy({ by: ['offerId'], where: { parentOrderId, offerId: { in: [...offers.keys()] } }, _count: { _all: true } });
  return new Set(claims.filter((c) => c._count._all >= (maxPerOrder.get(c.offerId) ?? 1)).map((c) => c.offerId));
}

export interface FunnelAnswerContext {
  idempotencyKey: string;
  kind: 'accept' | 'decline';
  funnelId: string;
  stepId: string;
  offerId: string;
  parentExternalId: string;
  cartId: string;
}

/** Notes which funnel step a key is for, once; a replay finds the first note. */
export async function noteFunnelAnswer(db: Db, ctx: FunnelAnswerContext, now: Date): Promise<void> {
  // One statement, so a double click's two requests cannot both try to create it.
  await db.$executeRaw`
    INSERT INTO funnel_answers (idempotency_key, kind, funnel_id, step_id, offer_id, parent_external_id, cart_id, created_at)
    VALUES (${ctx.idempotencyKey}, ${ctx.kind}, ${ctx.funnelId}, ${ctx.stepId}, ${ctx.offerId}, ${ctx.parentExternalId}, ${ctx.cartId}, ${now})
    ON CONFLICT (idempotency_key) DO NOTHING`;
}

export interface FunnelAnswerRow {
  funnelId: string;
  stepId: string;
  parentExternalId: string;
  cartId: string;
  answeredAt: Date | null;
  next: FunnelNext | null;
}

export async function findFunnelAnswer(db: Db, key: string): Promise<FunnelAnswerRow | null> {
  return firstRow(
    'funnel_answers',
    await db.$queryRaw<unknown[]>`
      SELECT funnel_id, step_id, parent_external_id, cart_id, answered_at, next FROM funnel_answers WHERE idempotency_key = ${key}`,
    (r) => ({
      funnelId: r.str('funnel_id'),
      stepId: r.str('step_id'),
      parentExternalId: r.str('parent_external_id'),
      cartId: r.str('cart_id'),
      answeredAt: r.dateOrNull('answered_at'),
      next: parseFunnelNext(r.json('next')),
    }),
  );
}

/**
 * Stores the `next` a key answered, unless one is stored already; answers whichever is stored.
 * So two racing replays of one key both answer the first `next` minted.
 */
export async function settleFunnelAnswer(db: Db, key: string, outcome: string, next: FunnelNext | null, now: Date): Promise<FunnelNext | null> {
  await db.funnelAnswer.updateMany({
    where: { idempotencyKey: key, answeredAt: null },
    data: { outcome, next: next === null ? Prisma.JsonNull : jsonValue(next), answeredAt: now },
  });
  const row = await findFunnelAnswer(db, key);
  if (!row) throw new Error(`funnel answer ${key} does not exist`);
  return row.next;
}

/** A buyer decline recorded under an idempotency key: what the request was, and what it answered. */
export async function findBuyerDecline(db: Db, key: string): Promise<{ fingerprint: string; response: DeclinedBody } | null> {
  return firstRow('buyer_declines', await db.$queryRaw<unknown[]>`SELECT fingerprint, response FROM buyer_declines WHERE idempotency_key = ${key}`, (r) => ({
    fingerprint: r.str('fingerprint'),
    response: parseDeclinedBody(r.json('response')),
  }));
}

export interface BuyerDeclineFields {
  idempotencyKey: string;
  fingerprint: string;
  jti: string;
  offerId: string;
  parentExternalId: string;
  cartId: string;
  funnelId: string | null;
  stepId: string | null;
}

/** Records a buyer decline and its answer; a second one under the same key is a unique violation. */
export async function recordBuyerDecline(db: Db, fields: BuyerDeclineFields, response: DeclinedBody, now: Date): Promise<void> {
  await db.buyerDecline.create({ data: { ...fields, response: jsonValue(response), createdAt: now } });
}

export interface WindowRow {
  parent_external_id: string;
  status: WindowStatus;
  closes_at: Date;
  reason: string | null;
  closed_at: Date | null;
}

export async function findWindow(db: Sql, parentExternalId: string): Promise<WindowRow | null> {
  const rows = await db.$queryRaw<unknown[]>`
    SELECT parent_external_id, status::text AS status, closes_at, reason, closed_at FROM upsell_windows WHERE parent_external_id = ${parentExternalId}`;
  return firstRow('upsell_windows', rows, (r) => ({
    parent_external_id: r.str('parent_external_id'),
    status: r.enumOf('status', WINDOW_STATUSES),
    closes_at: r.date('closes_at'),
    reason: r.strOrNull('reason'),
    closed_at: r.dateOrNull('closed_at'),
  }));
}

/** The window's row, written when its first token is minted; a later token leaves it as it is. */
export async function openWindowRow(db: Db, parentExternalId: string, closesAt: Date, now: Date): Promise<WindowRow> {
  await db.$executeRaw`
    INSERT INTO upsell_windows (parent_external_id, status, closes_at, created_at) VALUES (${parentExternalId}, 'open', ${closesAt}, ${now})
    ON CONFLICT (parent_external_id) DO NOTHING`;
  const row = await findWindow(db, parentExternalId);
  if (!row) throw new Error(`window of ${parentExternalId} was not written`);
  return row;
}
