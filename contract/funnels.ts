/**
 * Funnel shapes that are stored and read back: a step's definition (the funnels.steps column), the
 * `next` step an accept or decline answers (funnel_answers.next) and the buyer decline's answer
 * (buyer_declines.response). Read back through these schemas, never cast.
 */
import { Type, type Static } from '@sinclair/typebox';
import { parseStored } from './records.ts';

export const FunnelNext = Type.Object(
  {
    step_id: Type.String(),
    offer_id: Type.String(),
    name: Type.String(),
    amount: Type.Object({ value: Type.Integer(), currency: Type.String() }),
    token: Type.String({ description: "The next step's single-use token, minted by the service" }),
  },
  { title: 'FunnelNext' },
);
export type FunnelNext = Static<typeof FunnelNext>;

export const FunnelNextOrEnd = Type.Union([FunnelNext, Type.Null()], { description: "The funnel's next step, or null at its end" });

export const DeclinedBody = Type.Object({
  status: Type.Literal('declined_by_buyer'),
  accept_id: Type.String({ description: 'The idempotency key' }),
  offer_id: Type.String(),
  next: FunnelNextOrEnd,
});
export type DeclinedBody = Static<typeof DeclinedBody>;

/** A funnel step as stored; its eligibility rules are read by the domain's own parser. */
export const StoredFunnelStep = Type.Object({
  id: Type.String(),
  offer_id: Type.String(),
  on_accept: Type.String(),
  on_decline: Type.String(),
  on_payment_declined: Type.Optional(Type.String()),
  eligibility: Type.Optional(Type.Unknown()),
});
export type StoredFunnelStep = Static<typeof StoredFunnelStep>;

export function parseFunnelNext(value: unknown): FunnelNext | null {
  return value === null || value === undefined ? null : parseStored(FunnelNext, 'funnel_answers.next', value);
}

export function parseDeclinedBody(value: unknown): DeclinedBody {
  return parseStored(DeclinedBody, 'buyer_declines.response', value);
}

export function parseFunnelSteps(value: unknown): StoredFunnelStep[] {
  return parseStored(Type.Array(StoredFunnelStep), 'funnels.steps', value);
}
