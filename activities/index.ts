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
import { statusUrl, type AcceptInput, type AcceptPlan, type AcceptResponse, type ChargeResult, type PreparedAccept } from '../contract/accept.ts';
import { FAILURE, type RefusalOutcome } from '../contract/failures.ts';
import type { Activities } from '../contract/activities.ts';
import type { OrphanInspection, ReconcileInput } from '../contract/reconcile.ts';
import { acceptFailure } from '../contract/refusals.ts';
import { buyerMessage } from '../domain/buyer-messages.ts';
import { classifyGatewayError, redactGatewayText, type ChargeRequest } from '../gateways/gateway.ts';
import type { GatewayRegistry } from '../gateways/registry.ts';
import { deliverOutboxEvent } from './event-delivery.ts';
import { markEventFailed } from '../db/outbox.ts';
import { OrderWriteRefusedError, findRecordedPlan, markMethodChecked, recordAcceptOutcome, recordReconciledRefund, writeUpsellOrder } from '../db/accepts.ts';
import { releaseOfferClaim } from '../db/offer-claims.ts';
import { findOrderIdForCharge, paymentExistsForAccept } from '../db/payments.ts';
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
  /** called once a transaction that wrote an outbox event committed: the worker wakes its outbox relay */
  onOutboxWrite?: () => void;
}

/** A gateway's own words, for the logs only (redacted): the buyer and the accept record get ours. */
function logGatewayWords(what: string, code: string, message: string): void {
  log.warn(what, { code, gatewayMessage: redactGatewayText(message) });
}

/**
 * The one classifier of what an activity's work threw: a refusal (ours, or a gateway's decline,
 * unsupported currency or refusal) becomes the one typed failure, AcceptRefused (never retried); an
 * unreachable gateway stays retryable. A gateway's message never travels on (to history, the accept
 * record or the buyer): the failure carries the code and our message for it. `refusedAs` is how a
 * refusal of the accept or of the buyer's method ends it at this step (rejected before the charge,
 * declined at it); a gateway refusing our request is always an error.
 */
function asFailure(err: unknown, refusedAs: Exclude<RefusalOutcome, 'error'>): unknown {
  if (err instanceof DomainError) return acceptFailure({ code: err.code, outcome: refusedAs, message: err.message });
  const gatewayError = classifyGatewayError(err);
  switch (gatewayError?.kind) {
    case 'declined':
    case 'unsupported':
      logGatewayWords('gateway refused the method', gatewayError.code, gatewayError.message);
      return acceptFailure({ code: gatewayError.code, outcome: refusedAs, message: buyerMessage(gatewayError.code) });
    case 'refused':
      logGatewayWords('gateway refused the request', gatewayError.code, gatewayError.message);
      return acceptFailure({ code: gatewayError.code, outcome: 'error', message: buyerMessage(gatewayError.code) });
    default:
      return err;
  }
}

/** A declined charge carries our message for its code; the gateway's goes to the logs. */
function inOurWords(result: ChargeResult): ChargeResult {
  if (result.status !== 'declined') return result;
  logGatewayWords('gateway declined the charge', result.code, result.message);
  return { ...result, message: buyerMessage(result.code) };
}

async function mapFailures<T>(refusedAs: Exclude<RefusalOutcome, 'error'>, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw asFailure(err, refusedAs);
  }
}

/**
 * Final statuses after which no charge stands: nothing was charged, or what was charged was
 * cancelled or refunded before the workflow recorded the outcome (the workflow guarantees it).
 */
const ENDED_WITHOUT_CHARGE = new Set<AcceptResponse['status']>(['declined', 'rejected', 'error', 'expired']);

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

export function createActivities(deps: ActivityDeps): Activities {
  const { prisma, gateways, clock, publicBaseUrl } = deps;
  const gatewayFor = (plan: AcceptPlan) => gateways.byName(plan.gateway);

  /**
   * After a failed charge: whatever the gateway did with our key, leave no charge standing. The
   * gateway's findCharge repeats the request under the same key (Stripe: the same create, until it
   * stops answering 409 in use; Paystack verifies the reference), and what it names is cancelled or
   * refunded.
   */
  async function voidUnfinished(plan: AcceptPlan): Promise<void> {
    const gateway = gatewayFor(plan);
    const found = await gateway.findCharge(chargeRequestFor(plan, publicBaseUrl));
    // A charge still waiting (for the buyer, or processing at the bank) is cancelled; if it cannot
    // be cancelled yet, this throws and Temporal asks again later, until it is final.
    const settled = found?.status === 'requires_action' ? await gateway.cancelCharge(found.chargeRef) : found;
    if (settled?.status === 'succeeded') {
      // The whole charge: under our key, whatever amount it holds, it has no order.
      await gateway.refund(settled.chargeRef, null, gatewayRefundKey(plan.acceptKey));
      log.warn('charge found after gateway errors was refunded', { acceptKey: plan.acceptKey, chargeRef: settled.chargeRef });
    } else if (settled?.status === 'requires_action') {
      throw new Error(`charge ${settled.chargeRef} is not final yet and could not be cancelled; asking again`);
    }
  }

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
      const recorded = await findRecordedPlan(prisma.sql, input);
      if (recorded?.methodChecked) return { plan: recorded.plan, methodDeclined: null };
      const plan = recorded?.plan ?? (await mapFailures('rejected', () => validateAcceptRequest({ prisma, gateways, tokenKeys: deps.tokenKeys, now: clock() }, input)));
      try {
        await gatewayFor(plan).checkPaymentMethod({
          customerRef: plan.customerRef,
          methodRef: plan.methodRef,
          email: plan.email,
          amount: plan.amount.value,
          currency: plan.amount.currency,
        });
        await markMethodChecked(prisma.sql, plan.acceptKey, clock());
        return { plan, methodDeclined: null };
      } catch (err) {
        const gatewayError = classifyGatewayError(err);
        if (gatewayError?.kind === 'declined') {
          logGatewayWords('gateway refused the saved method', gatewayError.code, gatewayError.message);
          return { plan, methodDeclined: { code: gatewayError.code, message: buyerMessage(gatewayError.code) } };
        }
        if (gatewayError?.kind === 'unavailable') {
          throw ApplicationFailure.create({ type: FAILURE.gatewayUnavailable, message: redactGatewayText(gatewayError.message), cause: gatewayError });
        }
        throw asFailure(err, 'rejected');
      }
    },

    async chargeOffSession(plan: AcceptPlan): Promise<ChargeResult> {
      return inOurWords(await mapFailures('declined', () => gatewayFor(plan).chargeOffSession(chargeRequestFor(plan, publicBaseUrl))));
    },

    // Confirm and cancel run while a charge may stand at the gateway: any failure, a refusal
    // included (a rotated key, an unexpected state), is retried until it passes, never given up on.
    async confirmCharge(plan: AcceptPlan, chargeRef: string): Promise<ChargeResult> {
      return inOurWords(await gatewayFor(plan).confirmCharge(chargeRef));
    },

    async cancelCharge(plan: AcceptPlan, chargeRef: string): Promise<ChargeResult> {
      return inOurWords(await gatewayFor(plan).cancelCharge(chargeRef));
    },

    async refundCharge(plan: AcceptPlan, chargeRef: string): Promise<void> {
      const { refundRef } = await gatewayFor(plan).refund(chargeRef, plan.amount.value, gatewayRefundKey(plan.acceptKey));
      log.warn('charge refunded (compensation)', { acceptKey: plan.acceptKey, chargeRef, refundRef });
    },

    /** After a failed charge: see voidUnfinished. */
    async voidUnfinishedCharge(plan: AcceptPlan): Promise<void> {
      await voidUnfinished(plan);
    },

    /**
     * The first workflow task failed after validation recorded its plan and the method check passed:
     * a charge may stand under this accept's key, made by an earlier run of that task. Unless its order
     * is written (a payment row), it is voided like any charge after gateway errors.
     */
    async voidRecordedCharge(input: AcceptInput): Promise<void> {
      const recorded = await findRecordedPlan(prisma, input);
      if (!recorded?.methodChecked) return;
      if (await paymentExistsForAccept(prisma, input.acceptKey)) return;
      await voidUnfinished(recorded.plan);
    },

    /** After an uncancellable charge's late-completion watch: the offer is free again unless it was paid. */
    async releaseOfferClaim(input: AcceptInput): Promise<void> {
      await releaseOfferClaim(prisma.sql, input.acceptKey);
    },

    /** Outages are retried (the workflow bounds how long); an error that will not pass ends in a refund. */
    async writeOrder(input: AcceptInput, plan: AcceptPlan, chargeRef: string) {
      try {
        const written = await writeUpsellOrder(prisma.sql, input, plan, chargeRef, clock());
        deps.onOutboxWrite?.();
        return written;
      } catch (err) {
        // Anything not known to fail for good is retried: an outage, a connection the database does
        // not accept yet, and a unique violation (a concurrent attempt wrote this accept's order;
        // the retry finds that write instead of refunding a charge whose order stands).
        if (!(err instanceof OrderWriteRefusedError) && !isPermanentDbError(err)) throw err;
        log.error('order write failed for good', { acceptKey: plan.acceptKey, error: (err as Error).message });
        throw ApplicationFailure.create({ type: FAILURE.orderWriteFailed, message: 'order_write_failed', nonRetryable: true });
      }
    },

    /**
     * A success webhook for an accept that is no longer running: is the charge one that stands
     * without an order? Asks the gateway (never the webhook), then the database.
     */
    async inspectOrphanCharge(input: ReconcileInput): Promise<OrphanInspection> {
      const charge = await gateways.byName(input.gateway).confirmCharge(input.chargeRef);
      // The webhook said success but the gateway's own read may lag it: not final is not "not charged".
      if (charge.status === 'requires_action') return 'pending';
      if (charge.status !== 'succeeded') return 'not_charged';
      return (await findOrderIdForCharge(prisma, input.gateway, input.chargeRef)) ? 'has_order' : 'orphan';
    },

    /** Refunds the whole charge (keyed like the accept's own compensation, so it happens once) and records it. */
    async refundOrphanCharge(input: ReconcileInput): Promise<{ refundRef: string }> {
      // Its own key: the accept's compensation may have refunded part of it under the accept's key
      // with an amount, and Stripe refuses a key reused with other parameters.
      const { refundRef } = await gateways.byName(input.gateway).refund(input.chargeRef, null, `${gatewayRefundKey(input.acceptKey)}-reconcile`);
      await recordReconciledRefund(prisma, input.acceptKey, refundRef, clock());
      log.warn('charge without an order refunded (reconciliation)', {
        accept_id: input.acceptKey,
        gateway: input.gateway,
        chargeRef: input.chargeRef,
        eventType: input.eventType,
        refundRef,
      });
      return { refundRef };
    },

    /** Records an answer; one that ends the accept with no charge standing also gives its offer slot back. */
    /** `keepClaim`: the accept ended, but a charge the gateway could not cancel may still complete. */
    async recordOutcome(input: AcceptInput, response: AcceptResponse, chargeRef: string | null, keepClaim = false): Promise<void> {
      await recordAcceptOutcome(prisma.sql, input, response, chargeRef, clock());
      if (ENDED_WITHOUT_CHARGE.has(response.status) && !keepClaim) await releaseOfferClaim(prisma.sql, input.acceptKey);
    },

    async deliverEvent(eventId: string): Promise<void> {
      await deliverOutboxEvent(prisma.sql, eventId, clock, deps.eventDeliveryTimeoutMs ?? 10_000);
    },

    async markEventFailed(eventId: string): Promise<void> {
      await markEventFailed(prisma.sql, eventId);
    },
  };
}
