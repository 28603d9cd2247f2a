/**
 * The accept: what the API hands the workflow, what the workflow passes between its activities
 * (plain JSON, recorded in workflow history and in the accepts table), and the bodies the buyer gets.
 * Each shape is a TypeBox schema with its type beside it; the route schemas and the OpenAPI document
 * use the same schemas. Pure: workflow code imports this module.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { CartId } from './ids.ts';
import { Money } from './money.ts';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

// ---- The accept request (HTTP) -----------------------------------------------------------------

/** The body of POST /upsells/:offer_id/accept (the key travels in X-Idempotency-Key). */
export const AcceptRequest = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 4096, description: 'The one-click token the shop minted for this offer, parent order and cart' }),
    cart_id: CartId,
    return_url: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 2048,
        description:
          "Where the gateway sends the buyer back after a redirect confirmation (Stripe 3-D Secure): a path on this service, or an absolute URL on one of the shop's allowed origins (otherwise 400 `return_url_not_allowed`). Without it the buyer returns to the status URL. Not part of the request's identity: a replay with another return_url is the same request. Paystack returns buyers to the callback URL set on its dashboard.",
      }),
    ),
  },
  { additionalProperties: false },
);
export type AcceptRequest = Static<typeof AcceptRequest>;

// ---- Into the workflow -------------------------------------------------------------------------

export const AcceptInput = Type.Object({
  acceptKey: Type.String(),
  offerId: Type.String(),
  token: Type.String(),
  cartId: Type.String(),
  fingerprint: Type.String(),
  /** where a redirect confirmation returns the buyer (checked by the API); absent: the status URL */
  returnUrl: Type.Optional(Type.String()),
});
export type AcceptInput = Static<typeof AcceptInput>;

/**
 * What the buyer was shown, from the verified token, before validation has run: the accept's start
 * carries it into Temporal's visibility (the parent order's search attribute, the price's memo).
 */
export interface ShownAccept {
  parentExternalId: string;
  /** absent for a token minted before prices were carried */
  price?: Money;
}

/** The gateway's word that the buyer finished (or failed) SCA. A hint only: the workflow asks the gateway again. */
export const ScaCompletedSignal = Type.Object({
  gateway: Type.String(),
  chargeRef: Type.String(),
  eventType: Type.String(),
});
export type ScaCompletedSignal = Static<typeof ScaCompletedSignal>;

// ---- Between the workflow and its activities ---------------------------------------------------

export const OrderStrategy = Type.Union([Type.Literal('child'), Type.Literal('merge')]);
export const OrderKind = Type.Union([Type.Literal('child'), Type.Literal('merged')], { description: 'A new child order, or the parent with the upsell merged in' });

/** What validation decided: everything the charge and the order write need, priced on the server. */
export const AcceptPlan = Type.Object({
  acceptKey: Type.String(),
  offerId: Type.String(),
  cartId: Type.String(),
  parentOrderId: Type.String(),
  parentExternalId: Type.String(),
  productId: Type.String(),
  productName: Type.String(),
  amount: Money,
  gateway: Type.String(),
  customerRef: Nullable(Type.String()),
  methodRef: Type.String(),
  email: Nullable(Type.String()),
  strategy: OrderStrategy,
  orderKind: Type.Union([Type.Literal('child'), Type.Literal('merged')]),
  fellBackToChild: Type.Boolean(),
  scaModal: Type.Boolean(),
  scaTimeoutMs: Type.Number(),
  /** where a redirect confirmation returns the buyer; null: the accept's status URL */
  returnUrl: Nullable(Type.String()),
});
export type AcceptPlan = Static<typeof AcceptPlan>;

/** A decline with our own message for its code (the gateway's words go to the logs only). */
export const Decline = Type.Object({ code: Type.String(), message: Type.String() });
export type Decline = Static<typeof Decline>;

/** What preparing an accept found: a plan to charge, or a saved method the gateway will not charge. */
export const PreparedAccept = Type.Object({
  plan: AcceptPlan,
  methodDeclined: Nullable(Decline),
});
export type PreparedAccept = Static<typeof PreparedAccept>;

export const ChargeAction = Type.Object({
  clientSecret: Type.Optional(Type.String()),
  redirectUrl: Type.Optional(Type.String()),
});
export type ChargeAction = Static<typeof ChargeAction>;

/** A gateway's answer, mapped to our own outcomes at the gateway boundary. */
export const ChargeResult = Type.Union([
  Type.Object({ status: Type.Literal('succeeded'), chargeRef: Type.String() }),
  Type.Object({ status: Type.Literal('requires_action'), chargeRef: Type.String(), action: ChargeAction }),
  Type.Object({ status: Type.Literal('declined'), chargeRef: Nullable(Type.String()), code: Type.String(), message: Type.String() }),
]);
export type ChargeResult = Static<typeof ChargeResult>;

export const WrittenOrder = Type.Object({
  orderId: Type.String(),
  orderExternalId: Type.String(),
  kind: Type.Union([Type.Literal('child'), Type.Literal('merged')]),
  eventId: Type.String(),
  /**
   * Decided by the order write (the parent locked), which may differ from the plan's forecast.
   * Optional: results recorded in history before it existed do not carry it.
   */
  fellBackToChild: Type.Optional(Type.Boolean()),
});
export type WrittenOrder = Static<typeof WrittenOrder>;

// ---- The buyer's bodies (accept and status routes) ---------------------------------------------

const ACCEPT_ID = Type.String({ description: 'The idempotency key (also the Temporal workflow id)' });

/** What every body about a charge for the offer starts with, after its status. */
const offerCharge = { accept_id: ACCEPT_ID, offer_id: Type.String(), amount: Money };

export const AcceptSucceeded = Type.Object(
  {
    status: Type.Literal('succeeded'),
    ...offerCharge,
    parent_order: Type.Object({ id: Type.String(), external_id: Type.String({ description: "The shop's order id" }) }),
    order: Type.Object({
      id: Type.String(),
      external_id: Type.String(),
      kind: OrderKind,
    }),
    strategy: OrderStrategy,
    fell_back_to_child: Type.Boolean({ description: 'merge was wanted but the parent could no longer take it' }),
  },
  { title: 'AcceptSucceeded', description: 'Charged, and the order is written' },
);
export type SucceededResponse = Static<typeof AcceptSucceeded>;

export const AcceptRequiresAction = Type.Object(
  {
    status: Type.Literal('requires_action'),
    ...offerCharge,
    action: Type.Object({
      type: Type.Union([Type.Literal('modal'), Type.Literal('redirect')]),
      gateway: Type.String(),
      client_secret: Type.Optional(Type.String({ description: "For the gateway's on-page confirmation (modal)" })),
      redirect_url: Type.Optional(Type.String({ description: 'Where to send the buyer to authenticate (redirect)' })),
    }),
    status_url: Type.String({ description: 'Poll this (GET) for the outcome once the buyer is back' }),
  },
  { title: 'AcceptRequiresAction', description: 'The bank wants the buyer (SCA / 3-D Secure); the accept finishes after it' },
);
export type RequiresActionResponse = Static<typeof AcceptRequiresAction>;

export const AcceptDeclined = Type.Object(
  {
    status: Type.Literal('declined'),
    accept_id: ACCEPT_ID,
    code: Type.String({ description: "The gateway's decline code", examples: ['card_declined', 'insufficient_funds', 'expired_card', 'authentication_failed'] }),
    message: Type.String(),
  },
  { title: 'AcceptDeclined' },
);

export const AcceptExpired = Type.Object(
  {
    status: Type.Literal('expired'),
    accept_id: ACCEPT_ID,
    code: Type.String({ examples: ['authentication_timeout'] }),
    message: Type.String(),
  },
  { title: 'AcceptExpired', description: 'The buyer did not finish authentication in time; the charge was cancelled' },
);

/**
 * A refused or failed accept as the workflow records it: the shared Error body (contract/errors.ts,
 * which documents it), with the accept's id always present.
 */
export const AcceptFailed = Type.Object({
  status: Type.Union([Type.Literal('rejected'), Type.Literal('error')]),
  accept_id: Type.String(),
  code: Type.String(),
  message: Type.String(),
});

export const FailureResponse = Type.Union([AcceptDeclined, AcceptExpired, AcceptFailed]);
export type FailureResponse = Static<typeof FailureResponse>;
export type FailureStatus = FailureResponse['status'];

export const AcceptProcessing = Type.Object({ status: Type.Literal('processing'), accept_id: ACCEPT_ID }, { title: 'AcceptProcessing', description: 'Still running' });
export type ProcessingResponse = Static<typeof AcceptProcessing>;

/** The API's 202 when the accept has no answer within its wait: the buyer polls `status_url`. */
export const AcceptStillProcessing = Type.Object(
  {
    status: Type.Literal('processing'),
    accept_id: ACCEPT_ID,
    status_url: Type.String({ description: 'Poll this (GET) for the outcome' }),
  },
  {
    title: 'AcceptStillProcessing',
    description: 'No answer within OCART_ACCEPT_WAIT_MS: the accept goes on; poll `status_url`. A replay with the same key while it runs answers the same',
  },
);
export type StillProcessingResponse = Static<typeof AcceptStillProcessing>;

/** Every answer the workflow gives a buyer. */
export const AcceptResponse = Type.Union([AcceptSucceeded, AcceptRequiresAction, AcceptDeclined, AcceptExpired, AcceptFailed]);
export type AcceptResponse = Static<typeof AcceptResponse>;

/** An answer, or `processing` while there is none yet: what the status route shows and the record stores. */
export const AcceptState = Type.Union([AcceptSucceeded, AcceptRequiresAction, AcceptDeclined, AcceptExpired, AcceptFailed, AcceptProcessing]);
export type AcceptState = Static<typeof AcceptState>;

// ---- Out of the workflow (update, query) -------------------------------------------------------

export const AcceptPhase = Type.Union([
  Type.Literal('validating'),
  Type.Literal('charging'),
  Type.Literal('awaiting_sca'),
  Type.Literal('writing_order'),
  Type.Literal('delivering_event'),
  /** expired, but the gateway could not cancel: a late success is refunded */
  Type.Literal('watching_late_completion'),
  Type.Literal('done'),
]);
export type AcceptPhase = Static<typeof AcceptPhase>;

export const AcceptStatus = Type.Object({
  phase: AcceptPhase,
  cartId: Type.String(),
  /** The current state for the status endpoint. */
  state: AcceptState,
});
export type AcceptStatus = Static<typeof AcceptStatus>;

export const AcceptReply = Type.Object({
  response: AcceptResponse,
  /** false only for the first accept call the workflow answered */
  replayed: Type.Boolean(),
});
export type AcceptReply = Static<typeof AcceptReply>;

// ---- Pure helpers over these shapes ------------------------------------------------------------

export { failureResponse, statusUrl, succeededResponse } from './answers.ts';
