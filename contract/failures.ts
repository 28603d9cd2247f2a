/**
 * The typed failures activities throw and the workflow branches on (Temporal ApplicationFailure
 * types), with the details each carries. Anything else is an error the workflow does not interpret.
 */
import { Type, type Static } from '@sinclair/typebox';

export const FAILURE = {
  /** the accept is refused for good: details `[Refusal]` (contract/refusals.ts builds and decodes it); never retried */
  refused: 'AcceptRefused',
  /** the gateway could not be reached (network, 5xx, rate limit); retried, and so named if it never answers. No details */
  gatewayUnavailable: 'GatewayUnavailable',
  /** the order could not be written for a reason that will not pass (constraint, data error); never retried. No details */
  orderWriteFailed: 'OrderWriteFailed',
  /**
   * Earlier encodings of a refusal, still in the histories of runs recorded before AcceptRefused:
   * the code in the failure's message, the buyer's text in details[0]. Decoded, never thrown.
   */
  legacyRejected: 'AcceptRejected',
  legacyGatewayRefused: 'GatewayRefused',
} as const;
export type FailureType = (typeof FAILURE)[keyof typeof FAILURE];

/** Failure types no retry can change: the workflow's retry policies list them. */
export const NON_RETRYABLE_FAILURES: string[] = [FAILURE.refused, FAILURE.legacyRejected, FAILURE.legacyGatewayRefused];

/**
 * How a refusal ends the accept: `rejected` (the request or its token, a 4xx), `declined` (the
 * buyer's method, 402) or `error` (the gateway refused our request, a 5xx).
 */
export const RefusalOutcome = Type.Union([Type.Literal('rejected'), Type.Literal('declined'), Type.Literal('error')]);
export type RefusalOutcome = Static<typeof RefusalOutcome>;

/** The one detail of an AcceptRefused failure: a stable code, how it ends the accept, and our words for the buyer. */
export const Refusal = Type.Object({
  code: Type.String({ pattern: '^[a-z][a-z0-9_]*$' }),
  outcome: RefusalOutcome,
  message: Type.String(),
});
export type Refusal = Static<typeof Refusal>;

/** AcceptRefused's details. */
export const AcceptRefusedDetails = Type.Tuple([Refusal]);
export type AcceptRefusedDetails = Static<typeof AcceptRefusedDetails>;
