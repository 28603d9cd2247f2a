/**
 * The accept's answer bodies as the workflow and the order write build them. No schema library:
 * workflow code imports this module, and everything a workflow imports goes into its bundle and is
 * loaded into every worker (worker/worker.ts preloads it). The shapes are contract/accept.ts's.
 */
import type { AcceptPlan, FailureResponse, FailureStatus, SucceededResponse, WrittenOrder } from './accept.ts';

const FINAL_STATUSES: readonly string[] = ['succeeded', 'declined', 'rejected', 'error', 'expired'];

/** A status that ends the accept (its record is completed, a window stops waiting for it); requires_action is an answer, but the flow goes on. */
export function isFinalStatus(status: string): boolean {
  return FINAL_STATUSES.includes(status);
}

/** Where a buyer polls an accept's state. */
export function statusUrl(acceptKey: string, cartId: string): string {
  return `/wp-json/ocart/v1/upsells/accepts/${encodeURIComponent(acceptKey)}?cart_id=${encodeURIComponent(cartId)}`;
}

/** The succeeded body, built by the workflow and by the order write from the plan and the written order. */
export function succeededResponse(plan: AcceptPlan, written: Pick<WrittenOrder, 'orderId' | 'orderExternalId' | 'kind' | 'fellBackToChild'>): SucceededResponse {
  return {
    status: 'succeeded',
    accept_id: plan.acceptKey,
    offer_id: plan.offerId,
    amount: plan.amount,
    parent_order: { id: plan.parentOrderId, external_id: plan.parentExternalId },
    order: { id: written.orderId, external_id: written.orderExternalId, kind: written.kind },
    strategy: plan.strategy,
    // The order write decides; a result recorded before it said so falls back to the plan.
    fell_back_to_child: written.fellBackToChild ?? plan.fellBackToChild,
  };
}

export function failureResponse(acceptKey: string, status: FailureStatus, code: string, message: string): FailureResponse {
  return { status, accept_id: acceptKey, code, message };
}
