/**
 * Paystack behind the gateway interface: a small typed client over its REST API (global fetch).
 *
 * - The saved method is a reusable card authorization (AUTH_...), chargeable only together with
 *   the email of the customer who created it.
 * - Paystack refuses a reused reference instead of replaying the first answer, so a retried charge
 *   that hits `duplicate_reference` reads the first one back with GET /transaction/verify/:reference.
 * - Paystack has no way to cancel a paused charge. cancelCharge reads the charge again and returns
 *   it as it stands: one still waiting for the buyer comes back as requires_action, and the
 *   workflow then ends the accept as expired, and watches it for 24 hours. If the buyer completes
 *   it after that, its charge.success webhook starts reconcileCharge, which refunds it.
 * - The payment-method check reads the customer by email (GET /customer/:email_or_code) and looks
 *   for the authorization there. POST /transaction/check_authorization is not in Paystack's
 *   published OpenAPI document, and Paystack warned that it holds funds, which makes an immediate
 *   charge fail with insufficient funds.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  type ChargeRequest,
  type ChargeResult,
  GatewayCurrencyError,
  GatewayDeclineError,
  GatewayRefusedError,
  GatewayTransientError,
  type GatewayWebhookEvent,
  type PaymentGateway,
  type PaymentMethodCheck,
  type RefundResult,
  WebhookSignatureError,
  headerValue,
} from './gateway.ts';

export const PAYSTACK_API_BASE = 'https://api.paystack.co';
export const PAYSTACK_SIGNATURE_HEADER = 'x-paystack-signature';

/** Paystack's currencies, all charged in their lower unit (exponent 2), which is our minor unit. */
export const PAYSTACK_CURRENCIES: readonly string[] = ['NGN', 'GHS', 'ZAR', 'KES', 'USD'];

/** Paystack's rule for transaction references. */
export const PAYSTACK_REFERENCE_PATTERN = /^[A-Za-z0-9.=-]+$/;

export interface PaystackOptions {
  secretKey: string;
  apiBase?: string;
  /**
   * Per request. A charge may take two calls (charge, then verify after duplicate_reference); both
   * must fit in the activity's 20 s start-to-close, or Temporal cuts off an answer already on its way.
   */
  timeoutMs?: number;
}

export function signPaystackWebhook(rawBody: string | Buffer, secretKey: string): string {
  return createHmac('sha512', secretKey).update(rawBody).digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Reading Paystack's JSON without trusting its shape.

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** Refunds read per page, and the pages read at most, when looking for an earlier refund of ours. */
const REFUND_PAGE = 100;
const REFUND_SEARCH_MAX_PAGES = 50;

/** A transaction as charge_authorization, verify and webhooks describe it. */
export interface PaystackTransaction {
  reference: string;
  status: string;
  amount: number | null;
  currency: string | null;
  gatewayResponse: string | null;
  paused: boolean;
  authorizationUrl: string | null;
  metadata: Json | null;
  /** when Paystack created it (ISO 8601), when it says */
  createdAt: string | null;
}

/** Metadata comes back as the stringified JSON we sent or as an object, depending on the endpoint. */
function readMetadata(value: unknown): Json | null {
  if (isRecord(value)) return value;
  if (typeof value !== 'string' || value === '') return null;
  try {
    const parsed: unknown = JSON.parse(value);
    return isRecord(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

function readTransaction(data: unknown): PaystackTransaction | null {
  if (!isRecord(data)) return null;
  const reference = text(data.reference);
  const status = text(data.status);
  if (!reference || !status) return null;
  return {
    reference,
    status,
    amount: typeof data.amount === 'number' ? data.amount : null,
    currency: text(data.currency),
    gatewayResponse: text(data.gateway_response),
    paused: data.paused === true,
    authorizationUrl: text(data.authorization_url),
    metadata: readMetadata(data.metadata),
    createdAt: text(data.created_at) ?? text(data.createdAt),
  };
}

interface PaystackReply {
  httpStatus: number;
  ok: boolean;
  message: string;
  /** Paystack's error code (e.g. duplicate_reference), when it gives one */
  code: string | null;
  data: unknown;
}

// ---------------------------------------------------------------------------------------------
// Outcomes

/** Paystack's free-text gateway_response, mapped to our stable decline codes. */
export function declineCodeFor(gatewayResponse: string | null): string {
  const said = (gatewayResponse ?? '').toLowerCase();
  if (said.includes('insufficient')) return 'insufficient_funds';
  if (said.includes('expired')) return 'expired_card';
  if (/authenticat|3d ?secure|\botp\b|\bpin\b/.test(said)) return 'authentication_failed';
  return 'card_declined';
}

function settled(tx: PaystackTransaction): ChargeResult | null {
  switch (tx.status) {
    case 'success':
      return { status: 'succeeded', chargeRef: tx.reference };
    case 'failed':
      return {
        status: 'declined',
        chargeRef: tx.reference,
        code: declineCodeFor(tx.gatewayResponse),
        message: tx.gatewayResponse ?? 'The charge was declined.',
      };
    case 'abandoned':
      // Paystack gives up on a paused charge the buyer never finished with their bank.
      return {
        status: 'declined',
        chargeRef: tx.reference,
        code: 'authentication_failed',
        message: tx.gatewayResponse ?? 'The buyer did not finish the bank authorization.',
      };
    case 'reversed':
      // Refunded already: there is nothing to write an order for.
      return { status: 'declined', chargeRef: tx.reference, code: 'charge_reversed', message: 'The charge was refunded.' };
    default:
      return null;
  }
}

/** What a read-back says; a charge still under way stays requires_action, as the workflow expects. */
function asReadBack(tx: PaystackTransaction): ChargeResult {
  return (
    settled(tx) ?? {
      status: 'requires_action',
      chargeRef: tx.reference,
      action: tx.authorizationUrl ? { redirectUrl: tx.authorizationUrl } : {},
    }
  );
}

function assertCurrency(currency: string): void {
  if (!PAYSTACK_CURRENCIES.includes(currency.toUpperCase())) {
    throw new GatewayCurrencyError(`Paystack cannot charge in ${currency}; it takes ${PAYSTACK_CURRENCIES.join(', ')}`);
  }
}

function assertReference(reference: string): void {
  if (!PAYSTACK_REFERENCE_PATTERN.test(reference)) {
    // Our own key derivation broke Paystack's charset: a bug, never worth a retry.
    throw new GatewayRefusedError('gateway_error', `paystack: reference "${reference}" has characters Paystack does not allow`);
  }
}

// Decided by Paystack's documented status and code, never by the words of its message: those are
// for people, and change without notice.
function isDuplicateReference(reply: PaystackReply): boolean {
  return !reply.ok && reply.code === 'duplicate_reference';
}

function isNotFound(reply: PaystackReply): boolean {
  return reply.httpStatus === 404;
}

// ---------------------------------------------------------------------------------------------

export function createPaystackGateway(options: PaystackOptions): PaymentGateway {
  const { secretKey } = options;
  const apiBase = (options.apiBase ?? PAYSTACK_API_BASE).replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 9_000;

  async function call(method: 'GET' | 'POST', path: string, body?: Json): Promise<PaystackReply> {
    const what = `paystack: ${method} ${path}`;
    let httpStatus: number;
    let raw: string;
    try {
      const res = await fetch(`${apiBase}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${secretKey}`,
          accept: 'application/json',
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
      httpStatus = res.status;
      raw = await res.text();
    } catch (err) {
      throw new GatewayTransientError(`${what} did not complete: ${(err as Error).message}`);
    }
    if (httpStatus >= 500 || httpStatus === 429) throw new GatewayTransientError(`${what} answered HTTP ${httpStatus}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      // A proxy page instead of Paystack's JSON: asking again is the only sensible move.
      throw new GatewayTransientError(`${what} answered HTTP ${httpStatus} without JSON`);
    }
    const envelope = isRecord(parsed) ? parsed : {};
    return {
      httpStatus,
      ok: httpStatus >= 200 && httpStatus < 300 && envelope.status === true,
      message: text(envelope.message) ?? `HTTP ${httpStatus}`,
      code: text(envelope.code),
      data: envelope.data,
    };
  }

  function refused(reply: PaystackReply, what: string): GatewayRefusedError {
    return new GatewayRefusedError('gateway_error', `paystack refused ${what} (HTTP ${reply.httpStatus}): ${reply.message}`);
  }

  /** The transaction with this reference, or null when Paystack has none. */
  async function verify(reference: string): Promise<PaystackTransaction | null> {
    const reply = await call('GET', `/transaction/verify/${encodeURIComponent(reference)}`);
    if (isNotFound(reply)) return null;
    if (!reply.ok) throw refused(reply, `verify ${reference}`);
    const tx = readTransaction(reply.data);
    if (!tx) throw new GatewayTransientError(`paystack: verify ${reference} answered without a transaction`);
    return tx;
  }

  /** Read back after SCA: the charge exists, so a miss is Paystack catching up, not an answer. */
  async function readBack(reference: string): Promise<ChargeResult> {
    const tx = await verify(reference);
    if (!tx) throw new GatewayTransientError(`paystack: transaction ${reference} is not visible yet`);
    return asReadBack(tx);
  }

  /**
   * A refund of this transaction carrying this merchant note. Paystack lists refunds newest first
   * and filters them by date only, so every page since the transaction was created is read (no
   * refund of it can be older). A search it cannot finish is an error to retry, never a "none".
   */
  async function findRefund(reference: string, note: string, since: string | null): Promise<RefundResult | null> {
    let found: Json | undefined;
    for (let page = 1; !found; page++) {
      if (page > REFUND_SEARCH_MAX_PAGES) {
        throw new GatewayTransientError(`paystack: more than ${REFUND_SEARCH_MAX_PAGES * REFUND_PAGE} refunds since ${reference}; the search for an earlier refund did not finish`);
      }
      const query = new URLSearchParams({ perPage: String(REFUND_PAGE), page: String(page), ...(since ? { from: since } : {}) });
      const reply = await call('GET', `/refund?${query.toString()}`);
      if (!reply.ok) throw refused(reply, 'the refund list');
      const refunds = Array.isArray(reply.data) ? reply.data : [];
      found = refunds.find((r): r is Json => isRecord(r) && r.transaction_reference === reference && r.merchant_note === note);
      if (refunds.length < REFUND_PAGE) break;
    }
    if (!found) return null;
    const id = found.id;
    return {
      refundRef: typeof id === 'number' || typeof id === 'string' ? String(id) : `refund:${reference}`,
      status: found.status === 'processed' ? 'succeeded' : 'pending',
    };
  }

  /** The first answer to a charge, from charge_authorization or from verify after a duplicate. */
  function chargeOutcome(tx: PaystackTransaction, request: ChargeRequest): ChargeResult {
    if (tx.amount !== null && tx.amount !== request.amount) {
      throw new GatewayRefusedError('gateway_error', `paystack: reference ${tx.reference} holds ${tx.amount}, not ${request.amount}`);
    }
    if (tx.currency !== null && tx.currency.toUpperCase() !== request.currency.toUpperCase()) {
      throw new GatewayRefusedError('gateway_error', `paystack: reference ${tx.reference} is in ${tx.currency}, not ${request.currency}`);
    }
    const done = settled(tx);
    if (done) return done;
    if (tx.paused && tx.authorizationUrl) {
      return { status: 'requires_action', chargeRef: tx.reference, action: { redirectUrl: tx.authorizationUrl } };
    }
    // Queued or processing at the bank: the retry meets duplicate_reference and reads it again.
    throw new GatewayTransientError(`paystack: charge ${tx.reference} is still ${tx.status}`);
  }

  return {
    name: 'paystack',

    async checkPaymentMethod(check: PaymentMethodCheck) {
      assertCurrency(check.currency);
      if (!check.email) {
        throw new GatewayDeclineError('payment_method_unusable', 'Paystack charges an authorization only with its customer email; the order has none');
      }
      const reply = await call('GET', `/customer/${encodeURIComponent(check.email)}`);
      if (isNotFound(reply)) {
        throw new GatewayDeclineError('payment_method_unusable', 'Paystack has no customer with the order email');
      }
      if (!reply.ok || !isRecord(reply.data)) throw refused(reply, 'the customer lookup');
      const customer = reply.data;
      if (text(customer.email)?.toLowerCase() !== check.email.toLowerCase()) {
        throw new GatewayDeclineError('payment_method_unusable', 'the Paystack customer found has another email');
      }
      const authorizations = Array.isArray(customer.authorizations) ? customer.authorizations : [];
      const authorization = authorizations.find((a): a is Json => isRecord(a) && a.authorization_code === check.methodRef);
      if (!authorization) {
        throw new GatewayDeclineError('payment_method_unusable', 'the saved authorization does not belong to the order email');
      }
      if (authorization.reusable !== true) {
        throw new GatewayDeclineError('payment_method_unusable', 'the saved authorization is not reusable');
      }
    },

    async chargeOffSession(request: ChargeRequest) {
      assertCurrency(request.currency);
      assertReference(request.idempotencyKey);
      if (!request.email) {
        throw new GatewayDeclineError('payment_method_unusable', 'Paystack charges an authorization only with its customer email; the order has none');
      }
      const reply = await call('POST', '/transaction/charge_authorization', {
        authorization_code: request.methodRef,
        email: request.email,
        amount: request.amount,
        currency: request.currency.toUpperCase(),
        reference: request.idempotencyKey,
        // Paystack's document types charge_authorization metadata as stringified JSON.
        metadata: JSON.stringify(request.metadata),
      });
      if (reply.ok) {
        const tx = readTransaction(reply.data);
        if (!tx) throw new GatewayTransientError('paystack: charge_authorization answered without a transaction');
        return chargeOutcome(tx, request);
      }
      // Refused. Whether anything was charged under our reference is Paystack's to say, by verify:
      // a duplicate (a retry after a lost answer) or a refusal that still left a transaction is
      // read back and answered from there. Only when verify knows no such reference was nothing charged.
      if (reply.httpStatus >= 400 && reply.httpStatus < 500) {
        const tx = await verify(request.idempotencyKey);
        if (tx) return chargeOutcome(tx, request);
        if (isDuplicateReference(reply)) throw new GatewayTransientError(`paystack: reference ${request.idempotencyKey} is taken but not visible yet`);
        if (reply.httpStatus === 400) {
          // Paystack would not charge the authorization (not reusable, another email, a currency
          // the card does not take); its own words go to the logs only.
          throw new GatewayDeclineError('payment_method_unusable', `paystack refused to charge the saved authorization; nothing was charged: ${reply.message}`);
        }
      }
      throw refused(reply, 'the charge');
    },

    confirmCharge: readBack,

    // No cancel exists for a paused charge: see the note at the top of this file.
    cancelCharge: readBack,

    async refund(chargeRef, amount, idempotencyKey) {
      // Paystack refunds take no idempotency key: our key travels in the merchant note, and before
      // refunding, every refund since the transaction was created is searched for one under it (an
      // earlier attempt whose answer was lost on the way back), so a retry never refunds twice.
      const note = `ocart ${idempotencyKey}`;
      const before = await verify(chargeRef);
      if (!before) throw new GatewayRefusedError('gateway_error', `paystack: no transaction ${chargeRef} to refund`);
      const earlier = await findRefund(chargeRef, note, before.createdAt);
      if (earlier) return earlier;
      if (before.status === 'reversed') return { refundRef: `reversed:${chargeRef}`, status: 'succeeded' };
      if (before.status !== 'success') {
        throw new GatewayRefusedError('gateway_error', `paystack: transaction ${chargeRef} is ${before.status}, not refundable`);
      }
      // No amount: the whole transaction, whatever it holds (a charge we have no order for).
      const reply = await call('POST', '/refund', { transaction: chargeRef, amount: amount ?? before.amount ?? undefined, merchant_note: note });
      if (reply.ok) {
        const data = isRecord(reply.data) ? reply.data : {};
        const id = data.id;
        // Paystack queues every refund ("pending", then "processed"): queued is taken, not yet settled.
        return { refundRef: typeof id === 'number' || typeof id === 'string' ? String(id) : `refund:${chargeRef}`, status: data.status === 'processed' ? 'succeeded' : 'pending' };
      }
      // A concurrent or earlier attempt may have won: refused now but refunded is done.
      const after = await verify(chargeRef);
      if (after?.status === 'reversed' && (amount === null || amount === before.amount)) return { refundRef: `reversed:${chargeRef}`, status: 'succeeded' };
      throw refused(reply, `the refund of ${chargeRef}`);
    },

    async findCharge(request) {
      assertReference(request.idempotencyKey);
      const tx = await verify(request.idempotencyKey);
      // Our reference is ours whatever it holds: a charge under it with another amount (or currency)
      // is still money taken for this accept, to be refunded, never left standing.
      return tx ? asReadBack(tx) : null;
    },

    parseWebhook(rawBody, headers): GatewayWebhookEvent | null {
      const header = headerValue(headers, PAYSTACK_SIGNATURE_HEADER) ?? '';
      const given = /^[0-9a-f]{128}$/i.test(header) ? Buffer.from(header, 'hex') : Buffer.alloc(0);
      const wanted = createHmac('sha512', secretKey).update(rawBody).digest();
      if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
        throw new WebhookSignatureError('paystack webhook signature does not verify');
      }
      const event: unknown = JSON.parse(rawBody.toString('utf8'));
      if (!isRecord(event) || typeof event.event !== 'string' || !isRecord(event.data)) return null;
      // charge.success and charge failures concern a charge; disputes and everything else do not.
      if (!event.event.startsWith('charge.') || event.event.startsWith('charge.dispute.')) return null;
      const reference = text(event.data.reference);
      const acceptKey = text(readMetadata(event.data.metadata)?.workflow_id);
      if (!reference || !acceptKey) return null;
      return { acceptKey, chargeRef: reference, eventType: event.event, succeeded: event.event === 'charge.success' };
    },
  };
}
