/**
 * Funnels, the answers each accept or decline key gave inside one, buyer declines and the
 * post-purchase window rows. Prisma models: none of this is on the accept's hot path except
 * the window lookup, which is one raw read.
 */
import { randomBytes } from 'node:crypto';
import type { Db, DbTx } from './client.ts';
import { Prisma } from './client.ts';
import type { Funnel } from './generated/client.ts';
import { parseEligibility } from '../domain/eligibility.ts';
import type { FunnelDefinition, FunnelOffer, FunnelStep } from '../domain/funnel.ts';

export function newFunnelId(): string {
  return `fun_${randomBytes(12).toString('base64url')}`;
}

export function funnelDefinition(row: Funnel): FunnelDefinition {
  return {
    name: row.name,
    entry: row.entry,
    max_accepts: row.maxAccepts,
    steps: row.steps as unknown as FunnelStep[],
    starts_at: row.startsAt,
    ends_at: row.endsAt,
  };
}

export async function findFunnel(db: Db | DbTx, id: string): Promise<Funnel | null> {
  return db.funnel.findUnique({ where: { id } });
}

export async function saveFunnel(db: Db, id: string, def: FunnelDefinition, currency: string): Promise<Funnel> {
  const data = {
    name: def.name,
    entry: def.entry,
    maxAccepts: def.max_accepts,
    steps: def.steps as unknown as Prisma.InputJsonValue,
    currency,
    startsAt: def.starts_at,
    endsAt: def.ends_at,
  };
  return db.funnel.upsert({ where: { id }, create: { id, ...data }, update: data });
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
export async function noteFunnelAnswer(db: Db, ctx: FunnelAnswerContext): Promise<void> {
  // One statement, so a double click's two requests cannot both try to create it.
  await db.$executeRaw`
    INSERT INTO funnel_answers (idempotency_key, kind, funnel_id, step_id, offer_id, parent_external_id, cart_id)
    VALUES (${ctx.idempotencyKey}, ${ctx.kind}, ${ctx.funnelId}, ${ctx.stepId}, ${ctx.offerId}, ${ctx.parentExternalId}, ${ctx.cartId})
    ON CONFLICT (idempotency_key) DO NOTHING`;
}

export async function findFunnelAnswer(db: Db, key: string) {
  return db.funnelAnswer.findUnique({ where: { idempotencyKey: key } });
}

/**
 * Stores the `next` a key answered, unless one is stored already; answers whichever is stored.
 * So two racing replays of one key both answer the first `next` minted.
 */
export async function settleFunnelAnswer(db: Db, key: string, outcome: string, next: unknown): Promise<unknown> {
  await db.funnelAnswer.updateMany({
    where: { idempotencyKey: key, answeredAt: null },
    data: { outcome, next: next === null ? Prisma.JsonNull : (next as Prisma.InputJsonValue), answeredAt: new Date() },
  });
  const row = await db.funnelAnswer.findUniqueOrThrow({ where: { idempotencyKey: key } });
  return row.next ?? null;
}

export interface WindowRow {
  parent_external_id: string;
  status: string;
  closes_at: Date;
  reason: string | null;
  closed_at: Date | null;
}

export async function findWindow(db: Db | DbTx, parentExternalId: string): Promise<WindowRow | null> {
  const rows = await db.$queryRaw<WindowRow[]>`
    SELECT parent_external_id, status, closes_at, reason, closed_at FROM upsell_windows WHERE parent_external_id = ${parentExternalId}`;
  return rows[0] ?? null;
}

/** The window's row, written when its first token is minted; a later token leaves it as it is. */
export async function openWindowRow(db: Db, parentExternalId: string, closesAt: Date): Promise<WindowRow> {
  await db.$executeRaw`
    INSERT INTO upsell_windows (parent_external_id, status, closes_at) VALUES (${parentExternalId}, 'open', ${closesAt})
    ON CONFLICT (parent_external_id) DO NOTHING`;
  return (await findWindow(db, parentExternalId))!;
}
