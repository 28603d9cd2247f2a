/**
 * The typed failures activities throw and the workflow branches on (Temporal ApplicationFailure
 * types), with the details each carries. Anything else is an error the workflow does not interpret.
 */
import { Type, type Static } from '@sinclair/typebox';

export { FAILURE, type FailureType, NON_RETRYABLE_FAILURES } from './failure-types.ts';

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
