/**
 * The Stripe adapter, on the official SDK. Everything Stripe-specific ends here: PaymentIntent
 * statuses and Stripe's error classes become our ChargeResult and typed gateway errors.
 *
 * One click means charging the saved card without asking the buyer again, so the intent is confirmed
 * off-session. When the bank insists on the buyer (authentication_required), the intent is confirmed
 * again on-session with our return URL, so the buyer can finish either in a Stripe.js modal
 * (client_secret) or on the bank's page (next_action.redirect_to_url).
 */
import Stripe from 'stripe';
import { stripeAmount, type Money } from '../domain/money.ts';
import {
  type ChargeRequest,
  type ChargeResult,
  GatewayCurrencyError,
  GatewayDeclineError,
  GatewayRefusedError,
  GatewayTransientError,
  type GatewayWebhookEvent,
  type PaymentGateway,
  WebhookSignatureError,
  headerValue,
} from './gateway.ts';

export interface StripeGatewayOptions {
  secretKey: string;
  webhookSecret: string;
  /** e.g. http://127.0.0.1:12111 for a Stripe-compatible test server; api.stripe.com when absent */
  apiBase?: string;
  /** The SDK's own retries. 0 by default: Temporal retries the activity with the same idempotency key. */
  maxNetworkRetries: number;
  /**
   * Per-request timeout. Below the gateway activities' 20 s startToCloseTimeout, so a slow Stripe
   * ends an attempt with our transient error rather than an activity timeout.
   */
  timeoutMs?: number;
  /** for the card-expiry check */
  clock?: () => Date;
}

export const STRIPE_SIGNATURE_HEADER = 'stripe-signature';
const DEFAULT_TIMEOUT_MS = 15_000;

/**
 * Our minor units (ISO 4217) to the integer Stripe expects for the same money, by Stripe's own
 * rules (domain/money.ts). Refused, never rounded: the buyer pays exactly the price shown, or nothing.
 */
export function toStripeAmount(money: Money): number {
  const converted = stripeAmount(money);
  if (!converted.ok) throw new GatewayCurrencyError(`stripe cannot charge this: ${converted.reason}`);
  return converted.amount;
}

/**
 * The decline code the buyer-facing response carries. Stripe's generic_decline says no more than
 * card_declined does; its authentication failure gets the code every gateway here uses.
 */
export function declineCodeOf(error: { code?: string | undefined; decline_code?: string | undefined } | null | undefined): string {
  const code = error?.decline_code && error.decline_code !== 'generic_decline' ? error.decline_code : (error?.code ?? 'card_declined');
  return code === 'payment_intent_authentication_failure' ? 'authentication_failed' : code;
}

/** What a PaymentIntent's state means for the accept. Used for every answer: create, confirm, cancel, find. */
export function chargeResultFromIntent(intent: Stripe.PaymentIntent): ChargeResult {
  switch (intent.status) {
    case 'succeeded':
      return { status: 'succeeded', chargeRef: intent.id };
    case 'requires_action':
      return requiresAction(intent);
    case 'requires_payment_method': {
      const failure = intent.last_payment_error;
      // The off-session attempt was refused until the buyer authenticates: still theirs to finish.
      if (failure?.code === 'authentication_required') return requiresAction(intent);
      return { status: 'declined', chargeRef: intent.id, code: declineCodeOf(failure), message: failure?.message ?? 'The payment was not completed.' };
    }
    case 'canceled':
      return { status: 'declined', chargeRef: intent.id, code: 'canceled', message: 'The payment was canceled.' };
    case 'processing':
      // Cards settle in seconds; asking again later is the only honest answer.
      throw new GatewayTransientError(`stripe: payment intent ${intent.id} is still processing`);
    default:
      throw new GatewayRefusedError('gateway_error', `stripe: payment intent ${intent.id} is in an unexpected state (${intent.status})`);
  }
}

function requiresAction(intent: Stripe.PaymentIntent): ChargeResult {
  const redirectUrl = intent.next_action?.type === 'redirect_to_url' ? intent.next_action.redirect_to_url?.url : undefined;
  return {
    status: 'requires_action',
    chargeRef: intent.id,
    action: { ...(intent.client_secret ? { clientSecret: intent.client_secret } : {}), ...(redirectUrl ? { redirectUrl } : {}) },
  };
}

/** A card error (HTTP 402) that came without its PaymentIntent: all there is to go on is the error. */
export function declineFromCardError(error: Stripe.errors.StripeCardError): ChargeResult {
  return { status: 'declined', chargeRef: null, code: declineCodeOf(error), message: error.message };
}

/**
 * Stripe's failures as ours: what may pass with time is transient (Temporal retries it with the same
 * idempotency key), the rest is a refusal that no retry can change.
 */
export function gatewayErrorFrom(err: unknown): Error {
  const { errors } = Stripe;
  if (!(err instanceof errors.StripeError)) return err instanceof Error ? err : new Error(String(err));
  if (
    err instanceof errors.StripeConnectionError ||
    err instanceof errors.StripeRateLimitError ||
    err instanceof errors.StripeAPIError ||
    (err.statusCode ?? 0) >= 500 ||
    err.statusCode === 409
  ) {
    return new GatewayTransientError(`stripe: ${err.message}`);
  }
  if (err instanceof errors.StripeAuthenticationError || err instanceof errors.StripePermissionError) {
    return new GatewayRefusedError('gateway_error', `stripe refused our API key: ${err.message}`);
  }
  if (err instanceof errors.StripeIdempotencyError) {
    return new GatewayRefusedError('gateway_error', `stripe refused a reused idempotency key: ${err.message}`);
  }
  return new GatewayRefusedError('gateway_error', `stripe refused the request${err.code ? ` (${err.code})` : ''}: ${err.message}`);
}

/**
 * A Stripe refund's state as ours: succeeded, or pending (Stripe settles it later; requires_action
 * is Stripe waiting on the buyer's bank details). A failed or canceled refund gave nothing back.
 */
export function refundStatus(refund: Stripe.Refund): 'succeeded' | 'pending' {
  if (refund.status === 'succeeded') return 'succeeded';
  if (refund.status === 'pending' || refund.status === 'requires_action') return 'pending';
  throw new GatewayRefusedError('gateway_error', `stripe: refund ${refund.id} is ${refund.status ?? 'in no state'}`);
}

/** The accept's own webhook events; null for any other event, or an intent we did not create. */
export function webhookEventFrom(event: Stripe.Event): GatewayWebhookEvent | null {
  if (event.type !== 'payment_intent.succeeded' && event.type !== 'payment_intent.payment_failed') return null;
  const intent = event.data.object;
  const acceptKey = intent.metadata?.workflow_id;
  if (!acceptKey || !intent.metadata?.offer_id) return null;
  return { acceptKey, chargeRef: intent.id, eventType: event.type, succeeded: event.type === 'payment_intent.succeeded' };
}

function apiLocation(apiBase: string | undefined): Pick<Stripe.StripeConfig, 'host' | 'port' | 'protocol'> {
  if (!apiBase) return {};
  const url = new URL(apiBase);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`STRIPE_API_BASE must be an http(s) URL, got "${apiBase}"`);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return { host: url.hostname, port: url.port || (protocol === 'http' ? 80 : 443), protocol };
}

const isCardError = (err: unknown): err is Stripe.errors.StripeCardError => err instanceof Stripe.errors.StripeCardError;
const isUnexpectedState = (err: unknown): boolean => err instanceof Stripe.errors.StripeInvalidRequestError && err.code === 'payment_intent_unexpected_state';

/**
 * The off-session create, the same for every attempt (the idempotency key requires identical
 * parameters). Current API versions enable automatic_payment_methods by default, and Stripe then
 * refuses a confirm without a return_url, since some methods redirect. We send the return_url
 * rather than forbid redirects: a saved card's 3-D Secure may itself be a redirect to the bank's
 * page, and the buyer must come back from it (the redirect flow, see chargeOffSession).
 */
export function createParams(request: ChargeRequest): Stripe.PaymentIntentCreateParams {
  return {
    amount: toStripeAmount({ value: request.amount, currency: request.currency }),
    currency: request.currency.toLowerCase(),
    ...(request.customerRef ? { customer: request.customerRef } : {}),
    payment_method: request.methodRef,
    off_session: true,
    confirm: true,
    return_url: request.returnUrl,
    metadata: request.metadata,
  };
}

export function createStripeGateway(options: StripeGatewayOptions): PaymentGateway {
  const stripe = new Stripe(options.secretKey, {
    ...apiLocation(options.apiBase),
    maxNetworkRetries: options.maxNetworkRetries,
    timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    appInfo: { name: 'ocart-upsells' },
  });
  const clock = options.clock ?? (() => new Date());

  async function call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw gatewayErrorFrom(err);
    }
  }

  const retrieve = (id: string) => call(() => stripe.paymentIntents.retrieve(id));

  /** An idempotent replay shows the intent as it was first answered: a processing one is read afresh. */
  async function settle(intent: Stripe.PaymentIntent): Promise<ChargeResult> {
    return chargeResultFromIntent(intent.status === 'processing' ? await retrieve(intent.id) : intent);
  }

  /** A charge attempt. Stripe answers a decline with an error, which still carries the intent. */
  async function attempt(work: () => Promise<Stripe.PaymentIntent>): Promise<ChargeResult> {
    let intent: Stripe.PaymentIntent;
    try {
      intent = await work();
    } catch (err) {
      if (!isCardError(err)) throw gatewayErrorFrom(err);
      if (!err.payment_intent) return declineFromCardError(err);
      intent = err.payment_intent;
    }
    return settle(intent);
  }

  async function intentsForAccept(acceptKey: string, customerRef: string | null): Promise<Stripe.PaymentIntent[]> {
    const ours = (pi: Stripe.PaymentIntent) => pi.metadata?.workflow_id === acceptKey;
    return call(async () => {
      // Listing is read-after-write consistent; search lags by up to a minute, so it is the fallback.
      if (customerRef) {
        const found: Stripe.PaymentIntent[] = [];
        for await (const pi of stripe.paymentIntents.list({ customer: customerRef, limit: 100 })) if (ours(pi)) found.push(pi);
        return found;
      }
      const quoted = acceptKey.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
      const page = await stripe.paymentIntents.search({ query: `metadata['workflow_id']:'${quoted}'`, limit: 100 });
      return page.data.filter(ours);
    });
  }

  return {
    name: 'stripe',

    async checkPaymentMethod({ customerRef, methodRef, amount, currency }) {
      // Before anything else: a currency Stripe cannot take is the same refusal on every gateway.
      toStripeAmount({ value: amount, currency });
      if (!customerRef) throw new GatewayDeclineError('payment_method_unusable', 'the parent order names no Stripe customer to charge off-session');
      let method: Stripe.PaymentMethod;
      try {
        method = await stripe.paymentMethods.retrieve(methodRef);
      } catch (err) {
        if (err instanceof Stripe.errors.StripeInvalidRequestError && err.statusCode === 404) {
          throw new GatewayDeclineError('payment_method_unusable', `stripe has no payment method ${methodRef}`);
        }
        throw gatewayErrorFrom(err);
      }
      const owner = typeof method.customer === 'string' ? method.customer : (method.customer?.id ?? null);
      if (owner !== customerRef) throw new GatewayDeclineError('payment_method_unusable', `payment method ${methodRef} is not saved to customer ${customerRef}`);
      if (method.type !== 'card' || !method.card) throw new GatewayDeclineError('payment_method_unusable', `payment method ${methodRef} is not a card`);
      const now = clock();
      const { exp_year: year, exp_month: month } = method.card;
      if (year < now.getUTCFullYear() || (year === now.getUTCFullYear() && month < now.getUTCMonth() + 1)) {
        throw new GatewayDeclineError('payment_method_unusable', `the card saved as ${methodRef} expired in ${month}/${year}`);
      }
    },

    async chargeOffSession(request: ChargeRequest) {
      const outcome = await attempt(() => stripe.paymentIntents.create(createParams(request), { idempotencyKey: request.idempotencyKey }));
      if (outcome.status !== 'requires_action' || outcome.action.redirectUrl) return outcome;
      // The bank wants the buyer. Confirming on-session with our return URL gives the bank's page to
      // redirect to, and the client secret still serves a Stripe.js modal. Keyed, so a retry replays it.
      return attempt(() =>
        stripe.paymentIntents.confirm(outcome.chargeRef, { payment_method: request.methodRef, return_url: request.returnUrl }, { idempotencyKey: `${request.idempotencyKey}-sca` }),
      );
    },

    async confirmCharge(chargeRef) {
      return settle(await retrieve(chargeRef));
    },

    async cancelCharge(chargeRef) {
      try {
        return await settle(await stripe.paymentIntents.cancel(chargeRef, { cancellation_reason: 'abandoned' }));
      } catch (err) {
        // Already succeeded (or already canceled): the intent as it stands is the answer.
        if (isUnexpectedState(err)) return settle(await retrieve(chargeRef));
        throw gatewayErrorFrom(err);
      }
    },

    async refund(chargeRef, amount, idempotencyKey) {
      const intent = await retrieve(chargeRef);
      try {
        // No amount: the whole charge (a charge found without its order, whatever it holds).
        const refund = await stripe.refunds.create(
          { payment_intent: chargeRef, ...(amount === null ? {} : { amount: toStripeAmount({ value: amount, currency: intent.currency }) }) },
          { idempotencyKey },
        );
        return { refundRef: refund.id, status: refundStatus(refund) };
      } catch (err) {
        // Refunded already (from the dashboard, say): the money is back, which is all we wanted.
        if (err instanceof Stripe.errors.StripeInvalidRequestError && err.code === 'charge_already_refunded') {
          const earlier = await call(() => stripe.refunds.list({ payment_intent: chargeRef, limit: 1 }));
          if (earlier.data[0]) return { refundRef: earlier.data[0].id, status: refundStatus(earlier.data[0]) };
        }
        throw gatewayErrorFrom(err);
      }
    },

    async findCharge(request) {
      // The same create, under the same key. Stripe answers 409 idempotency_key_in_use while the
      // first is still executing (transient: asked again until it is done), then replays what it
      // answered: the intent, whatever became of it. A list would miss an intent whose create is
      // still in flight, which then stands with no one left to refund it.
      // Should the first never have reached Stripe, this makes the charge now, and the caller
      // refunds it: no charge stands without its order either way.
      let params: Stripe.PaymentIntentCreateParams;
      try {
        params = createParams(request);
      } catch (err) {
        // A currency Stripe does not take was never sent: nothing was charged.
        if (err instanceof GatewayCurrencyError) return null;
        throw err;
      }
      let intent: Stripe.PaymentIntent | null = null;
      try {
        intent = await stripe.paymentIntents.create(params, { idempotencyKey: request.idempotencyKey });
      } catch (err) {
        if (isCardError(err)) {
          if (!err.payment_intent) return declineFromCardError(err);
          intent = err.payment_intent;
        } else if (err instanceof Stripe.errors.StripeError && err.statusCode === 409) {
          throw new GatewayTransientError(`stripe: the first create under ${request.idempotencyKey} is still in flight (${err.code ?? '409'})`);
        } else if (err instanceof Stripe.errors.StripeInvalidRequestError && err.statusCode === 400) {
          // Refused by validation, which Stripe does not save under the key: nothing ran, nothing was charged.
          return null;
        } else if (!(err instanceof Stripe.errors.StripeIdempotencyError)) {
          throw gatewayErrorFrom(err);
        }
      }
      // The replay is the create's first answer: read the intent as it stands now.
      if (intent) return settle(await retrieve(intent.id));
      // Stripe refuses the replay (the key has been pruned, or was used otherwise): look the accept's intents up.
      const found = await intentsForAccept(request.metadata.workflow_id, request.customerRef);
      // One key makes one intent; should a second ever exist, the money that moved is what matters.
      const pick = found.find((pi) => pi.status === 'succeeded') ?? found.find((pi) => pi.status !== 'canceled') ?? found[0];
      return pick ? settle(pick) : null;
    },

    parseWebhook(rawBody, headers) {
      const signature = headerValue(headers, STRIPE_SIGNATURE_HEADER);
      if (!signature) throw new WebhookSignatureError('the Stripe-Signature header is missing');
      let event: Stripe.Event;
      try {
        event = stripe.webhooks.constructEvent(rawBody, signature, options.webhookSecret);
      } catch (err) {
        if (err instanceof Stripe.errors.StripeSignatureVerificationError) throw new WebhookSignatureError(err.message);
        throw err;
      }
      return webhookEventFrom(event);
    },
  };
}
