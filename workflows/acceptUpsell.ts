/**
 * acceptUpsell: one buyer's "yes" to one offer, keyed by the idempotency key (the workflow ID).
 * Orchestration only: every side effect is an activity, every clock is the SDK's.
 *
 *   validating -> charging -> (awaiting_sca) -> writing_order -> done
 *
 * The ocart/upsell/accepted event goes out from the outbox row the order write commits: the worker's
 * outbox relay delivers it, not this workflow. Runs recorded before patch 'outbox-relay-delivers-events'
 * deliver it themselves (delivering_event, the deliverEvent activity) and keep doing so on replay.
 */
import {
  allHandlersFinished,
  condition,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AcceptInput, AcceptPhase, AcceptPlan, AcceptResponse, AcceptState, ChargeResult, PreparedAccept, ScaCompletedSignal } from '../contract/accept.ts';
import { failureResponse, statusUrl, succeededResponse } from '../contract/answers.ts';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { AcceptActivities as Activities } from '../contract/activities.ts';
import { NON_RETRYABLE_FAILURES, FAILURE } from '../contract/failure-types.ts';
import { decodeAcceptFailure } from '../contract/refusals.ts';
import { FINGERPRINT_MISMATCH, acceptMemo, acceptUpdate, scaCompletedSignal, searchAttributes, statusQuery, type AcceptMemo } from './messages.ts';

/** How long an expired, uncancellable charge is watched for a late completion. */
const LATE_COMPLETION_WINDOW_MS = 24 * 60 * 60 * 1000;

// Validation and the payment-method check: one activity, prepareAccept. Since the patch below it is
// a local activity, so validation, the charge and the order write all run in the accept's first
// workflow task, with no round trip through the server between them. A worker crash re-runs that
// whole task; prepareAccept then returns the plan its first success recorded in PostgreSQL
// (`findRecordedPlan` in db/accepts.ts) and never re-checks expiry or price, so a re-run cannot refuse an
// accept that was already charged. Runs recorded before the patch keep the regular activity.
/** Since this patch an uncancellable charge's accept keeps its offer claim through the late watch. */
const HOLD_CLAIM_THROUGH_LATE_WATCH = 'hold-claim-through-late-watch';
const PREPARE_IN_FIRST_TASK = 'prepare-accept-local-activity';
// Since this patch the worker's outbox relay delivers the accepted event (no deliverEvent activity
// after the answer: a server round trip and a workflow task less per accept), and the search
// attributes go up in one upsert with the first outcome instead of three (the plan's, then the
// outcome twice): each upsert is an event and a visibility task on the server. All of the happy
// path runs in the first workflow task, so nothing became visible earlier before.
const RELAY_DELIVERS_EVENTS = 'outbox-relay-delivers-events';
// Since this patch one marker stands for both of the above: a run records it instead of theirs (each
// marker is a history event the server writes). Runs recorded before it replay through the two.
const FIRST_TASK_SHAPE = 'first-task-shape-3';
const checkRetry = {
  initialInterval: '100 ms',
  backoffCoefficient: 2,
  maximumInterval: '2 seconds',
  maximumAttempts: 25,
  nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
};
const checks = proxyActivities<Activities>({ startToCloseTimeout: '20 seconds', retry: checkRetry });
const localChecks = proxyLocalActivities<Activities>({ startToCloseTimeout: '20 seconds', retry: checkRetry });

// Charging and writing the order run as local activities, back to back in one workflow task with
// no server round trip per step. That is safe because both are idempotent under re-execution: the
// gateway replays the same idempotency key, and writeOrder finds its own earlier write.
// Gateway calls carry an idempotency key, so Temporal may retry them safely.
// Declines and refusals come back as results or non-retryable failures, never as retries.
const gateway = proxyLocalActivities<Activities>({
  startToCloseTimeout: '20 seconds',
  retry: {
    initialInterval: '200 ms',
    backoffCoefficient: 2,
    maximumInterval: '3 seconds',
    maximumAttempts: 6,
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
  },
});

// The order after a charge. First as a local activity (no round trip through the server), 15
// attempts over about 50 s; if the database is still away, as a regular activity, whose retries add
// nothing to history, for up to a day. Only an error that will not pass, or a day without a
// database, ends in a refund: endless local retries would grow history (a workflow-task heartbeat
// every few seconds) until the server ended the run with the charge standing. Attempts, not a
// schedule-to-close timeout, bound the local part: SDK 1.24 did not stop local retries at one.
const orderWriter = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '100 ms',
    backoffCoefficient: 2,
    maximumInterval: '5 seconds',
    maximumAttempts: 15,
    nonRetryableErrorTypes: [FAILURE.orderWriteFailed],
  },
});
const durableOrderWriter = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '24 hours',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: [FAILURE.orderWriteFailed] },
});

// Recording, compensation and reconciliation must finish whatever happens: no attempt limit.
const persistent = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 ms', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

// Event delivery (runs from before the relay): backoff up to an hour, for about a day; then the event
// is marked failed. The relay keeps the same schedule.
const delivery = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 hour', maximumAttempts: 30 },
});

export async function acceptUpsell(input: AcceptInput): Promise<AcceptState> {
  const key = input.acceptKey;
  let phase: AcceptPhase = 'validating';
  let response: AcceptResponse | undefined;
  let state: AcceptState = { status: 'processing', accept_id: key };
  let answeredCalls = 0;
  let scaSignal: ScaCompletedSignal | undefined;

  setHandler(statusQuery, () => ({ phase, cartId: input.cartId, state }));
  setHandler(scaCompletedSignal, (signal) => {
    // Only recorded: the workflow asks the gateway itself before trusting it.
    scaSignal ??= signal;
  });
  setHandler(
    acceptUpdate,
    async () => {
      await condition(() => response !== undefined);
      return { response: response!, replayed: answeredCalls++ > 0 };
    },
    {
      validator: ({ fingerprint }) => {
        if (fingerprint !== input.fingerprint) throw new Error(FINGERPRINT_MISMATCH);
      },
    },
  );

  /** The first answer is what every accept call (and replay) gets; state follows the flow. */
  const answer = (r: AcceptResponse) => {
    response ??= r;
    state = r;
  };
  // Since RELAY_DELIVERS_EVENTS: the plan's attributes wait for the first outcome, and an outcome
  // already set is not set again.
  let lean = false;
  let planAttributes: SearchAttributeUpdatePair[] = [];
  let outcomeSet: string | undefined;
  const setOutcome = (outcome: string) => {
    if (lean && outcome === outcomeSet && planAttributes.length === 0) return;
    upsertSearchAttributes([...planAttributes, { key: searchAttributes.upsellOutcome, value: outcome }]);
    planAttributes = [];
    outcomeSet = outcome;
  };
  const finish = async (final: AcceptResponse, chargeRef: string | null, alreadyRecorded = false): Promise<AcceptState> => {
    answer(final);
    setOutcome(final.status);
    if (!alreadyRecorded) await persistent.recordOutcome(input, final, chargeRef);
    phase = 'done';
    await condition(allHandlersFinished);
    return final;
  };

  /** After an expiry the gateway could not cancel: a late success gets refunded, never kept without an order. */
  const refundLateCompletion = async (plan: AcceptPlan, chargeRef: string) => {
    phase = 'watching_late_completion';
    const watchUntil = Date.now() + LATE_COMPLETION_WINDOW_MS;
    for (;;) {
      const remaining = watchUntil - Date.now();
      const signalled = remaining > 0 && (await condition(() => scaSignal !== undefined, remaining));
      scaSignal = undefined;
      const late = await persistent.confirmCharge(plan, chargeRef);
      if (late.status === 'succeeded') {
        log.warn('charge completed after the accept expired: refunding', { chargeRef });
        await persistent.refundCharge(plan, chargeRef);
        return;
      }
      if (late.status === 'declined' || !signalled) return;
    }
  };

  // 1-4. Validate, burn the jti, price the offer on the server, resolve the gateway, and check
  // the saved method on the gateway side.
  const current = patched(FIRST_TASK_SHAPE);
  const inFirstTask = current || patched(PREPARE_IN_FIRST_TASK);
  let prepared: PreparedAccept;
  try {
    prepared = inFirstTask ? await localChecks.prepareAccept(input) : await checks.prepareAccept(input);
  } catch (err) {
    const failure = decodeAcceptFailure(err);
    if (failure.kind === 'refused') {
      const { outcome, code, message } = failure.refusal;
      return finish(failureResponse(key, outcome, code, message), null);
    }
    if (failure.kind === 'unavailable') {
      return finish(failureResponse(key, 'error', 'gateway_error', 'the payment gateway did not answer; nothing was charged'), null);
    }
    if (inFirstTask) {
      // A re-run of the first task (after a crash) may follow a charge its earlier run made: if the
      // plan was recorded and the method checked, whatever stands under this key without an order goes.
      await persistent.voidRecordedCharge(input);
      return finish(failureResponse(key, 'error', 'internal_error', 'the accept could not be completed; nothing was kept'), null);
    }
    return finish(failureResponse(key, 'error', 'internal_error', 'the accept could not be validated; nothing was charged'), null);
  }
  const { plan } = prepared;
  lean = current || patched(RELAY_DELIVERS_EVENTS);
  const attributes = [
    { key: searchAttributes.parentOrderId, value: plan.parentExternalId },
    { key: searchAttributes.gateway, value: plan.gateway },
  ];
  if (lean) planAttributes = attributes;
  else upsertSearchAttributes(attributes);
  // Since FIRST_TASK_SHAPE the API starts the run with the token's price as its memo, and the plan's
  // is the same unless the token carried none: then no upsert. Runs of the older shapes always
  // upserted it, also those an older worker ran with a memo at start, and replay the same way.
  const memo = acceptMemo(plan.amount);
  const started = workflowInfo().memo as Partial<AcceptMemo> | undefined;
  if (!current || started?.amount !== memo.amount || started?.currency !== memo.currency) upsertMemo(memo);
  if (prepared.methodDeclined) {
    return finish(failureResponse(key, 'declined', prepared.methodDeclined.code, prepared.methodDeclined.message), null);
  }

  // 5. Charge off-session.
  phase = 'charging';
  let charge: ChargeResult;
  try {
    charge = await gateway.chargeOffSession(plan);
  } catch (err) {
    const failure = decodeAcceptFailure(err);
    // At the charge, a refusal of the buyer's method or of the accept is a decline: nothing was charged.
    if (failure.kind === 'refused' && failure.refusal.outcome !== 'error') {
      return finish(failureResponse(key, 'declined', failure.refusal.code, failure.refusal.message), null);
    }
    const r =
      failure.kind === 'refused'
        ? failureResponse(key, 'error', failure.refusal.code, failure.refusal.message)
        : failureResponse(key, 'error', 'gateway_error', 'the payment gateway did not answer; nothing was kept');
    answer(r);
    // Whatever the gateway did with our key, no charge may stand without an order.
    await persistent.voidUnfinishedCharge(plan);
    return finish(r, null);
  }

  // 6. Outcome dispatch. requires_action answers the buyer, waits for SCA, then asks the gateway again.
  if (charge.status === 'requires_action') {
    const pendingRef = charge.chargeRef;
    phase = 'awaiting_sca';
    answer({
      status: 'requires_action',
      accept_id: key,
      offer_id: plan.offerId,
      amount: plan.amount,
      action: {
        type: plan.scaModal && charge.action.clientSecret ? 'modal' : 'redirect',
        gateway: plan.gateway,
        ...(charge.action.clientSecret ? { client_secret: charge.action.clientSecret } : {}),
        ...(charge.action.redirectUrl ? { redirect_url: charge.action.redirectUrl } : {}),
      },
      status_url: statusUrl(key, input.cartId),
    });
    setOutcome('requires_action');
    await persistent.recordOutcome(input, response!, pendingRef);

    const deadline = Date.now() + plan.scaTimeoutMs;
    for (;;) {
      const remaining = deadline - Date.now();
      const signalled = remaining > 0 && (await condition(() => scaSignal !== undefined, remaining));
      // Cleared before asking, not after: a signal that lands while the gateway is being asked
      // must wake the next wait, or it would be lost until the timeout.
      scaSignal = undefined;
      charge = await persistent.confirmCharge(plan, pendingRef);
      if (charge.status !== 'requires_action') break;
      if (!signalled) {
        // Timed out: cancel at the gateway. A charge that completed at the last moment still counts.
        charge = await persistent.cancelCharge(plan, pendingRef);
        if (charge.status === 'succeeded') break;
        const expired = failureResponse(key, 'expired', 'authentication_timeout', 'the buyer did not finish authentication in time');
        if (charge.status === 'requires_action') {
          // The gateway cannot cancel (Paystack has no cancel): the buyer may still finish later.
          answer(expired);
          setOutcome('expired');
          // The offer stays claimed while the buyer may still complete: a second tab must not be
          // charged for it in the meantime.
          const holdClaim = patched(HOLD_CLAIM_THROUGH_LATE_WATCH);
          await persistent.recordOutcome(input, expired, pendingRef, holdClaim);
          await refundLateCompletion(plan, pendingRef);
          if (holdClaim) await persistent.releaseOfferClaim(input);
          return finish(expired, pendingRef, true);
        }
        return finish(expired, pendingRef);
      }
      log.warn('SCA signal not confirmed by the gateway; waiting on', { chargeRef: pendingRef });
    }
  }

  if (charge.status === 'declined' && charge.chargeRef && phase === 'awaiting_sca') {
    // A failed authentication can leave the intent confirmable by its client secret: cancel it. A
    // confirmation that landed in between shows up here as succeeded and becomes an order.
    const after = await persistent.cancelCharge(plan, charge.chargeRef);
    if (after.status === 'succeeded') charge = after;
  }
  if (charge.status === 'declined') return finish(failureResponse(key, 'declined', charge.code, charge.message), charge.chargeRef);
  if (charge.status !== 'succeeded') throw new Error('unreachable: charge still requires action');

  // 7. Write the order, payment, accept record and outbox event in one transaction.
  phase = 'writing_order';
  const chargeRef = charge.chargeRef;
  let eventId: string;
  let succeeded: AcceptResponse;
  try {
    const written = await orderWriter.writeOrder(input, plan, chargeRef).catch((err: unknown) => {
      if (decodeAcceptFailure(err).kind === 'order_write_failed') throw err;
      log.warn('order write still failing after its local attempts; retrying as a regular activity', { chargeRef });
      return durableOrderWriter.writeOrder(input, plan, chargeRef);
    });
    eventId = written.eventId;
    succeeded = succeededResponse(plan, written);
    answer(succeeded);
    setOutcome('succeeded');
  } catch {
    // Never a charge without an order: refund it, record that, and say so.
    await persistent.refundCharge(plan, chargeRef);
    return finish(failureResponse(key, 'error', 'internal_error', 'the order could not be written; the charge was refunded'), chargeRef);
  }

  // 8. The outbox relay fires ocart/upsell/accepted to the shop's subscribers. Runs from before it
  // deliver the event here; a crash only delays it.
  if (lean) return finish(succeeded, chargeRef, true);
  phase = 'delivering_event';
  try {
    await delivery.deliverEvent(eventId);
  } catch {
    await persistent.markEventFailed(eventId);
  }
  return finish(succeeded, chargeRef, true);
}
