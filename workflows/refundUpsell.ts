/**
 * refundUpsell: a shop's refund of one upsell, keyed by the accept and the shop's Idempotency-Key
 * (the workflow ID, workflows/refund-messages.ts). Orchestration only: every side effect is an
 * activity, every clock is the SDK's.
 *
 *   reserve (payment locked: refuse, or take the amount) -> gateway refund (its own key)
 *     -> record (refund, payment, order or line, outbox) (the worker's outbox relay delivers ocart/upsell/refunded)
 *   a gateway refusal releases the reservation instead.
 */
import { allHandlersFinished, condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { createRefundActivities } from '../activities/refunds.ts';
import { FAILURE } from '../contract/failure-types.ts';
import { decodeAcceptFailure } from '../contract/refusals.ts';
import type { RefundResult } from '../gateways/gateway.ts';
import { REFUND_FINGERPRINT_MISMATCH, type RefundAnswer, type RefundInput, refundUpdate } from './refund-messages.ts';

type Activities = ReturnType<typeof createRefundActivities>;

// The database steps must finish whatever happens (a reservation taken is either recorded or
// released): no attempt limit.
const store = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 ms', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

// The gateway call carries the same key on every attempt, so an outage is retried until the gateway
// answers; only its refusal ends the refund.
const gateway = proxyActivities<Activities>({
  startToCloseTimeout: '20 seconds',
  retry: { initialInterval: '200 ms', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: [FAILURE.refused] },
});

export async function refundUpsell(input: RefundInput): Promise<RefundAnswer> {
  let answer: RefundAnswer | undefined;
  let answeredCalls = 0;
  setHandler(
    refundUpdate,
    async () => {
      await condition(() => answer !== undefined);
      return { answer: answer!, replayed: answeredCalls++ > 0 };
    },
    {
      validator: ({ fingerprint }) => {
        if (fingerprint !== input.fingerprint) throw new Error(REFUND_FINGERPRINT_MISMATCH);
      },
    },
  );
  const finish = async (final: RefundAnswer): Promise<RefundAnswer> => {
    answer ??= final;
    await condition(allHandlersFinished);
    return final;
  };

  const reservation = await store.reserveRefund(input);
  if (reservation.kind === 'answered') {
    // An earlier run's refund under this key (a recorded answer) is a replay for every call.
    if (reservation.recorded) answeredCalls = 1;
    return finish(reservation.answer);
  }
  const { plan } = reservation;

  let result: RefundResult;
  try {
    result = await gateway.refundAtGateway(plan);
  } catch (err) {
    const failure = decodeAcceptFailure(err);
    const refusal = failure.kind === 'refused' ? failure.refusal : { code: 'gateway_error', message: 'the payment gateway refused the refund; nothing was refunded' };
    return finish(await store.releaseRefund(plan, refusal.code, refusal.message));
  }

  const recorded = await store.recordRefund(plan, result);
  // ocart/upsell/refunded is in the outbox with the refund; the worker's outbox relay delivers it.
  answer = recorded.answer;
  return finish(recorded.answer);
}
