/** Orders with their lines, saved payment method, payments and child orders. */
import type { Sql } from './sql.ts';
import type { Db, DbTx } from './client.ts';
import type { LineItem, Order, Payment, SavedPaymentMethod } from './generated/client.ts';
import { newId } from './ids.ts';
import { firstRow } from './rows.ts';
import { ORDER_KINDS, ORDER_STATUSES, type OrderKind, type OrderStatus } from './statuses.ts';

export type OrderWithRelations = Order & { lineItems: LineItem[]; payments: Payment[]; children: Order[]; savedPaymentMethod: SavedPaymentMethod | null };

const ORDER_INCLUDE = { lineItems: { orderBy: { createdAt: 'asc' } }, payments: true, children: true, savedPaymentMethod: true } as const;

/** What the accept reads of a parent order, with its saved method and the products it holds. */
export interface ParentRow {
  id: string;
  external_id: string;
  kind: OrderKind;
  cart_id: string;
  status: OrderStatus;
  currency: string;
  total_amount: number;
  paid_at: Date | null;
  customer_email: string | null;
  gateway: string | null;
  customer_ref: string | null;
  method_ref: string | null;
  product_ids: string[];
}

/** On every accept's hot path: one SQL read. */
export async function findParentOrder(db: Sql, externalId: string): Promise<ParentRow | null> {
  const rows = await db.$queryRaw<unknown[]>`
    SELECT o.id, o.external_id, o.kind, o.cart_id, o.status, o.currency, o.total_amount, o.paid_at, o.customer_email,
           m.gateway, m.customer_ref, m.method_ref,
           COALESCE((SELECT array_agg(li.product_id) FROM line_items li WHERE li.order_id = o.id), '{}') AS product_ids
    FROM orders o LEFT JOIN saved_payment_methods m ON m.order_id = o.id
    WHERE o.external_id = ${externalId}`;
  return firstRow('orders', rows, (r) => {
    const total = r.money('total_amount', 'currency');
    return {
      id: r.str('id'),
      external_id: r.str('external_id'),
      kind: r.enumOf('kind', ORDER_KINDS),
      cart_id: r.str('cart_id'),
      status: r.enumOf('status', ORDER_STATUSES),
      currency: total.currency,
      total_amount: total.value,
      paid_at: r.dateOrNull('paid_at'),
      customer_email: r.strOrNull('customer_email'),
      gateway: r.strOrNull('gateway'),
      customer_ref: r.strOrNull('customer_ref'),
      method_ref: r.strOrNull('method_ref'),
      product_ids: r.strArray('product_ids'),
    };
  });
}

/** The order as the shop API shows it, or null. */
export async function findOrder(db: Db | DbTx, externalId: string): Promise<OrderWithRelations | null> {
  return db.order.findUnique({ where: { externalId }, include: ORDER_INCLUDE });
}

/** The order's ids only (a token names the order by its external id). */
export async function findOrderRef(db: Db, externalId: string): Promise<{ id: string; externalId: string } | null> {
  return db.order.findUnique({ where: { externalId }, select: { id: true, externalId: true } });
}

/**
 * Locks the order row until the transaction ends (nothing when there is none yet). An upsell merging
 * into the order takes the same lock.
 */
export async function lockOrder(tx: DbTx, externalId: string): Promise<void> {
  await tx.$executeRaw`SELECT id FROM orders WHERE external_id = ${externalId} FOR UPDATE`;
}

export interface ParentOrderFields {
  cartId: string;
  status: OrderStatus;
  currency: string;
  /** the shop's total, without the lines upsells merged in */
  shopTotal: number;
  paidAt: Date | null;
  customerEmail: string | null;
}

export interface ShopLine {
  productId: string;
  name: string;
  quantity: number;
  unitAmount: number;
}

export interface SavedMethod {
  gateway: string;
  customerRef: string | null;
  methodRef: string;
}

/** Refused: the external id names an upsell's order, which the shop does not replace. */
export class NotAParentOrderError extends Error {
  override name = 'NotAParentOrderError';
}

/**
 * Registers or replaces a parent order, its shop lines and its saved method, inside the caller's
 * transaction (after lockOrder). Lines merged in by upsells stay, and keep counting in the total.
 */
export async function writeParentOrder(tx: DbTx, externalId: string, fields: ParentOrderFields, lines: ShopLine[], method: SavedMethod, now: Date): Promise<OrderWithRelations> {
  const existing = await tx.order.findUnique({ where: { externalId }, include: { lineItems: true } });
  if (existing && existing.kind !== 'parent') throw new NotAParentOrderError('an upsell order cannot be replaced');
  const mergedTotal = (existing?.lineItems ?? []).filter((li) => li.acceptKey).reduce((t, li) => t + li.quantity * li.unitAmount, 0);
  const { shopTotal, ...rest } = fields;
  const data = { ...rest, totalAmount: shopTotal + mergedTotal, updatedAt: now };
  const id = existing?.id ?? newId('ord');
  if (existing) {
    await tx.lineItem.deleteMany({ where: { orderId: id, acceptKey: null } });
    await tx.order.update({ where: { id }, data });
  } else {
    await tx.order.create({ data: { id, externalId, kind: 'parent', ...data, createdAt: now } });
  }
  await tx.lineItem.createMany({ data: lines.map((li) => ({ id: newId('li'), orderId: id, ...li, createdAt: now })) });
  await tx.savedPaymentMethod.upsert({ where: { orderId: id }, create: { orderId: id, ...method, createdAt: now }, update: method });
  return tx.order.findUniqueOrThrow({ where: { id }, include: ORDER_INCLUDE });
}
