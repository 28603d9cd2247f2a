/** The buyer-facing routes: accept an offer, and read an accept's state. */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, statusForCode } from '../../domain/errors.ts';
import { assertIdempotencyKey, requestFingerprint } from '../../domain/idempotency.ts';
import { resolveReturnUrl } from '../../domain/return-url.ts';
import type { TokenClaims } from '../../domain/token.ts';
import {
  AcceptDeclined,
  AcceptExpired,
  AcceptProcessing,
  AcceptRequest,
  AcceptRequiresAction,
  AcceptStillProcessing,
  AcceptSucceeded,
  type AcceptState,
  statusUrl,
} from '../../contract/accept.ts';
import { CartId, OfferId } from '../../contract/ids.ts';
import { errorBody } from '../../contract/errors.ts';
import { MalformedRecordError } from '../../contract/records.ts';
import { findAcceptRecord } from '../../db/accept-records.ts';
import type { Db } from '../../db/client.ts';
import { checkBuyerToken, shownInToken } from '../buyer-token.ts';
import type { AppDeps } from '../app.ts';
import { recordedBodySerializer } from '../plugins/accept-answer.ts';
import { funnelService } from '../plugins/funnel-service.ts';
import { errorRef, errorResponses } from '../plugins/openapi.ts';
import { enforce, perMinute } from '../plugins/rate-limit.ts';

// The accept bodies are the contract's (contract/accept.ts); the OpenAPI document adds the replay
// header to those a replay can answer. They document only: bodies are sent exactly as the workflow
// wrote them (see api/plugins/openapi.ts).
const REPLAYED = {
  'Idempotent-Replayed': { type: 'string', enum: ['true'], description: 'Present on a replay: this is the answer the first call got' },
};
/** The schema with the replay header documented (beside its title and description, where the document has always shown it). */
function replayable<T extends { title?: string; description?: string }>(schema: T) {
  return Object.assign({ title: schema.title, description: schema.description, headers: REPLAYED }, schema);
}
const Succeeded = replayable(AcceptSucceeded);
const RequiresAction = replayable(AcceptRequiresAction);

/** Errors an accept (or its state) can carry; `rejected` and `error` bodies are the shared Error. */
const ACCEPT_ERRORS = errorResponses(400, 401, 403, 404, 409, 410, 413, 415, 422, 429, 500, 502, 503);
const PaymentRequired = Type.Union([AcceptDeclined, errorRef(402)], {
  description: 'Declined by the gateway (`status: declined`, its decline code), or `payment_method_unusable`',
  headers: REPLAYED,
});

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
      return statusForCode(state.code);
    case 'error': {
      // An error is ours or the gateway's, never the buyer's: always a 5xx. The one table gives some
      // codes a 4xx (currency_unsupported, when the gateway itself refuses the amount, is 422 as a
      // refusal); as an error it is the gateway refusing our request: 502.
      const status = statusForCode(state.code);
      return status >= 500 ? status : 502;
    }
  }
}

function send(reply: FastifyReply, state: AcceptState, replayed: boolean) {
  if (replayed) reply.header('Idempotent-Replayed', 'true');
  return reply.status(httpStatusFor(state)).send(state);
}

function reused(reply: FastifyReply, acceptId: string) {
  return reply.status(422).send(errorBody('idempotency_key_reused', 'this idempotency key was already used for a different request', acceptId));
}

/** The accept goes on without us; the buyer polls its status URL. */
function processing(reply: FastifyReply, acceptId: string, cartId: string) {
  return reply.status(202).send({ status: 'processing', accept_id: acceptId, status_url: statusUrl(acceptId, cartId) });
}

/** Temporal or the database cannot answer now: 503 temporarily_unavailable, ask again shortly. */
function unavailable(reply: FastifyReply, message: string): never {
  reply.header('Retry-After', '2');
  throw new DomainError('temporarily_unavailable', message);
}

/** The accept's record; an outage is said as one (503 temporarily_unavailable), never as "no such accept". */
function readRecordOrUnavailable(prisma: Db, request: FastifyRequest, reply: FastifyReply, key: string, message: string) {
  return findAcceptRecord(prisma.sql, key).catch((err: unknown) => {
    if (err instanceof MalformedRecordError) throw err;
    request.log.warn({ err }, 'accept record lookup failed');
    return unavailable(reply, message);
  });
}

/**
 * What the door's check found in each request's token: its claims, or 'expired' for a genuine token
 * whose time is up (only a replay of a recorded accept can answer that).
 */
const checkedTokens = new WeakMap<FastifyRequest, TokenClaims | 'expired'>();

export const acceptRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { prisma, flows, config, clock }) => {
  const limitIp = perMinute(app, config.rateLimit.perIpPerMinute, (request) => `accept-ip:${request.ip}`);
  const limitCart = perMinute(app, config.rateLimit.perCartPerMinute, (request) => `accept-cart:${(request.body as { cart_id: string }).cart_id}`);
  const limitStatus = perMinute(app, config.rateLimit.statusPerIpPerMinute, (request) => `status-ip:${request.ip}`);

  app.post(
    '/wp-json/ocart/v1/upsells/:offer_id/accept',
    {
      schema: {
        tags: ['buyer'],
        operationId: 'acceptOffer',
        summary: 'Accept an offer with one click',
        description:
          'Starts (or joins) the accept for this idempotency key and answers as soon as there is an answer for the buyer. A replay with the same key and request returns the same status and body, with `Idempotent-Replayed: true`; the same key with another request gets 422 `idempotency_key_reused`.',
        params: Type.Object({ offer_id: OfferId }),
        headers: Type.Object({
          'x-idempotency-key': Type.Optional(
            Type.String({ description: 'Required: 8-255 characters of A-Z a-z 0-9 _ - : . (missing: 400 idempotency_key_missing; wrong: 400 idempotency_key_invalid)' }),
          ),
        }),
        body: AcceptRequest,
        response: {
          200: Succeeded,
          202: Type.Union([RequiresAction, AcceptStillProcessing], { description: 'The bank wants the buyer (requires_action), or no answer yet (processing): poll `status_url`' }),
          402: PaymentRequired,
          ...ACCEPT_ERRORS,
        },
      },
      serializerCompiler: recordedBodySerializer,
      // The key is checked before the body, so a request without one is told so first.
      preValidation: async (request) => {
        assertIdempotencyKey(request.headers['x-idempotency-key']);
      },
      preHandler: [
        // Refused at the door, in process: a token that is not ours (shape, HMAC, key id) or not for
        // this offer and cart never reaches the rate limiter's store, the database or Temporal, so a
        // flood of forged accepts costs a hash each. The workflow still checks everything again.
        async (request) => {
          // Expired but genuine: it may belong to a finished accept being replayed (the handler looks).
          checkedTokens.set(request, checkBuyerToken(request.body.token, config.tokenKeys, clock(), { offerId: request.params.offer_id, cartId: request.body.cart_id }));
        },
        // Counted once the body is known, so a cart is limited wherever its requests come from.
        async (request, reply) => enforce(request, reply, [limitIp, limitCart]),
      ],
    },
    async (request, reply) => {
      const key = assertIdempotencyKey(request.headers['x-idempotency-key']);
      const { token, cart_id: cartId } = request.body;
      const offerId = request.params.offer_id;
      const fingerprint = requestFingerprint(offerId, token, cartId);

      const claims = checkedTokens.get(request);
      if (claims === undefined) throw new Error('the accept handler ran without the token check at the door');
      // The parent's window, which a new accept checks before it starts, is read in parallel with the
      // replay check below, not after it. A replay never waits for it, and its failure counts only
      // where it is used: a new accept then answers 503 (retry with the same key), as before.
      const windowRow = claims === 'expired' ? Promise.resolve(null) : funnelService(app).readWindow(claims.ord);
      windowRow.catch(() => undefined);

      // A key seen before is answered from its record: days later, after Temporal forgot the run.
      // If the database is unreachable, go on: the workflow rides out the outage and answers.
      let lookupFailed = false;
      const existing = await findAcceptRecord(prisma.sql, key).catch((err: unknown) => {
        // A record that reads but does not fit its schema is a bug to see (500), not an outage.
        if (err instanceof MalformedRecordError) throw err;
        request.log.warn({ err }, 'accept record lookup failed; asking the workflow');
        lookupFailed = true;
        return null;
      });
      if (claims === 'expired') {
        // Only the record can tell a replay from a late click; without it, say so rather than refuse.
        if (lookupFailed) unavailable(reply, 'the accept record cannot be read right now');
        // A replay "long after it has finished" answers the recorded body; anything else with an
        // expired token is refused here, with nothing written and nothing started.
        const recordedForExpired = existing && existing.fingerprint === fingerprint ? existing.response : null;
        if (recordedForExpired) return send(reply, recordedForExpired, true);
        if (existing && existing.fingerprint === fingerprint && !existing.completed_at) return processing(reply, key, cartId);
        throw new DomainError('token_expired', 'the token has expired');
      }
      if (existing && existing.fingerprint !== fingerprint) return reused(reply, key);
      const recorded = existing?.response ?? null;
      if (recorded) return send(reply, recorded, true);

      // Checked before the workflow starts, so nothing is written or charged; after the replay above,
      // because where the buyer returns is not part of the request a replay must match.
      let returnUrl: string | null;
      try {
        returnUrl = resolveReturnUrl(request.body.return_url, config.allowedOrigins, config.publicBaseUrl);
      } catch (err) {
        if (err instanceof DomainError) return send(reply, { status: 'rejected', accept_id: key, code: err.code, message: err.message }, false);
        throw err;
      }
      // The funnel step and the parent's post-purchase window (409 window_closed once it has closed).
      // Before the workflow starts, the database or Temporal being down is an outage (503, retry with
      // the same key): nothing was charged.
      await funnelService(app)
        .beforeAccept(request, key, claims, windowRow)
        .catch((err: unknown) => {
          if (err instanceof DomainError) throw err;
          request.log.warn({ err }, 'funnel step or window check failed');
          return unavailable(reply, 'the accept could not be started yet; retry with the same key');
        });
      const result = await flows.startOrJoin(
        { acceptKey: key, offerId, token, cartId, fingerprint, ...(returnUrl ? { returnUrl } : {}) },
        config.acceptWaitMs,
        shownInToken(claims),
      );
      if (result.kind === 'fingerprint_mismatch') return reused(reply, key);
      if (result.kind === 'answered') return send(reply, result.reply.response, result.reply.replayed);
      if (result.kind === 'processing') return processing(reply, key, cartId);
      // Temporal did not start the run in time: nothing runs for this key that we know of. A retry
      // with the same key is safe (it joins whatever did start).
      if (result.kind === 'not_started') unavailable(reply, 'the accept could not be started yet; retry with the same key');
      // Closed between our read and the start: its record has the answer now.
      const record = await readRecordOrUnavailable(prisma, request, reply, key, 'the accept cannot be read right now; retry with the same key');
      if (record && record.fingerprint !== fingerprint) return reused(reply, key);
      const answer = record?.response ?? null;
      if (!answer) throw new Error(`accept ${key} closed without a recorded response`);
      return send(reply, answer, true);
    },
  );

  app.get(
    '/wp-json/ocart/v1/upsells/accepts/:accept_id',
    {
      schema: {
        tags: ['buyer'],
        operationId: 'getAccept',
        summary: 'The current state of an accept',
        description:
          "The same shapes as the accept call; `processing` while the flow runs, `expired` after an SCA timeout. Another cart's accept answers 404. When Temporal or the database cannot be reached: 503 `temporarily_unavailable` with `Retry-After` (keep polling), never 404.",
        params: Type.Object({ accept_id: Type.String({ maxLength: 255 }) }),
        querystring: Type.Object({ cart_id: CartId }),
        response: {
          200: Type.Union([Succeeded, AcceptProcessing, AcceptExpired], { description: 'Succeeded, still processing, or expired' }),
          202: RequiresAction,
          402: PaymentRequired,
          ...ACCEPT_ERRORS,
        },
      },
      serializerCompiler: recordedBodySerializer,
      // Limited per IP too: each poll costs a database read and a Temporal query.
      preHandler: async (request, reply) => enforce(request, reply, [limitStatus]),
    },
    async (request, reply) => {
      const key = request.params.accept_id;
      const cartId = request.query.cart_id;
      // An outage is said as one (503, poll again), never as "no such accept", which would make the
      // buyer's page give up on an accept that is still running.
      const record = await readRecordOrUnavailable(prisma, request, reply, key, 'the accept cannot be read right now; ask again shortly');
      const stored = record?.state ?? null;
      if (record && record.cart_id === cartId && record.completed_at && stored) return send(reply, stored, false);
      // Running (or still validating, before its record exists): the workflow knows its state and cart.
      const live =
        record && record.cart_id !== cartId
          ? null
          : await flows.status(key).catch((err: unknown) => {
              request.log.warn({ err }, 'workflow status query failed');
              return unavailable(reply, 'the accept cannot be read right now; ask again shortly');
            });
      // Another cart's accept looks exactly like a missing one.
      if (live && live.cartId === cartId) return send(reply, live.state, false);
      if (record && record.cart_id === cartId) return send(reply, stored ?? { status: 'processing', accept_id: key }, false);
      throw new DomainError('accept_not_found', 'no such accept');
    },
  );
};
