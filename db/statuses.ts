/** The schema's status enums as value lists, for parsing rows (db/rows.ts enumOf) and for tests. */
import { AcceptStatus, OrderKind, OrderStatus, OutboxStatus, PaymentStatus, SandboxChargeStatus, WindowStatus, RefundStatus, LineItemStatus } from './generated/enums.ts';

export { AcceptStatus, OrderKind, OrderStatus, OutboxStatus, PaymentStatus, SandboxChargeStatus, WindowStatus, RefundStatus, LineItemStatus };

export const ACCEPT_STATUSES = Object.values(AcceptStatus);
export const ORDER_KINDS = Object.values(OrderKind);
export const ORDER_STATUSES = Object.values(OrderStatus);
export const OUTBOX_STATUSES = Object.values(OutboxStatus);
export const PAYMENT_STATUSES = Object.values(PaymentStatus);
export const SANDBOX_CHARGE_STATUSES = Object.values(SandboxChargeStatus);
export const WINDOW_STATUSES = Object.values(WindowStatus);
export const REFUND_STATUSES = Object.values(RefundStatus);
export const LINE_ITEM_STATUSES = Object.values(LineItemStatus);
