/** Database rows to the snake_case JSON of the contract. Saved methods show references only. */
import type { LineItem, Offer, Order, Payment, SavedPaymentMethod } from '../db/generated/client.ts';

type OrderWithRelations = Order & { lineItems: LineItem[]; payments: Payment[]; children: Order[]; savedPaymentMethod: SavedPaymentMethod | null };

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function serializeOrder(o: OrderWithRelations) {
  return {
    id: o.id,
    external_id: o.externalId,
    kind: o.kind,
    cart_id: o.cartId,
    status: o.status,
    currency: o.currency,
    total: o.totalAmount,
    refunded_amount: o.refundedAmount,
    paid_at: iso(o.paidAt),
    parent_id: o.parentId,
    customer: o.customerEmail ? { email: o.customerEmail } : null,
    payment: o.savedPaymentMethod ? { gateway: o.savedPaymentMethod.gateway, customer_ref: o.savedPaymentMethod.customerRef, method_ref: o.savedPaymentMethod.methodRef } : null,
    line_items: o.lineItems.map((li) => ({
      id: li.id,
      product_id: li.productId,
      name: li.name,
      quantity: li.quantity,
      unit_amount: li.unitAmount,
      accept_id: li.acceptKey,
      refunded_amount: li.refundedAmount,
      status: li.status,
    })),
    payments: o.payments.map((p) => ({
      id: p.id,
      gateway: p.gateway,
      gateway_ref: p.gatewayRef,
      accept_id: p.idempotencyKey,
      status: p.status,
      amount: { value: p.amount, currency: p.currency },
      refunded_amount: p.refundedAmount,
    })),
    child_orders: o.children.map((c) => ({ id: c.id, external_id: c.externalId, status: c.status, total: c.totalAmount, refunded_amount: c.refundedAmount })),
  };
}

export function serializeOffer(o: Offer) {
  return {
    id: o.id,
    product_id: o.productId,
    name: o.name,
    amount: o.amount,
    currency: o.currency,
    active: o.active,
    starts_at: iso(o.startsAt),
    ends_at: iso(o.endsAt),
    eligibility: o.eligibility ?? null,
    order_strategy: o.orderStrategy,
    max_per_order: o.maxPerOrder,
  };
}
