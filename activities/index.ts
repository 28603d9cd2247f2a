/**
 * The accept's activities, built from injected dependencies (createActivities(deps)) so tests
 * and the worker hand in real Prisma, real gateways and a clock. Each is small and idempotent:
 * Temporal may run any of them again after a crash or a timeout.
 */
import { ApplicationFailure, log } from '@temporalio/activity';
import { isPermanentDbError, type Db } from '../db/client.ts';
import { DomainError } from '../domain/errors.ts';
import { gatewayChargeKey, gatewayRefundKey } from '../domain/idempotency.ts';
import type { SigningKey } from '../domain/token.ts';
import type { AcceptInput, AcceptResponse } from '../workflows/messages.ts';
import { statusUrl } from '../workflows/messages.ts';
import { GatewayDeclineError, GatewayRefusedError, GatewayTransientError, type ChargeRequest } from './gateways/gateway.ts';
import type { GatewayRegistry } from './gateways/registry.ts';
import { deliverOutboxEvent, markOutboxEventFailed } from './event-delivery.ts';
import { OrderWriteRefusedError, recordAcceptOutcome, writeUpsellOrder } from './accept-store.ts';
import { findRecordedPlan, markMethodChecked } from './recorded-plan.ts';
import { FAILURE, type AcceptPlan, type ChargeResult, type PreparedAccept } from './types.ts';
import { validateAcceptRequest } from './validation.ts';

export interface ActivityDeps {
  prisma: Db;
  gateways: GatewayRegistry;
  clock: () => Date;
  tokenKeys: readonly SigningKey[];
  /** base URL of this service: return URLs after a gateway redirect */
  publicBaseUrl: string;
  /** timeout for each event delivery POST */
  eventDeliveryTimeoutMs?: number;
}

/** Our typed errors become Temporal failures: refusals and declines are never retried. */
function asFailure(err: unknown): unknown {
  if (err instanceof DomainError || err instanceof GatewayDeclineError) {
    return ApplicationFailure.create({ type: FAILURE.rejected, message: err.code, details: [err.message], nonRetryable: true });
  }
  if (err instanceof GatewayRefusedError) {
    return ApplicationFailure.create({ type: FAILURE.gatewayRefused, message: err.code, details: [err.message], nonRetryable: true });
  }
  return err;
}

async function mapFailures<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw asFailure(err);
  }
}

export function chargeRequestFor(plan: AcceptPlan, publicBaseUrl: string): ChargeRequest {
  return {
    acceptKey: plan.acceptKey,
    idempotencyKey: gatewayChargeKey(plan.acceptKey),
    amount: plan.amount.value,
    currency: plan.amount.currency,
    customerRef: plan.customerRef,
    methodRef: plan.methodRef,
    email: plan.email,
    metadata: { workflow_id: plan.acceptKey, offer_id: plan.offerId, parent_order_id: plan.parentExternalId },
    returnUrl: plan.returnUrl ?? `${publicBaseUrl}${statusUrl(plan.acceptKey, plan.cartId)}`,
  };
}

export function createActivities(deps: ActivityDeps) {
  const { prisma, gateways, clock, publicBaseUrl } = deps;
  const gatewayFor = (plan: AcceptPlan) => gateways.byName(plan.gateway);

  return {
    /**
     * Steps 1-4 in one activity (a local one in the accept's first workflow task): validate (and burn the jti,
     * keyed by this accept, so a retry is not refused by its own burn), price the offer, resolve
     * the gateway, then ask the gateway whether the saved method can be charged.
     */
    async prepareAccept(input: AcceptInput): Promise<PreparedAccept> {
      // A re-run (the worker died after this activity, perhaps after the charge) gets the plan its
      // first run recorded: no second look at the token's expiry, the price or the offer, and, once
      // the method check passed, no second check either. Nothing is charged before both are recorded.
      const recorded = await findRecordedPlan(prisma, input);
      if (recorded?.methodChecked) return { plan: recorded.plan, methodDeclined: null };
      const plan = recorded?.plan ?? (await mapFailures(() => validateAcceptRequest({ prisma, gateways, tokenKeys: deps.tokenKeys, now: clock() }, input)));
      try {
        await gatewayFor(plan).checkPaymentMethod({
          customerRef: plan.customerRef,
          methodRef: plan.methodRef,
          email: plan.email,
          amount: plan.amount.value,
          currency: plan.amount.currency,
        });
        await markMethodChecked(prisma, plan.acceptKey);
        return { plan, methodDeclined: null };
      } catch (err) {
        if (err instanceof GatewayDeclineError) return { plan, methodDeclined: { code: err.code, message: err.message } };
        if (err instanceof GatewayTransientError) {
          throw ApplicationFailure.create({ type: FAILURE.gatewayUnavailable, message: err.message, cause: err });
        }
        throw asFailure(err);
      }
    },

    async chargeOffSession(plan: AcceptPlan): Promise<ChargeResult> {
      return mapFailures(() => gatewayFor(plan).chargeOffSession(chargeRequestFor(plan, publicBaseUrl)));
    },

    // Confirm and cancel run while a charge may stand at the gateway: any failure, a refusal
    // included (a rotated key, an unexpected state), is retried until it passes, never given up on.
    async confirmCharge(plan: AcceptPlan, chargeRef: string): Promise<ChargeResult> {
      return gatewayFor(plan).confirmCharge(chargeRef);
    },

    async cancelCharge(plan: AcceptPlan, chargeRef: string): Promise<ChargeResult> {
      return gatewayFor(plan).cancelCharge(chargeRef);
    },

    async refundCharge(plan: AcceptPlan, chargeRef: string): Promise<void> {
      const { refundRef } = await gatewayFor(plan).refund(chargeRef, plan.amount.value, gatewayRefundKey(plan.acceptKey));
      log.warn('charge refunded (compensation)', { acceptKey: plan.acceptKey, chargeRef, refundRef });
    },

    /** After a failed charge: whatever the gateway did with our key, leave no charge standing. */
    async voidUnfinishedCharge(plan: AcceptPlan): Promise<void> {
      const gateway = gatewayFor(plan);
      const found = await gateway.findCharge(chargeRequestFor(plan, publicBaseUrl));
      // A charge still waiting (for the buyer, or processing at the bank) is cancelled; if it cannot
      // be cancelled yet, this throws and Temporal asks again later, until it is final.
      const settled = found?.status === 'requires_action' ? await gateway.cancelCharge(found.chargeRef) : found;
      if (settled?.status === 'succeeded') {
        await gateway.refund(settled.chargeRef, plan.amount.value, gatewayRefundKey(plan.acceptKey));
        log.warn('charge found after gateway errors was refunded', { acceptKey: plan.acceptKey, chargeRef: settled.chargeRef });
      } else if (settled?.status === 'requires_action') {
        throw new Error(`charge ${settled.chargeRef} is not final yet and could not be cancelled; asking again`);
      }
    },

    /** Outages are retried (the workflow bounds how long); an error that will not pass ends in a refund. */
    async writeOrder(input: AcceptInput, plan: AcceptPlan, chargeRef: string) {
      try {
        return await writeUpsellOrder(prisma, input, plan, chargeRef, clock());
      } catch (err) {
        // Anything not known to fail for good is retried: an outage, a connection the database does
        // not accept yet, and a unique violation (a concurrent attempt wrote this accept's order;
        // the retry finds that write instead of refunding a charge whose order stands).
        if (!(err instanceof OrderWriteRefusedError) && !isPermanentDbError(err)) throw err;
        log.error('order write failed for good', { acceptKey: plan.acceptKey, error: (err as Error).message });
        throw ApplicationFailure.create({ type: FAILURE.orderWriteFailed, message: 'order_write_failed', nonRetryable: true });
      }
    },

    async recordOutcome(input: AcceptInput, response: AcceptResponse, chargeRef: string | null): Promise<void> {
      await recordAcceptOutcome(prisma, input, response, chargeRef, clock());
    },

    async deliverEvent(eventId: string): Promise<void> {
      await deliverOutboxEvent(prisma, eventId, clock, deps.eventDeliveryTimeoutMs ?? 10_000);
    },

    async markEventFailed(eventId: string): Promise<void> {
      await markOutboxEventFailed(prisma, eventId);
    },
  };
}
