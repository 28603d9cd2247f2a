/**
 * The refund's activities (workflows/refundUpsell.ts), built from the same injected dependencies as
 * the accept's. Each is idempotent: the reservation and the record find their own earlier writes,
 * and the gateway call carries a key derived from the shop's, the same on every attempt.
 */
import { createHash } from 'node:crypto';
import { log } from '@temporalio/activity';
import { recordRefund, releaseRefund, reserveRefund, type RecordedRefund, type RefundPlan, type Reservation } from '../db/refunds.ts';
import { classifyGatewayError, redactGatewayText, type RefundResult } from '../gateways/gateway.ts';
import type { RefundAnswer, RefundInput } from '../contract/refunds.ts';
import { acceptFailure } from '../contract/refusals.ts';
import type { ActivityDeps } from './index.ts';

/**
 * The gateway-side idempotency key of one merchant refund: derived from the accept and the shop's
 * key, the same on every attempt, and inside every gateway's charset (letters, digits, '-', '.').
 */
export function gatewayMerchantRefundKey(acceptId: string, idempotencyKey: string): string {
  const digest = createHash('sha256').update(`${acceptId}/${idempotencyKey}`).digest('base64url').slice(0, 32).replace(/_/g, '.');
  return `ocr-${digest}`;
}

export function createRefundActivities(deps: Pick<ActivityDeps, 'prisma' | 'gateways' | 'clock'>) {
  const { prisma, gateways, clock } = deps;
  return {
    /** Refuses, answers from an earlier run, or reserves the amount (see db/refunds.ts). */
    async reserveRefund(input: RefundInput): Promise<Reservation> {
      return reserveRefund(prisma, input, clock());
    },

    /** A refusal is final (never retried); anything else is retried with the same key. */
    async refundAtGateway(plan: RefundPlan): Promise<RefundResult> {
      try {
        return await gateways.byName(plan.gateway).refund(plan.chargeRef, plan.amount.value, gatewayMerchantRefundKey(plan.acceptId, plan.idempotencyKey));
      } catch (err) {
        const refused = classifyGatewayError(err);
        if (refused && refused.kind !== 'unavailable') {
          log.warn('gateway refused the refund', { refundId: plan.refundId, code: refused.code, gatewayMessage: redactGatewayText(refused.message) });
          const code = refused.code === 'gateway_not_configured' ? 'gateway_not_configured' : 'gateway_error';
          throw acceptFailure({ code, outcome: 'error', message: 'the payment gateway refused the refund; nothing was refunded' });
        }
        throw err;
      }
    },

    async releaseRefund(plan: RefundPlan, code: string, message: string): Promise<RefundAnswer> {
      return releaseRefund(prisma, plan, code, message, clock());
    },

    async recordRefund(plan: RefundPlan, result: RefundResult): Promise<RecordedRefund> {
      return recordRefund(prisma, plan, result, clock());
    },
  };
}
