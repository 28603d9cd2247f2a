/** The buyer-facing routes: accept an offer, and read an accept's state. */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { DomainError, statusForCode } from '../../domain/errors.ts';
import { assertIdempotencyKey, requestFingerprint } from '../../domain/idempotency.ts';
import type { AcceptState } from '../../workflows/messages.ts';
import { acceptStateFromJson } from '../../db/json.ts';
import { errorBody } from '../errors.ts';
import type { AppDeps } from '../app.ts';
import { createWindowLimiter } from '../rate-limit.ts';

export const OFFER_ID = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
const CART_ID = Type.String({ minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9_\\-:.]+$' });

/** The HTTP status of an accept body: one place, from the status and code. */
export function httpStatusFor(state: AcceptState): number {
  switch (state.status) {
    case 'succeeded':
    case 'processing':
    case 'expired':
      return 200;
    case 'requires_action':
      return 202;
    case 'declined':
      return 402;
    case 'rejected':
    case 'error':
      return statusForCode(state.code);
  }
}

function send(reply: FastifyReply, state: AcceptState, replayed: boolean) {
  if (replayed) reply.header('Idempotent-Replayed', 'true');
  return reply.status(httpStatusFor(state)).send(state);
}

function reused(reply: FastifyReply, acceptId: string) {
  return reply
    .status(422)
    .send(errorBody('idempotency_key_reused', 'this idempotency key was already used for a different request', acceptId));
}

export const acceptRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { prisma, flows, config }) => {
  const perIp = createWindowLimiter(config.rateLimit.perIpPerMinute, 60_000);
  const perCart = createWindowLimiter(config.rateLimit.perCartPerMinute, 60_000);

  app.post(
    '/wp-json/ocart/v1/upsells/:offer_id/accept',
    {
      schema: {
        params: Type.Object({ offer_id: OFFER_ID }),
        headers: Type.Object({ 'x-idempotency-key': Type.Optional(Type.String()) }),
        body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 4096 }), cart_id: CART_ID }, { additionalProperties: false }),
      },
      // The key is checked before the body, so a request without one is told so first.
      preValidation: async (request) => {
        assertIdempotencyKey(request.headers['x-idempotency-key'] as string | undefined);
      },
      // Counted once the body is known, so a cart is limited wherever its requests come from.
      preHandler: async (request, reply) => {
        const wait = Math.max(perIp.hit(request.ip), perCart.hit(request.body.cart_id));
        if (wait > 0) {
          reply.header('Retry-After', String(wait));
          throw new DomainError('rate_limited', `too many accepts; retry in ${wait} s`);
        }
      },
    },
    async (request, reply) => {
      const key = assertIdempotencyKey(request.headers['x-idempotency-key']);
      const { token, cart_id: cartId } = request.body;
      const offerId = request.params.offer_id;
      const fingerprint = requestFingerprint(offerId, token, cartId);

      // A key seen before is answered from its record: days later, after Temporal forgot the run.
      const existing = await prisma.accept.findUnique({ where: { idempotencyKey: key } });
      if (existing && existing.fingerprint !== fingerprint) return reused(reply, key);
      const recorded = acceptStateFromJson(existing?.response ?? null);
      if (recorded) return send(reply, recorded, true);

      const result = await flows.startOrJoin({ acceptKey: key, offerId, token, cartId, fingerprint });
      if (result.kind === 'fingerprint_mismatch') return reused(reply, key);
      if (result.kind === 'answered') return send(reply, result.reply.response, result.reply.replayed);
      // Closed between our read and the start: its record has the answer now.
      const record = await prisma.accept.findUnique({ where: { idempotencyKey: key } });
      if (record && record.fingerprint !== fingerprint) return reused(reply, key);
      const answer = acceptStateFromJson(record?.response ?? null);
      if (!answer) throw new Error(`accept ${key} closed without a recorded response`);
      return send(reply, answer, true);
    },
  );

  app.get(
    '/wp-json/ocart/v1/upsells/accepts/:accept_id',
    {
      schema: {
        params: Type.Object({ accept_id: Type.String({ maxLength: 255 }) }),
        querystring: Type.Object({ cart_id: CART_ID }),
      },
    },
    async (request, reply) => {
      const key = request.params.accept_id;
      const record = await prisma.accept.findUnique({ where: { idempotencyKey: key } });
      // Another cart's accept looks exactly like a missing one.
      if (!record || record.cartId !== request.query.cart_id) throw new DomainError('accept_not_found', 'no such accept');
      const stored = acceptStateFromJson(record.state);
      if (record.completedAt && stored) return send(reply, stored, false);
      const live = await flows.status(key).catch(() => null);
      const state = live?.state ?? stored ?? { status: 'processing', accept_id: key };
      return send(reply, state, false);
    },
  );
};
