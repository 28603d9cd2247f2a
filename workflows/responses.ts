/** Pure builders of the buyer-facing bodies, shared by the workflow and the order-writing activity. */
import type { AcceptPlan, WrittenOrder } from '../activities/types.ts';
import type { FailureResponse, SucceededResponse } from './messages.ts';

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

export function failureResponse(acceptKey: string, status: FailureResponse['status'], code: string, message: string): FailureResponse {
  return { status, accept_id: acceptKey, code, message };
}
