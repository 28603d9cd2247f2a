/**
 * The shop's refund of one upsell (server to server, bearer key). The refund runs as the
 * refundUpsell workflow; this route checks the request, answers a finished refund's replay from its
 * record, and otherwise starts (or joins) the run for the key and waits for its answer.
 */
import { createHash } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { findRefundRecord } from '../../db/refunds.ts';
import { DomainError, isErrorCode, statusForCode } from '../../domain/errors.ts';
import { IDEMPOTENCY_KEY_PATTERN } from '../../domain/idempotency.ts';
import { RefundBody, type RefundAnswer } from '../../contract/refunds.ts';
import { requireApiKey } from '../auth.ts';
import type { AppDeps } from '../app.ts';
import { errorBody } from '../errors.ts';
import { SHOP_SECURITY, errorResponses } from '../plugins/openapi.ts';

export const REFUND_ROUTE = '/wp-json/ocart/v1/upsells/accepts/:accept_id/refund';

/** What makes two refund calls with one key "the same request": the accept and the amount asked for. */
export function refundFingerprint(acceptId: string, amount: number | null): string {
  return createHash('sha256')
    .update(JSON.stringify(['refund', acceptId, amount]))
    .digest('hex');
}

function assertRefundKey(key: string | undefined): string {
  if (key === undefined || key === '') throw new DomainError('idempotency_key_missing', 'the Idempotency-Key header is required');
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) throw new DomainError('idempotency_key_invalid', 'Idempotency-Key must be 8-255 characters of A-Z a-z 0-9 _ - : .');
  return key;
}

const REPLAYED = {
  'Idempotent-Replayed': { type: 'string', enum: ['true'], description: 'Present on a replay: this is the answer the first call got' },
};
const Refunded = Type.Object(RefundBody.properties, { title: 'UpsellRefund', description: 'Refunded at the gateway and recorded', headers: REPLAYED });

function send(reply: FastifyReply, acceptId: string, answer: RefundAnswer, replayed: boolean) {
  if (replayed) reply.header('Idempotent-Replayed', 'true');
  if (answer.ok) return reply.status(200).send(answer.body);
  const code = isErrorCode(answer.code) ? answer.code : 'internal_error';
  return reply.status(statusForCode(code)).send(errorBody(code, answer.message, acceptId));
}

function reused(reply: FastifyReply, acceptId: string) {
  return reply.status(422).send(errorBody('idempotency_key_reused', 'this idempotency key was already used for a different request', acceptId));
}

function unavailable(reply: FastifyReply, message: string): never {
  reply.header('Retry-After', '2');
  throw new DomainError('temporarily_unavailable', message);
}

export const refundRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { prisma, flows, config }) => {
  app.addHook('onRequest', requireApiKey(config.apiKey));

  app.post(
    REFUND_ROUTE,
    {
      schema: {
        tags: ['shop'],
        operationId: 'refundUpsell',
        summary: 'Refund one upsell, in full or in part',
        description:
          "Refunds the upsell's charge through the gateway that took it (with the gateway's own idempotency key), and records it on the payment and on the child order or merged line. A replay with the same key and body answers the same, with `Idempotent-Replayed: true`; the same key with another body (or accept) gets 422 `idempotency_key_reused`. Concurrent refunds of one upsell are decided one at a time: never more than was charged.",
        security: SHOP_SECURITY,
        params: Type.Object({ accept_id: Type.String({ minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9_\\-:.]+$' }) }),
        headers: Type.Object({
          'idempotency-key': Type.Optional(
            Type.String({ description: 'Required: 8-255 characters of A-Z a-z 0-9 _ - : . (missing: 400 idempotency_key_missing; wrong: 400 idempotency_key_invalid)' }),
          ),
        }),
        body: Type.Object(
          {
            amount: Type.Optional(Type.Integer({ minimum: 1, maximum: 99_999_999_999, description: "Minor units of the charge's currency; absent: whatever the charge has left" })),
          },
          { additionalProperties: false, description: 'May be left out: then the whole of what the charge has left is refunded' },
        ),
        response: {
          200: Refunded,
          ...errorResponses(400, 401, 404, 409, 413, 415, 422, 500, 502, 503),
        },
      },
      // The key is checked before the body, so a request without one is told so first.
      preValidation: async (request: FastifyRequest) => {
        assertRefundKey(request.headers['idempotency-key'] as string | undefined);
        // No body at all is the same as {}: refund whatever is left.
        if (request.body === undefined) request.body = {};
      },
    },
    async (request, reply) => {
      const acceptId = request.params.accept_id;
      const key = assertRefundKey(request.headers['idempotency-key']);
      const amount = request.body.amount ?? null;
      const fingerprint = refundFingerprint(acceptId, amount);

      // A finished refund under this key answers from its record, whatever Temporal still holds.
      const record = await findRefundRecord(prisma, key).catch((err: unknown) => {
        request.log.warn({ err }, 'refund record lookup failed');
        return unavailable(reply, 'the refund cannot be read right now; retry with the same key');
      });
      const reusedBody = () => reused(reply, acceptId);
      if (record && (record.fingerprint !== fingerprint || record.accept_id !== acceptId)) return reusedBody();
      const recorded = record?.answer ?? null;
      if (recorded) return send(reply, acceptId, recorded, true);

      const result = await flows.refund({ acceptId, idempotencyKey: key, fingerprint, amount }, config.acceptWaitMs).catch((err: unknown) => {
        request.log.warn({ err }, 'refund could not be started');
        return unavailable(reply, 'the refund could not be started; retry with the same key');
      });
      if (result.kind === 'fingerprint_mismatch') return reusedBody();
      if (result.kind === 'answered') return send(reply, acceptId, result.reply.answer, result.reply.replayed);
      if (result.kind === 'no_answer') unavailable(reply, 'the refund is still being processed; retry with the same key');
      // Closed between our read and the call: its record has the answer now.
      const after = await findRefundRecord(prisma, key).catch((err: unknown) => {
        request.log.warn({ err }, 'refund record lookup failed');
        return unavailable(reply, 'the refund cannot be read right now; retry with the same key');
      });
      if (after && (after.fingerprint !== fingerprint || after.accept_id !== acceptId)) return reusedBody();
      const answer = after?.answer ?? null;
      if (!answer) unavailable(reply, 'the refund is still being processed; retry with the same key');
      return send(reply, acceptId, answer, true);
    },
  );
};
