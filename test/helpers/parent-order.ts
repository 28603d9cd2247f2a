/**
 * The one way tests seed a parent order: the body a shop backend PUTs to the shop API
 * (`PUT /orders/:external_id`). Callers send it their own way (inject, fetch, a raw socket); no
 * vitest import, so the reliability suite uses it too.
 */
export interface ParentOrderOptions {
  cartId: string;
  status?: 'pending' | 'paid' | 'refunded' | 'cancelled';
  currency?: string;
  total?: number;
  /** null sends no payment time (a pending order); default now */
  paidAt?: Date | null;
  gateway?: string;
  methodRef?: string;
  /** null sends no customer reference (Paystack keeps only the authorization) */
  customerRef?: string | null;
  email?: string;
  /** one line each, priced at the order total; default one `prod_shoes` line */
  productIds?: string[];
}

export function parentOrderPath(externalId: string): string {
  return `/wp-json/ocart/v1/orders/${externalId}`;
}

export function parentOrderBody(o: ParentOrderOptions) {
  const total = o.total ?? 5000;
  return {
    cart_id: o.cartId,
    status: o.status ?? 'paid',
    currency: o.currency ?? 'USD',
    total,
    paid_at: o.paidAt === null ? null : (o.paidAt ?? new Date()).toISOString(),
    customer: { email: o.email ?? 'buyer@example.com' },
    payment: {
      gateway: o.gateway ?? 'sandbox',
      customer_ref: o.customerRef === undefined ? 'cus_sandbox' : o.customerRef,
      method_ref: o.methodRef ?? 'pm_card_visa',
    },
    line_items: (o.productIds ?? ['prod_shoes']).map((id) => ({ product_id: id, name: `Product ${id}`, quantity: 1, unit_amount: total })),
  };
}

export type ParentOrderBody = ReturnType<typeof parentOrderBody>;
