/**
 * The Temporal ApplicationFailure types activities throw and the workflow branches on. Plain
 * constants with no schema library: workflow code imports this module, and everything a workflow
 * imports goes into its bundle and is loaded into every worker (worker/worker.ts preloads it), so it
 * stays small. contract/failures.ts re-exports it beside the failures' detail schemas.
 */

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
