/**
 * The built-in sandbox gateway: the embedded default, so the service runs with no gateway keys.
 * Deterministic by payment-method id, the way Stripe's test cards are. It keeps its own ledger
 * (sandbox_charges), replays a reused idempotency key like a real gateway, and signs its webhooks.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Db } from '../db/client.ts';
import { newId } from '../db/ids.ts';
import { currencyDigits } from '../domain/money.ts';
import {
  type ChargeRequest,
  type ChargeResult,
  GatewayCurrencyError,
  GatewayDeclineError,
  GatewayRefusedError,
  type GatewayWebhookEvent,
  type PaymentGateway,
  WebhookSignatureError,
  headerValue,
} from './gateway.ts';

/** Test payment methods and what the sandbox does with each. */
export const SANDBOX_METHODS: Record<string, { outcome: 'succeeded' | 'requires_action' | 'declined'; declineCode?: string; message?: string }> = {
  pm_card_visa: { outcome: 'succeeded' },
  pm_card_mastercard: { outcome: 'succeeded' },
  pm_card_authenticationRequired: { outcome: 'requires_action' },
  pm_card_chargeDeclined: { outcome: 'declined', declineCode: 'card_declined', message: 'Your card was declined.' },
  pm_card_chargeDeclinedInsufficientFunds: { outcome: 'declined', declineCode: 'insufficient_funds', message: 'Your card has insufficient funds.' },
  pm_card_chargeDeclinedExpiredCard: { outcome: 'declined', declineCode: 'expired_card', message: 'Your card has expired.' },
};

const DECLINE_MESSAGES: Record<string, string> = Object.fromEntries(
  Object.values(SANDBOX_METHODS).flatMap((m) => (m.declineCode && m.message ? [[m.declineCode, m.message]] : [])),
);
DECLINE_MESSAGES.authentication_failed = 'The buyer did not pass authentication.';

export const SANDBOX_SIGNATURE_HEADER = 'x-sandbox-signature';

export interface SandboxOptions {
  prisma: Db;
  /** base URL of this service, for the sandbox's SCA confirmation page */
  publicBaseUrl: string;
  webhookSecret: string;
  /** simulated gateway latency per call, for benchmarks */
  latencyMs?: number;
  /** the clock the sandbox's ledger is written with (the service's, where it has one); the wall clock by default */
  clock?: () => Date;
}

export function signSandboxWebhook(rawBody: string | Buffer, secret: string): string {
  return createHmac('sha256', secret).update(rawBody).digest('hex');
}

type LedgerRow = { id: string; status: string; declineCode: string | null };

function toResult(row: LedgerRow, publicBaseUrl: string): ChargeResult {
  switch (row.status) {
    case 'succeeded':
    case 'refunded':
      return { status: 'succeeded', chargeRef: row.id };
    case 'requires_action':
      return {
        status: 'requires_action',
        chargeRef: row.id,
        action: {
          clientSecret: `${row.id}_secret`,
          redirectUrl: `${publicBaseUrl}/sandbox/authenticate/${row.id}`,
        },
      };
    case 'canceled':
      return { status: 'declined', chargeRef: row.id, code: 'canceled', message: 'The charge was canceled.' };
    default:
      return {
        status: 'declined',
        chargeRef: row.id,
        code: row.declineCode ?? 'card_declined',
        message: DECLINE_MESSAGES[row.declineCode ?? ''] ?? 'The card was declined.',
      };
  }
}

export function createSandboxGateway(options: SandboxOptions): PaymentGateway & {
  authenticate(chargeRef: string, approve: boolean): Promise<{ acceptKey: string; status: string }>;
} {
  const { prisma, publicBaseUrl, webhookSecret } = options;
  const clock = options.clock ?? (() => new Date());
  const pause = () => (options.latencyMs ? new Promise((r) => setTimeout(r, options.latencyMs)) : Promise.resolve());

  async function find(chargeRef: string): Promise<LedgerRow> {
    const row = await prisma.sandboxCharge.findUnique({ where: { id: chargeRef } });
    if (!row) throw new GatewayRefusedError('gateway_error', `sandbox: no charge ${chargeRef}`);
    return row;
  }

  return {
    name: 'sandbox',

    async checkPaymentMethod({ methodRef, currency }) {
      await pause();
      if (currencyDigits(currency) === null) throw new GatewayCurrencyError(`sandbox: ${currency} is not an ISO 4217 currency`);
      if (!Object.hasOwn(SANDBOX_METHODS, methodRef)) {
        throw new GatewayDeclineError('payment_method_unusable', `sandbox: unknown payment method ${methodRef}`);
      }
    },

    async chargeOffSession(request: ChargeRequest) {
      await pause();
      const method = SANDBOX_METHODS[request.methodRef];
      if (!method) throw new GatewayDeclineError('payment_method_unusable', `sandbox: unknown payment method ${request.methodRef}`);
      // One statement: insert, or find the first charge made with this key (a replay, as Stripe does).
      // A concurrent first charge with the same key, committed while this insert waited on it, is
      // not in this statement's snapshot: no row comes back, and a second statement reads it.
      const now = clock().toISOString();
      const charged = () => prisma.sql.$queryRaw<Array<{ id: string; status: string; decline_code: string | null; amount: number; currency: string; method_ref: string }>>`
        WITH made AS (
          INSERT INTO sandbox_charges (id, idempotency_key, method_ref, amount, currency, status, decline_code, metadata, created_at, updated_at)
          VALUES (${newId('sbx')}, ${request.idempotencyKey}, ${request.methodRef}, ${request.amount}, ${request.currency},
                  ${method.outcome}, ${method.declineCode ?? null}, ${JSON.stringify(request.metadata)}::jsonb, ${now}::timestamp(3), ${now}::timestamp(3))
          ON CONFLICT (idempotency_key) DO NOTHING
          RETURNING id, status, decline_code, amount, currency, method_ref
        )
        SELECT id, status, decline_code, amount, currency, method_ref FROM made
        UNION ALL
        SELECT id, status, decline_code, amount, currency, method_ref FROM sandbox_charges
        WHERE idempotency_key = ${request.idempotencyKey} AND NOT EXISTS (SELECT 1 FROM made)`;
      const row = (await charged())[0] ?? (await charged())[0];
      if (!row) throw new GatewayRefusedError('gateway_error', 'sandbox: the charge was neither made nor found');
      if (row.amount !== request.amount || row.currency !== request.currency || row.method_ref !== request.methodRef) {
        throw new GatewayRefusedError('gateway_error', 'sandbox: idempotency key reused with other parameters');
      }
      return toResult({ id: row.id, status: row.status, declineCode: row.decline_code }, publicBaseUrl);
    },

    async confirmCharge(chargeRef) {
      await pause();
      return toResult(await find(chargeRef), publicBaseUrl);
    },

    async cancelCharge(chargeRef) {
      await pause();
      await prisma.sandboxCharge.updateMany({ where: { id: chargeRef, status: 'requires_action' }, data: { status: 'canceled', updatedAt: clock() } });
      return toResult(await find(chargeRef), publicBaseUrl);
    },

    async refund(chargeRef, amount, idempotencyKey) {
      await pause();
      // The sandbox's refund ledger, as a gateway keeps one: a key reused answers its first refund,
      // and no refund takes more than the charge has left. One transaction, the charge row locked.
      const now = clock();
      return prisma.$transaction(async (tx) => {
        const charges = await tx.$queryRaw<Array<{ status: string; amount: number }>>`
          SELECT status, amount FROM sandbox_charges WHERE id = ${chargeRef} FOR UPDATE`;
        const charge = charges[0];
        if (!charge) throw new GatewayRefusedError('gateway_error', `sandbox: no charge ${chargeRef}`);
        const earlier = await tx.sandboxRefund.findUnique({ where: { idempotencyKey } });
        if (earlier) {
          if (earlier.chargeId !== chargeRef || (amount !== null && earlier.amount !== amount)) {
            throw new GatewayRefusedError('gateway_error', 'sandbox: refund idempotency key reused with other parameters');
          }
          return { refundRef: earlier.id, status: 'succeeded' as const };
        }
        if (charge.status !== 'succeeded' && charge.status !== 'refunded') {
          throw new GatewayRefusedError('gateway_error', `sandbox: charge ${chargeRef} is ${charge.status}, not refundable`);
        }
        const taken = await tx.sandboxRefund.aggregate({ where: { chargeId: chargeRef }, _sum: { amount: true }, _count: true });
        const remaining = charge.amount - (taken._sum.amount ?? 0);
        if (remaining <= 0) {
          // Refunded in full already (the whole charge asked for again): the money is back.
          const last = await tx.sandboxRefund.findFirst({ where: { chargeId: chargeRef }, orderBy: { createdAt: 'desc' } });
          if (amount === null && last) return { refundRef: last.id, status: 'succeeded' as const };
          throw new GatewayRefusedError('gateway_error', `sandbox: charge ${chargeRef} has already been refunded`);
        }
        const value = amount ?? remaining;
        if (value > remaining) throw new GatewayRefusedError('gateway_error', `sandbox: refund of ${value} is more than the ${remaining} left on ${chargeRef}`);
        // The charge's first refund is <charge>_refund, the next ones numbered (the charge is locked).
        const id = taken._count === 0 ? `${chargeRef}_refund` : `${chargeRef}_refund_${taken._count + 1}`;
        await tx.sandboxRefund.create({ data: { id, idempotencyKey, chargeId: chargeRef, amount: value, createdAt: now } });
        if (value === remaining) await tx.sandboxCharge.update({ where: { id: chargeRef }, data: { status: 'refunded', updatedAt: now } });
        return { refundRef: id, status: 'succeeded' as const };
      });
    },

    async findCharge(request) {
      const row = await prisma.sandboxCharge.findUnique({ where: { idempotencyKey: request.idempotencyKey } });
      return row ? toResult(row, publicBaseUrl) : null;
    },

    parseWebhook(rawBody, headers): GatewayWebhookEvent | null {
      const given = Buffer.from(headerValue(headers, SANDBOX_SIGNATURE_HEADER) ?? '', 'hex');
      const wanted = Buffer.from(signSandboxWebhook(rawBody, webhookSecret), 'hex');
      if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
        throw new WebhookSignatureError('sandbox webhook signature does not verify');
      }
      const event = JSON.parse(rawBody.toString('utf8')) as { type?: string; data?: { charge_id?: string; workflow_id?: string } };
      if (!event.data?.charge_id || !event.data.workflow_id || typeof event.type !== 'string') return null;
      return { acceptKey: event.data.workflow_id, chargeRef: event.data.charge_id, eventType: event.type, succeeded: event.type === 'charge.succeeded' };
    },

    /** The buyer's answer on the sandbox's SCA page: settles the charge (the webhook is sent by the caller). */
    async authenticate(chargeRef, approve) {
      const row = await prisma.sandboxCharge.findUnique({ where: { id: chargeRef } });
      if (!row) throw new GatewayRefusedError('not_found', 'no such sandbox charge');
      if (row.status === 'requires_action') {
        await prisma.sandboxCharge.update({
          where: { id: chargeRef },
          data: approve ? { status: 'succeeded', updatedAt: clock() } : { status: 'declined', declineCode: 'authentication_failed', updatedAt: clock() },
        });
      }
      const metadata = row.metadata as { workflow_id?: string } | null;
      const after = await find(chargeRef);
      return { acceptKey: metadata?.workflow_id ?? '', status: after.status };
    },
  };
}
