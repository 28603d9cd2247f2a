/**
 * The one encoding of a refusal as a Temporal failure, and the one decoder the workflow reads every
 * activity failure with. Pure and deterministic (no I/O): workflow code imports it.
 */
import { ApplicationFailure } from '@temporalio/common';
import { FAILURE } from './failure-types.ts';
import type { Refusal, RefusalOutcome } from './failures.ts';

/** A refusal as the failure an activity throws: type AcceptRefused, details `[{code, outcome, message}]`, never retried. */
export function acceptFailure(refusal: Refusal): ApplicationFailure {
  const details: [Refusal] = [{ code: refusal.code, outcome: refusal.outcome, message: refusal.message }];
  return ApplicationFailure.create({ type: FAILURE.refused, message: `${refusal.outcome}: ${refusal.code}`, details, nonRetryable: true });
}

/** What an activity's failure means to the workflow. */
export type DecodedFailure =
  | { kind: 'refused'; refusal: Refusal }
  /** the gateway never answered (GatewayUnavailable) */
  | { kind: 'unavailable' }
  /** the order write failed for good (OrderWriteFailed) */
  | { kind: 'order_write_failed' }
  /** anything else: an error the workflow does not interpret */
  | { kind: 'other' };

/** The typed failure an activity threw, however it was wrapped (local and regular activities differ). */
export function applicationFailureIn(err: unknown): ApplicationFailure | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof ApplicationFailure) return e;
  }
  return undefined;
}

const OUTCOMES: readonly string[] = ['rejected', 'declined', 'error'] satisfies RefusalOutcome[];
const CODE = /^[a-z][a-z0-9_]*$/;

/** details[0] of an AcceptRefused failure, checked field by field (it came through the history's payload converter). */
function refusalIn(details: readonly unknown[] | undefined | null): Refusal | undefined {
  const d: unknown = details?.[0];
  if (!d || typeof d !== 'object') return undefined;
  const { code, outcome, message } = d as Record<string, unknown>;
  if (typeof code !== 'string' || !CODE.test(code) || typeof outcome !== 'string' || !OUTCOMES.includes(outcome) || typeof message !== 'string') return undefined;
  return { code, outcome: outcome as RefusalOutcome, message };
}

/** The earlier encoding (code in the message, text in details[0]), as runs recorded before AcceptRefused carry it. */
function legacyRefusal(f: ApplicationFailure, outcome: RefusalOutcome): Refusal {
  const text: unknown = f.details?.[0];
  return { code: f.message, outcome, message: typeof text === 'string' ? text : '' };
}

/** The one decoder: whatever an activity threw, what it means to the workflow. */
export function decodeAcceptFailure(err: unknown): DecodedFailure {
  const f = applicationFailureIn(err);
  switch (f?.type) {
    case FAILURE.refused: {
      const refusal = refusalIn(f.details);
      return refusal ? { kind: 'refused', refusal } : { kind: 'other' };
    }
    case FAILURE.legacyRejected:
      return { kind: 'refused', refusal: legacyRefusal(f, 'rejected') };
    case FAILURE.legacyGatewayRefused:
      return { kind: 'refused', refusal: legacyRefusal(f, 'error') };
    case FAILURE.gatewayUnavailable:
      return { kind: 'unavailable' };
    case FAILURE.orderWriteFailed:
      return { kind: 'order_write_failed' };
    default:
      return { kind: 'other' };
  }
}
