/**
 * A local Stripe-compatible HTTP server for tests (node:http, no dependencies). The Stripe SDK talks to
 * it as it talks to api.stripe.com: form-encoded bodies, a bearer key, Idempotency-Key headers, and
 * Stripe's error shape, so the SDK raises StripeCardError, StripeInvalidRequestError and so on with
 * their code, decline_code and payment_intent. Every object it answers with starts from Stripe's own
 * example of that object (test/gateways/specs/stripe/fixtures3.json), so the SDK and the adapter
 * parse what real Stripe sends.
 *
 * It follows Stripe's documented test-mode behaviour:
 *   pm_card_visa                             succeeds, off-session or on
 *   pm_card_authenticationRequired           off-session: 402 authentication_required, the intent back
 *                                            to requires_payment_method; on-session: requires_action
 *                                            (redirect_to_url when a return_url is given)
 *   pm_card_chargeDeclined                   402 card_declined / generic_decline
 *   pm_card_chargeDeclinedInsufficientFunds  402 card_declined / insufficient_funds
 *   pm_card_chargeDeclinedExpiredCard        402 expired_card
 * Attaching one of those ids to a customer makes a new pm_... saved to that customer, as Stripe does.
 * Idempotency: the same key with the same parameters replays the first answer (Idempotent-Replayed:
 * true); with other parameters it is a 400 idempotency_error; while a request with the key is still
 * being carried out, another is 409 idempotency_key_in_use (nothing saved). Unknown parameters are
 * refused (parameter_unknown). Search answers at once, where Stripe's lags by up to a minute.
 * Automatic payment methods are on unless the create pins the types (payment_method_types, or
 * allowed_payment_method_types on the newest API versions), and then a confirmation without a
 * return_url is refused with Stripe's own error unless allow_redirects is "never".
 *
 * The control API (failNext, dropNext, delayNext, stallNext, delayMs, authenticate, event, intentsFor, requests)
 * lets tests inject faults, play the buyer on the bank's page, and count what was charged.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

type Json = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Stripe's own example objects

/** Vendored with its licence in test/gateways/specs/stripe (see the README there). */
export function stripeFixturesPath(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), 'specs/stripe/fixtures3.json');
}

interface Fixtures {
  charge: Json;
  payment_intent: Json;
  payment_method: Json;
  customer: Json;
  refund: Json;
  event: Json;
}

function loadFixtures(): Fixtures {
  const parsed: unknown = JSON.parse(readFileSync(stripeFixturesPath(), 'utf8'));
  const resources = isRecord(parsed) && isRecord(parsed.resources) ? parsed.resources : {};
  const pick = (name: string): Json => {
    const found = resources[name];
    if (!isRecord(found)) throw new Error(`fixtures3.json has no "${name}" resource`);
    return found;
  };
  return {
    charge: pick('charge'),
    payment_intent: pick('payment_intent'),
    payment_method: pick('payment_method'),
    customer: pick('customer'),
    refund: pick('refund'),
    event: pick('event'),
  };
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Test cards, and the server's own model of what it holds

type CardBehaviour = { kind: 'succeeds' } | { kind: 'authenticates' } | { kind: 'declines'; code: string; declineCode: string; message: string };

interface TestCard {
  brand: string;
  last4: string;
  behaviour: CardBehaviour;
}

export const TEST_CARDS: Readonly<Record<string, TestCard>> = {
  pm_card_visa: { brand: 'visa', last4: '4242', behaviour: { kind: 'succeeds' } },
  pm_card_mastercard: { brand: 'mastercard', last4: '4444', behaviour: { kind: 'succeeds' } },
  pm_card_authenticationRequired: { brand: 'visa', last4: '3184', behaviour: { kind: 'authenticates' } },
  pm_card_chargeDeclined: {
    brand: 'visa',
    last4: '0002',
    behaviour: { kind: 'declines', code: 'card_declined', declineCode: 'generic_decline', message: 'Your card was declined.' },
  },
  pm_card_chargeDeclinedInsufficientFunds: {
    brand: 'visa',
    last4: '9995',
    behaviour: { kind: 'declines', code: 'card_declined', declineCode: 'insufficient_funds', message: 'Your card has insufficient funds.' },
  },
  pm_card_chargeDeclinedExpiredCard: {
    brand: 'visa',
    last4: '0069',
    behaviour: { kind: 'declines', code: 'expired_card', declineCode: 'expired_card', message: 'Your card has expired.' },
  },
};

type IntentStatus = 'requires_payment_method' | 'requires_confirmation' | 'requires_action' | 'requires_capture' | 'processing' | 'succeeded' | 'canceled';

interface CustomerState {
  id: string;
  email: string | null;
  metadata: Record<string, string>;
  created: number;
}

interface PaymentMethodState {
  id: string;
  customer: string | null;
  card: TestCard;
  expMonth: number;
  expYear: number;
  created: number;
}

/** A PaymentIntent as the server holds it; tests read these snapshots. */
export interface IntentState {
  id: string;
  seq: number;
  clientSecret: string;
  created: number;
  amount: number;
  currency: string;
  customer: string | null;
  paymentMethod: string | null;
  metadata: Record<string, string>;
  status: IntentStatus;
  lastPaymentError: Json | null;
  nextAction: Json | null;
  latestCharge: string | null;
  amountReceived: number;
  amountRefunded: number;
  canceledAt: number | null;
  cancellationReason: string | null;
  /** how the last confirmation was made, and where it asked the buyer to come back to */
  offSession: boolean | null;
  returnUrl: string | null;
  /** the Idempotency-Key of the request that created it */
  idempotencyKey: string | null;
  /** payment_method_types as pinned at creation; null: automatic_payment_methods (the default) */
  pinnedTypes: string[] | null;
  /** automatic_payment_methods[allow_redirects]: 'always' unless the create said 'never' */
  allowRedirects: 'always' | 'never';
}

interface RefundState {
  id: string;
  paymentIntent: string;
  charge: string | null;
  amount: number;
  currency: string;
  created: number;
}

// ---------------------------------------------------------------------------------------------
// Requests, responses and faults

export interface RecordedRequest {
  method: string;
  path: string;
  idempotencyKey: string | null;
  status: number;
  replayed: boolean;
  fault: Fault['kind'] | null;
}

export type Fault =
  | { kind: 'error'; status: number; error?: Json }
  | { kind: 'drop' }
  | { kind: 'delay'; ms: number }
  /** held for ms before Stripe starts on it: a create still in flight, not yet visible to lists */
  | { kind: 'stall'; ms: number };

export interface RequestMatch {
  method?: string;
  /** the exact path, or a pattern */
  path?: string | RegExp;
}

interface FaultRule extends RequestMatch {
  fault: Fault;
  remaining: number;
}

interface Outcome {
  status: number;
  body: string;
  replayed?: boolean;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: Json,
  ) {
    super(String(error.message));
  }
}

const invalid = (message: string, extra: { param?: string; code?: string; payment_intent?: Json } = {}) => new ApiError(400, { type: 'invalid_request_error', message, ...extra });
/** Stripe's refusal of a confirm that could redirect without a return_url (its own wording). */
const RETURN_URL_REQUIRED = () =>
  invalid(
    'A `return_url` must be specified because this Payment Intent is configured to automatically accept the payment methods enabled in the Dashboard, some of which may require a full page redirect to succeed. If you do not want to accept redirect-based payment methods, set `automatic_payment_methods[enabled]` to `true` and `automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and Payment Intents.',
    { param: 'return_url' },
  );
const noSuch = (status: 400 | 404, kind: string, id: string, param?: string) =>
  new ApiError(status, { type: 'invalid_request_error', code: 'resource_missing', message: `No such ${kind}: '${id}'`, ...(param ? { param } : {}) });

/** Parameters each endpoint takes: Stripe refuses any other with parameter_unknown. */
const KNOWN_PARAMS: Record<string, readonly string[]> = {
  createCustomer: ['email', 'name', 'description', 'metadata', 'expand'],
  attachPaymentMethod: ['customer', 'expand'],
  createIntent: [
    'amount',
    'currency',
    'customer',
    'payment_method',
    'off_session',
    'confirm',
    'metadata',
    'return_url',
    'description',
    'capture_method',
    'confirmation_method',
    'receipt_email',
    'setup_future_usage',
    'statement_descriptor',
    'statement_descriptor_suffix',
    'automatic_payment_methods',
    'payment_method_options',
    'error_on_requires_action',
    'use_stripe_sdk',
    'mandate',
    'mandate_data',
    'payment_method_types',
    'allowed_payment_method_types',
    'expand',
  ],
  confirmIntent: [
    'payment_method',
    'return_url',
    'off_session',
    'error_on_requires_action',
    'use_stripe_sdk',
    'receipt_email',
    'setup_future_usage',
    'payment_method_options',
    'mandate',
    'mandate_data',
    'expand',
  ],
  cancelIntent: ['cancellation_reason', 'expand'],
  listIntents: ['customer', 'limit', 'starting_after', 'ending_before', 'created', 'expand'],
  searchIntents: ['query', 'limit', 'page', 'expand'],
  createRefund: ['payment_intent', 'charge', 'amount', 'reason', 'metadata', 'expand'],
  listRefunds: ['payment_intent', 'charge', 'limit', 'starting_after', 'ending_before', 'expand'],
  none: ['expand'],
};

const CANCELABLE: readonly IntentStatus[] = ['requires_payment_method', 'requires_capture', 'requires_confirmation', 'requires_action', 'processing'];
const CONFIRMABLE: readonly IntentStatus[] = ['requires_payment_method', 'requires_confirmation', 'requires_action'];
const CANCELLATION_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned'];

/** Stripe-style ids: a prefix and base62-looking characters. */
function newId(prefix: string, length = 24): string {
  return `${prefix}_${randomBytes(length * 2)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, length)}`;
}

const now = () => Math.floor(Date.now() / 1000);

/** Bracket-notation form fields (metadata[workflow_id]=...) back into nested objects. */
export function parseForm(params: URLSearchParams): Json {
  const root: Json = {};
  for (const [rawKey, value] of params) {
    const path = rawKey.split(/[[\]]+/).filter(Boolean);
    let node = root;
    path.forEach((part, i) => {
      if (i === path.length - 1) {
        node[part] = value;
        return;
      }
      const next = node[part];
      node = isRecord(next) ? next : (node[part] = {});
    });
  }
  return root;
}

function canonical(value: unknown): unknown {
  if (!isRecord(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, canonical(value[k])]),
  );
}

const str = (params: Json, name: string): string | undefined => (typeof params[name] === 'string' ? params[name] : undefined);

function strings(value: unknown): Record<string, string> {
  if (!isRecord(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== ''));
}

function bool(params: Json, name: string): boolean | undefined {
  const v = str(params, name);
  if (v === undefined) return undefined;
  if (v === 'true' || v === 'false') return v === 'true';
  throw invalid(`Invalid boolean: ${v}`, { param: name });
}

function positiveInt(params: Json, name: string, required: boolean): number | undefined {
  const v = str(params, name);
  if (v === undefined) {
    if (required) throw invalid(`Missing required param: ${name}.`, { param: name, code: 'parameter_missing' });
    return undefined;
  }
  if (!/^\d+$/.test(v) || Number(v) < 1) throw invalid(`Invalid integer: ${v}`, { param: name, code: 'parameter_invalid_integer' });
  return Number(v);
}

function listLimit(params: Json): number {
  const limit = positiveInt(params, 'limit', false) ?? 10;
  if (limit > 100) throw invalid('This value must be less than or equal to 100.', { param: 'limit' });
  return limit;
}

function matches(match: RequestMatch, method: string, path: string): boolean {
  if (match.method && match.method.toUpperCase() !== method) return false;
  if (match.path === undefined) return true;
  return typeof match.path === 'string' ? match.path === path : match.path.test(path);
}

// ---------------------------------------------------------------------------------------------
// The server

export interface StripeTestServer {
  readonly url: string;
  readonly secretKey: string;
  /** PaymentIntents created (replays not counted): every charge attempt, declined ones included */
  readonly intentsCreated: number;
  readonly refundsCreated: number;
  /** the refunds made on one PaymentIntent, oldest first */
  refundsFor(intentId: string): Array<{ id: string; amount: number; currency: string }>;
  /** added before every response, for as long as it is set */
  delayMs: number;
  /** The next n matching requests fail with this status (and Stripe error body) before Stripe does any work (nothing is saved). */
  failNext(n?: number, match?: RequestMatch, status?: number, error?: Json): void;
  /**
   * The next n matching requests are held for ms before Stripe starts on them: their key is in
   * flight (a concurrent request with it gets 409 idempotency_key_in_use) and nothing is visible yet.
   */
  stallNext(n: number, ms: number, match?: RequestMatch): void;
  /** The next n matching requests are carried out, then the connection is dropped: the answer is lost. */
  dropNext(n?: number, match?: RequestMatch): void;
  /** The next n matching requests are carried out, then answered only after ms. */
  delayNext(n: number, ms: number, match?: RequestMatch): void;
  /**
   * Chaos: each request without a queued fault gets, with this probability, a 500 before any work,
   * a dropped connection after the work, or an answer delayed by `delayMs` (longer than the client waits).
   */
  chaos: { rate: number; delayMs: number } | null;
  intent(id: string): IntentState;
  /** the intents made for one accept (metadata.workflow_id), oldest first */
  intentsFor(workflowId: string): IntentState[];
  requests(match?: RequestMatch): RecordedRequest[];
  /** The buyer on the bank's page: approves or fails the authentication an intent is waiting for. */
  authenticate(intentId: string, outcome: 'succeed' | 'fail'): IntentState;
  /** The webhook event Stripe would send about an intent as it stands now (not signed). */
  event(type: string, intentId: string): Json;
  /** Saves a card to a customer directly, for cases the API cannot make (an expired card, say). */
  addPaymentMethod(card: keyof typeof TEST_CARDS, options: { customer: string | null; expMonth?: number; expYear?: number }): string;
  close(): Promise<void>;
}

export async function startStripeServer(options: { secretKey?: string } = {}): Promise<StripeTestServer> {
  const fx = loadFixtures();
  const secretKey = options.secretKey ?? `sk_test_${randomBytes(12).toString('hex')}`;
  const customers = new Map<string, CustomerState>();
  const methods = new Map<string, PaymentMethodState>();
  const intents = new Map<string, IntentState>();
  const refunds = new Map<string, RefundState>();
  const idempotent = new Map<string, { fingerprint: string; outcome: Outcome }>();
  const log: RecordedRequest[] = [];
  /** idempotency keys whose request is being carried out right now */
  const inFlight = new Set<string>();
  let faults: FaultRule[] = [];
  let seq = 0;
  let intentsCreated = 0;
  let refundsCreated = 0;
  let baseUrl = '';
  let delayMs = 0;
  let chaos: { rate: number; delayMs: number } | null = null;
  // The Idempotency-Key of the request being carried out, for the intent it creates.
  let currentKey: string | null = null;

  // --- rendering: Stripe's example object, with the state we hold laid over it ---

  function renderMethod(pm: PaymentMethodState): Json {
    const card = isRecord(fx.payment_method.card) ? fx.payment_method.card : {};
    return {
      ...fx.payment_method,
      id: pm.id,
      object: 'payment_method',
      type: 'card',
      created: pm.created,
      customer: pm.customer,
      metadata: {},
      card: {
        ...card,
        brand: pm.card.brand,
        display_brand: pm.card.brand,
        last4: pm.card.last4,
        exp_month: pm.expMonth,
        exp_year: pm.expYear,
        fingerprint: createHash('sha256').update(pm.card.last4).digest('hex').slice(0, 16),
        networks: { available: [pm.card.brand], preferred: null },
        generated_from: null,
        wallet: null,
      },
    };
  }

  function renderCustomer(c: CustomerState): Json {
    return { ...fx.customer, id: c.id, object: 'customer', created: c.created, email: c.email, metadata: c.metadata, discount: null };
  }

  function renderIntent(pi: IntentState): Json {
    return {
      ...fx.payment_intent,
      id: pi.id,
      object: 'payment_intent',
      amount: pi.amount,
      amount_capturable: 0,
      amount_received: pi.amountReceived,
      automatic_payment_methods: pi.pinnedTypes ? null : { enabled: true, allow_redirects: pi.allowRedirects },
      canceled_at: pi.canceledAt,
      cancellation_reason: pi.cancellationReason,
      capture_method: 'automatic',
      client_secret: pi.clientSecret,
      confirmation_method: 'automatic',
      created: pi.created,
      currency: pi.currency,
      customer: pi.customer,
      last_payment_error: pi.lastPaymentError,
      latest_charge: pi.latestCharge,
      livemode: false,
      metadata: pi.metadata,
      next_action: pi.nextAction,
      payment_method: pi.paymentMethod,
      payment_method_configuration_details: null,
      payment_method_types: pi.pinnedTypes ?? ['card'],
      processing: null,
      shipping: null,
      status: pi.status,
      transfer_data: null,
    };
  }

  function renderRefund(r: RefundState): Json {
    return {
      ...fx.refund,
      id: r.id,
      object: 'refund',
      amount: r.amount,
      charge: r.charge,
      currency: r.currency,
      payment_intent: r.paymentIntent,
      created: r.created,
      status: 'succeeded',
      metadata: {},
    };
  }

  const list = (url: string, data: Json[], hasMore: boolean): Json => ({ object: 'list', data, has_more: hasMore, url });

  /** An intent's latest charge, as Stripe shows it: `refunded` once amount_refunded reaches the amount. */
  function renderCharge(pi: IntentState): Json {
    const ownRefunds = [...refunds.values()].filter((r) => r.charge === pi.latestCharge).reverse();
    const paid = pi.status === 'succeeded';
    return {
      ...fx.charge,
      id: pi.latestCharge,
      object: 'charge',
      amount: pi.amount,
      amount_captured: pi.amountReceived,
      amount_refunded: pi.amountRefunded,
      refunded: paid && pi.amountRefunded >= pi.amountReceived,
      captured: paid,
      paid,
      status: paid ? 'succeeded' : 'failed',
      currency: pi.currency,
      customer: pi.customer,
      payment_intent: pi.id,
      payment_method: pi.paymentMethod,
      created: pi.created,
      livemode: false,
      metadata: pi.metadata,
      refunds: { object: 'list', data: ownRefunds.map(renderRefund), has_more: false, url: `/v1/charges/${pi.latestCharge}/refunds` },
    };
  }

  // --- lookups ---

  function findIntent(id: string): IntentState {
    const pi = intents.get(id);
    if (!pi) throw noSuch(404, 'payment_intent', id);
    return pi;
  }

  /** A saved method, or a test card id used as is (Stripe makes a fresh, unattached method of it). */
  function resolveMethod(id: string, param: string): PaymentMethodState {
    const saved = methods.get(id);
    if (saved) return saved;
    const card = TEST_CARDS[id];
    if (!card) throw noSuch(param === 'id' ? 404 : 400, 'PaymentMethod', id, param === 'id' ? undefined : param);
    return { id: newId('pm'), customer: null, card, expMonth: 12, expYear: new Date().getUTCFullYear() + 3, created: now() };
  }

  // --- confirming: where each test card behaves as Stripe documents ---

  function cardFailure(pi: IntentState, method: PaymentMethodState, code: string, declineCode: string, message: string): ApiError {
    pi.status = 'requires_payment_method';
    pi.nextAction = null;
    pi.latestCharge = newId('ch');
    pi.lastPaymentError = {
      type: 'card_error',
      code,
      decline_code: declineCode,
      message,
      charge: pi.latestCharge,
      doc_url: `https://stripe.com/docs/error-codes/${code}`,
      payment_method: renderMethod(method),
    };
    return new ApiError(402, { ...pi.lastPaymentError, payment_intent: renderIntent(pi), request_log_url: null });
  }

  function confirm(pi: IntentState, offSession: boolean, returnUrl: string | null): Outcome {
    if (!pi.paymentMethod)
      throw invalid("You cannot confirm this PaymentIntent because it's missing a payment method.", { code: 'payment_intent_unexpected_state', payment_intent: renderIntent(pi) });
    // Automatic payment methods (the default on current API versions) may redirect, so Stripe wants
    // to know where the buyer comes back to, unless redirects are off or the types are pinned.
    if (!returnUrl && !pi.pinnedTypes && pi.allowRedirects !== 'never') throw RETURN_URL_REQUIRED();
    const method = resolveMethod(pi.paymentMethod, 'payment_method');
    pi.offSession = offSession;
    pi.returnUrl = returnUrl;
    pi.lastPaymentError = null;
    const behaviour = method.card.behaviour;
    if (behaviour.kind === 'declines') throw cardFailure(pi, method, behaviour.code, behaviour.declineCode, behaviour.message);
    if (behaviour.kind === 'authenticates') {
      if (offSession) {
        throw cardFailure(pi, method, 'authentication_required', 'authentication_required', 'Your card was declined. This transaction requires authentication.');
      }
      pi.status = 'requires_action';
      pi.nextAction = returnUrl
        ? { type: 'redirect_to_url', redirect_to_url: { url: `${baseUrl}/redirect/authenticate/${pi.id}?client_secret=${pi.clientSecret}`, return_url: returnUrl } }
        : { type: 'use_stripe_sdk', use_stripe_sdk: { type: 'three_d_secure_redirect', stripe_js: `${baseUrl}/redirect/authenticate/${pi.id}` } };
      return ok(renderIntent(pi));
    }
    succeed(pi);
    return ok(renderIntent(pi));
  }

  function succeed(pi: IntentState): void {
    pi.status = 'succeeded';
    pi.nextAction = null;
    pi.lastPaymentError = null;
    pi.latestCharge = newId('ch');
    pi.amountReceived = pi.amount;
  }

  const ok = (body: Json): Outcome => ({ status: 200, body: JSON.stringify(body) });

  // --- endpoints ---

  type Handler = (params: Json, id: string) => Outcome;
  const routes: Array<{ method: string; pattern: RegExp; params: keyof typeof KNOWN_PARAMS; handle: Handler }> = [
    {
      method: 'POST',
      pattern: /^\/v1\/customers$/,
      params: 'createCustomer',
      handle: (p) => {
        const c: CustomerState = { id: newId('cus', 14), email: str(p, 'email') ?? null, metadata: strings(p.metadata), created: now() };
        customers.set(c.id, c);
        return ok(renderCustomer(c));
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/customers\/([^/]+)$/,
      params: 'none',
      handle: (_p, id) => {
        const c = customers.get(id);
        if (!c) throw noSuch(404, 'customer', id);
        return ok(renderCustomer(c));
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/payment_methods\/([^/]+)$/,
      params: 'none',
      handle: (_p, id) => ok(renderMethod(resolveMethod(id, 'id'))),
    },
    {
      method: 'POST',
      pattern: /^\/v1\/payment_methods\/([^/]+)\/attach$/,
      params: 'attachPaymentMethod',
      handle: (p, id) => {
        const customer = str(p, 'customer');
        if (!customer) throw invalid('Missing required param: customer.', { param: 'customer', code: 'parameter_missing' });
        if (!customers.has(customer)) throw noSuch(400, 'customer', customer, 'customer');
        const pm = resolveMethod(id, 'id');
        if (pm.customer && pm.customer !== customer) throw invalid('The payment method you provided has already been attached to a customer.');
        pm.customer = customer;
        methods.set(pm.id, pm);
        return ok(renderMethod(pm));
      },
    },
    {
      method: 'POST',
      pattern: /^\/v1\/payment_intents$/,
      params: 'createIntent',
      handle: (p, _id) => {
        const amount = positiveInt(p, 'amount', true)!;
        const currency = str(p, 'currency');
        if (!currency || !/^[a-z]{3}$/i.test(currency)) throw invalid(`Invalid currency: ${currency ?? ''}.`, { param: 'currency' });
        const customer = str(p, 'customer') ?? null;
        if (customer && !customers.has(customer)) throw noSuch(400, 'customer', customer, 'customer');
        const methodId = str(p, 'payment_method') ?? null;
        if (methodId) {
          const pm = resolveMethod(methodId, 'payment_method');
          if (customer && pm.customer && pm.customer !== customer) {
            throw invalid(`The provided PaymentMethod ${methodId} belongs to another Customer.`, { param: 'payment_method' });
          }
        }
        const shouldConfirm = bool(p, 'confirm') ?? false;
        const offSession = bool(p, 'off_session');
        if (offSession !== undefined && !shouldConfirm) throw invalid('off_session can only be passed when confirm=true.', { param: 'off_session' });
        // Pinned types: payment_method_types, named allowed_payment_method_types on the newest API versions.
        const pinned = p.allowed_payment_method_types ?? p.payment_method_types;
        const types = isRecord(pinned) ? Object.values(pinned).filter((t): t is string => typeof t === 'string') : null;
        const apm = isRecord(p.automatic_payment_methods) ? p.automatic_payment_methods : null;
        if (types && apm && str(apm, 'enabled') === 'true') {
          throw invalid('You may only specify one of these parameters: automatic_payment_methods, payment_method_types.', {
            param: 'automatic_payment_methods',
            code: 'parameters_exclusive',
          });
        }
        const redirects = apm ? str(apm, 'allow_redirects') : undefined;
        if (redirects !== undefined && redirects !== 'always' && redirects !== 'never') {
          throw invalid(`Invalid automatic_payment_methods[allow_redirects]: must be one of always or never`, { param: 'automatic_payment_methods[allow_redirects]' });
        }
        const id = newId('pi');
        const pi: IntentState = {
          id,
          seq: ++seq,
          clientSecret: `${id}_secret_${newId('x').slice(2)}`,
          created: now(),
          amount,
          currency: currency.toLowerCase(),
          customer,
          paymentMethod: methodId,
          metadata: strings(p.metadata),
          status: methodId ? 'requires_confirmation' : 'requires_payment_method',
          lastPaymentError: null,
          nextAction: null,
          latestCharge: null,
          amountReceived: 0,
          amountRefunded: 0,
          canceledAt: null,
          cancellationReason: null,
          offSession: null,
          returnUrl: null,
          idempotencyKey: currentKey,
          pinnedTypes: types,
          allowRedirects: redirects === 'never' ? 'never' : 'always',
        };
        intents.set(id, pi);
        intentsCreated += 1;
        return shouldConfirm ? confirm(pi, offSession ?? false, str(p, 'return_url') ?? null) : ok(renderIntent(pi));
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/payment_intents$/,
      params: 'listIntents',
      handle: (p) => {
        const customer = str(p, 'customer');
        const all = [...intents.values()].filter((pi) => !customer || pi.customer === customer).sort((a, b) => b.seq - a.seq);
        const after = str(p, 'starting_after');
        const start = after ? all.findIndex((pi) => pi.id === after) + 1 : 0;
        const limit = listLimit(p);
        const page = all.slice(start, start + limit);
        return ok(list('/v1/payment_intents', page.map(renderIntent), start + limit < all.length));
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/payment_intents\/search$/,
      params: 'searchIntents',
      handle: (p) => {
        const query = str(p, 'query');
        if (!query) throw invalid('Missing required param: query.', { param: 'query', code: 'parameter_missing' });
        const clauses = query.split(/\s+AND\s+/).map((clause) => /^(\w+)(?:\['([^']+)'\])?:'((?:[^'\\]|\\.)*)'$/.exec(clause.trim()));
        const test = clauses.map((m) => {
          if (!m) throw invalid(`Invalid search query: ${query}`, { param: 'query' });
          const [, field, key, raw] = m;
          const value = (raw ?? '').replace(/\\(.)/g, '$1');
          if (field === 'metadata' && key) return (pi: IntentState) => pi.metadata[key] === value;
          if (field === 'customer') return (pi: IntentState) => pi.customer === value;
          if (field === 'status') return (pi: IntentState) => pi.status === value;
          throw invalid(`Field '${field}' is not supported in this test server's search.`, { param: 'query' });
        });
        const found = [...intents.values()].filter((pi) => test.every((t) => t(pi))).sort((a, b) => b.seq - a.seq);
        const limit = listLimit(p);
        return ok({ object: 'search_result', url: '/v1/payment_intents/search', data: found.slice(0, limit).map(renderIntent), has_more: found.length > limit, next_page: null });
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/payment_intents\/([^/]+)$/,
      params: 'none',
      handle: (_p, id) => ok(renderIntent(findIntent(id))),
    },
    {
      method: 'POST',
      pattern: /^\/v1\/payment_intents\/([^/]+)\/confirm$/,
      params: 'confirmIntent',
      handle: (p, id) => {
        const pi = findIntent(id);
        if (!CONFIRMABLE.includes(pi.status)) {
          throw invalid(`You cannot confirm this PaymentIntent because it has a status of ${pi.status}.`, {
            code: 'payment_intent_unexpected_state',
            payment_intent: renderIntent(pi),
          });
        }
        const methodId = str(p, 'payment_method');
        if (methodId) {
          resolveMethod(methodId, 'payment_method'); // refuses one that does not exist
          pi.paymentMethod = methodId;
        }
        return confirm(pi, bool(p, 'off_session') ?? false, str(p, 'return_url') ?? null);
      },
    },
    {
      method: 'POST',
      pattern: /^\/v1\/payment_intents\/([^/]+)\/cancel$/,
      params: 'cancelIntent',
      handle: (p, id) => {
        const pi = findIntent(id);
        const reason = str(p, 'cancellation_reason') ?? null;
        if (reason && !CANCELLATION_REASONS.includes(reason)) throw invalid(`Invalid cancellation_reason: ${reason}`, { param: 'cancellation_reason' });
        if (!CANCELABLE.includes(pi.status)) {
          throw invalid(
            `You cannot cancel this PaymentIntent because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be canceled: ${CANCELABLE.join(', ')}.`,
            { code: 'payment_intent_unexpected_state', payment_intent: renderIntent(pi) },
          );
        }
        pi.status = 'canceled';
        pi.nextAction = null;
        pi.canceledAt = now();
        pi.cancellationReason = reason;
        return ok(renderIntent(pi));
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/charges\/([^/]+)$/,
      params: 'none',
      handle: (_p, id) => {
        const pi = [...intents.values()].find((i) => i.latestCharge === id);
        if (!pi) throw noSuch(404, 'charge', id);
        return ok(renderCharge(pi));
      },
    },
    {
      method: 'POST',
      pattern: /^\/v1\/refunds$/,
      params: 'createRefund',
      handle: (p) => {
        const intentId = str(p, 'payment_intent');
        if (!intentId) throw invalid('Missing required param: payment_intent.', { param: 'payment_intent', code: 'parameter_missing' });
        const pi = intents.get(intentId);
        if (!pi) throw noSuch(400, 'payment_intent', intentId, 'payment_intent');
        if (pi.status !== 'succeeded') throw invalid(`This PaymentIntent (${pi.id}) does not have a successful charge to refund.`, { param: 'payment_intent' });
        const remaining = pi.amountReceived - pi.amountRefunded;
        if (remaining <= 0) throw invalid(`Charge ${pi.latestCharge} has already been refunded.`, { code: 'charge_already_refunded' });
        const amount = positiveInt(p, 'amount', false) ?? remaining;
        if (amount > remaining)
          throw invalid(`Refund amount (${amount}) is greater than unrefunded amount on charge (${remaining})`, { param: 'amount', code: 'amount_too_large' });
        const refund: RefundState = { id: newId('re'), paymentIntent: pi.id, charge: pi.latestCharge, amount, currency: pi.currency, created: now() };
        pi.amountRefunded += amount;
        refunds.set(refund.id, refund);
        refundsCreated += 1;
        return ok(renderRefund(refund));
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/refunds$/,
      params: 'listRefunds',
      handle: (p) => {
        const intentId = str(p, 'payment_intent');
        const found = [...refunds.values()].filter((r) => !intentId || r.paymentIntent === intentId).reverse();
        const limit = listLimit(p);
        return ok(list('/v1/refunds', found.slice(0, limit).map(renderRefund), found.length > limit));
      },
    },
  ];

  function route(method: string, path: string, params: Json): Outcome {
    for (const r of routes) {
      const m = r.method === method ? r.pattern.exec(path) : null;
      if (!m) continue;
      const known = KNOWN_PARAMS[r.params] ?? [];
      const unknown = Object.keys(params).find((k) => !known.includes(k));
      if (unknown) throw invalid(`Received unknown parameter: ${unknown}`, { param: unknown, code: 'parameter_unknown' });
      return r.handle(params, decodeURIComponent(m[1] ?? ''));
    }
    throw new ApiError(404, { type: 'invalid_request_error', message: `Unrecognized request URL (${method}: ${path}).` });
  }

  function execute(method: string, url: URL, raw: string, key: string | null): Outcome {
    const params = parseForm(method === 'GET' ? url.searchParams : new URLSearchParams(raw));
    const run = (): Outcome => {
      currentKey = key;
      try {
        return route(method, url.pathname, params);
      } catch (err) {
        if (err instanceof ApiError) return { status: err.status, body: JSON.stringify({ error: err.error }) };
        throw err;
      } finally {
        currentKey = null;
      }
    };
    if (method !== 'POST' || !key) return run();
    const fingerprint = JSON.stringify([method, url.pathname, canonical(params)]);
    const saved = idempotent.get(key);
    if (saved) {
      if (saved.fingerprint === fingerprint) return { ...saved.outcome, replayed: true };
      return {
        status: 400,
        body: JSON.stringify({
          error: {
            type: 'idempotency_error',
            message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
          },
        }),
      };
    }
    const outcome = run();
    // Stripe saves an answer once the endpoint has run (a decline included); a request refused by
    // validation leaves the key free for a corrected retry.
    if (outcome.status === 200 || outcome.status === 402) idempotent.set(key, { fingerprint, outcome });
    return outcome;
  }

  function takeFault(method: string, path: string): Fault | null {
    const rule = faults.find((f) => f.remaining > 0 && matches(f, method, path));
    if (!rule) {
      if (!chaos || Math.random() >= chaos.rate) return null;
      const pick = Math.floor(Math.random() * 3);
      return pick === 0 ? { kind: 'error', status: 500 } : pick === 1 ? { kind: 'drop' } : { kind: 'delay', ms: chaos.delayMs };
    }
    rule.remaining -= 1;
    faults = faults.filter((f) => f.remaining > 0);
    return rule.fault;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://stripe.test');
    const method = (req.method ?? 'GET').toUpperCase();
    const keyHeader = req.headers['idempotency-key'];
    const key = (Array.isArray(keyHeader) ? keyHeader[0] : keyHeader) ?? null;
    const fault = takeFault(method, url.pathname);
    const entry: RecordedRequest = { method, path: url.pathname, idempotencyKey: key, status: 0, replayed: false, fault: fault?.kind ?? null };
    log.push(entry);

    // Stripe runs one request per idempotency key at a time: a concurrent one is refused with 409
    // idempotency_key_in_use and nothing saved, so it can be retried once the first is done.
    const claims = method === 'POST' && key !== null && req.headers.authorization === `Bearer ${secretKey}` && fault?.kind !== 'error';
    let outcome: Outcome;
    if (req.headers.authorization !== `Bearer ${secretKey}`) {
      outcome = { status: 401, body: JSON.stringify({ error: { type: 'invalid_request_error', message: 'Invalid API Key provided.' } }) };
    } else if (fault?.kind === 'error') {
      // Fails in front of Stripe's API: nothing runs, nothing is saved under the key.
      const error = fault.error ?? { type: 'api_error', message: 'An unknown error occurred while processing your request.' };
      outcome = { status: fault.status, body: JSON.stringify({ error }) };
    } else if (claims && inFlight.has(key)) {
      outcome = {
        status: 409,
        body: JSON.stringify({
          error: {
            type: 'invalid_request_error',
            code: 'idempotency_key_in_use',
            message: 'There is currently another in-progress request using this idempotency key. Please try again later.',
            doc_url: 'https://stripe.com/docs/error-codes/idempotency-key-in-use',
          },
        }),
      };
    } else {
      if (claims) inFlight.add(key);
      try {
        if (fault?.kind === 'stall') await new Promise((r) => setTimeout(r, fault.ms));
        outcome = execute(method, url, raw, key);
      } catch (err) {
        if (claims) inFlight.delete(key);
        throw err;
      }
    }
    entry.status = outcome.status;
    entry.replayed = outcome.replayed ?? false;
    const release = () => {
      if (claims && outcome.status !== 409) inFlight.delete(key);
    };

    // Done: the answer is saved under the key, so a retry replays it however slowly this one travels back.
    release();
    if (fault?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    const wait = delayMs + (fault?.kind === 'delay' ? fault.ms : 0);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (res.destroyed) return;
    res.writeHead(outcome.status, {
      'content-type': 'application/json',
      'request-id': newId('req', 14),
      ...(key ? { 'idempotency-key': key } : {}),
      ...(outcome.replayed ? { 'idempotent-replayed': 'true' } : {}),
    });
    res.end(outcome.body);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { type: 'api_error', message: `test server: ${String(err)}` } }));
    });
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const snapshot = (pi: IntentState): IntentState => structuredClone(pi);

  return {
    url: baseUrl,
    secretKey,
    get intentsCreated() {
      return intentsCreated;
    },
    get refundsCreated() {
      return refundsCreated;
    },
    get chaos() {
      return chaos;
    },
    set chaos(value) {
      chaos = value;
    },
    get delayMs() {
      return delayMs;
    },
    set delayMs(ms: number) {
      delayMs = ms;
    },
    failNext(n = 1, match = {}, status = 500, error) {
      faults.push({ ...match, fault: { kind: 'error', status, ...(error ? { error } : {}) }, remaining: n });
    },
    stallNext(n, ms, match = {}) {
      faults.push({ ...match, fault: { kind: 'stall', ms }, remaining: n });
    },
    dropNext(n = 1, match = {}) {
      faults.push({ ...match, fault: { kind: 'drop' }, remaining: n });
    },
    delayNext(n, ms, match = {}) {
      faults.push({ ...match, fault: { kind: 'delay', ms }, remaining: n });
    },
    intent: (id) => snapshot(findIntent(id)),
    refundsFor: (intentId) => [...refunds.values()].filter((r) => r.paymentIntent === intentId).map((r) => ({ id: r.id, amount: r.amount, currency: r.currency })),
    intentsFor: (workflowId) =>
      [...intents.values()]
        .filter((pi) => pi.metadata.workflow_id === workflowId)
        .sort((a, b) => a.seq - b.seq)
        .map(snapshot),
    requests: (match = {}) => log.filter((r) => matches(match, r.method, r.path)).map((r) => ({ ...r })),
    authenticate(intentId, outcome) {
      const pi = findIntent(intentId);
      const waiting = pi.status === 'requires_action' || (pi.status === 'requires_payment_method' && pi.lastPaymentError?.code === 'authentication_required');
      if (!waiting) throw new Error(`payment intent ${intentId} is ${pi.status}: there is no authentication to finish`);
      if (outcome === 'succeed') {
        succeed(pi);
      } else {
        pi.status = 'requires_payment_method';
        pi.nextAction = null;
        pi.lastPaymentError = {
          type: 'invalid_request_error',
          code: 'payment_intent_authentication_failure',
          message:
            'The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.',
          doc_url: 'https://stripe.com/docs/error-codes/payment-intent-authentication-failure',
        };
      }
      return snapshot(pi);
    },
    event(type, intentId) {
      return {
        ...fx.event,
        id: newId('evt'),
        object: 'event',
        created: now(),
        livemode: false,
        pending_webhooks: 1,
        request: { id: null, idempotency_key: null },
        type,
        data: { object: renderIntent(findIntent(intentId)) },
      };
    },
    addPaymentMethod(card, { customer, expMonth = 12, expYear = new Date().getUTCFullYear() + 3 }) {
      const found = TEST_CARDS[card];
      if (!found) throw new Error(`no test card ${card}`);
      if (customer && !customers.has(customer)) throw new Error(`no customer ${customer}`);
      const pm: PaymentMethodState = { id: newId('pm'), customer, card: found, expMonth, expYear, created: now() };
      methods.set(pm.id, pm);
      return pm.id;
    },
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
