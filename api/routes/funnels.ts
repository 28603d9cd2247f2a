/**
 * Funnels over the shop API (bearer key): create, read and replace a funnel, and mint its entry
 * step's token for a parent order. Validation lives in domain/funnel.ts.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Funnel } from '../../db/generated/client.ts';
import { findBuyerDecline, findFunnel, funnelDefinition, funnelOffers, newFunnelId, recordBuyerDecline, saveFunnel } from '../../db/funnels.ts';
import { DeclinedBody } from '../../contract/funnels.ts';
import { DEFAULT_MAX_ACCEPTS, type FunnelDefinition, validateFunnel } from '../../domain/funnel.ts';
import { DomainError } from '../../domain/errors.ts';
import { assertIdempotencyKey, requestFingerprint } from '../../domain/idempotency.ts';
import { verifyToken } from '../../domain/token.ts';
import { burnJti } from '../../db/tokens.ts';
import { recordOfferEvent } from '../../db/offer-events.ts';
import { isUniqueViolation } from '../../db/client.ts';
import { requireApiKey } from '../auth.ts';
import { checkBuyerToken } from '../buyer-token.ts';
import type { AppDeps } from '../app.ts';
import { SHOP_SECURITY, errorResponses } from '../plugins/openapi.ts';
import { funnelService } from '../plugins/funnel-service.ts';
import { enforce, perMinute } from '../plugins/rate-limit.ts';
import { CartId } from '../../contract/ids.ts';
import { EXTERNAL_ID } from '../../contract/shop.ts';

const ID = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
const TARGET = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'A step id, or `end`' });
const CART_ID = CartId;
const NULLABLE_TIME = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

const Eligibility = Type.Object(
  {
    min_parent_total: Type.Optional(Type.Integer({ minimum: 0, maximum: 99_999_999_999 })),
    requires_product_ids: Type.Optional(Type.Array(Type.String({ maxLength: 128 }), { maxItems: 100 })),
    excludes_product_ids: Type.Optional(Type.Array(Type.String({ maxLength: 128 }), { maxItems: 100 })),
  },
  { additionalProperties: false },
);

const Step = Type.Object(
  {
    id: ID,
    offer_id: ID,
    on_accept: TARGET,
    on_decline: TARGET,
    on_payment_declined: Type.Optional(Type.Union([TARGET], { description: 'After a refused card; default: on_decline' })),
    eligibility: Type.Optional(Eligibility),
  },
  { additionalProperties: false },
);

const FunnelBody = Type.Object(
  {
    id: Type.Optional(ID),
    name: Type.String({ minLength: 1, maxLength: 255 }),
    entry: ID,
    max_accepts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: `How many offers one order may take in this funnel; default ${DEFAULT_MAX_ACCEPTS}` })),
    starts_at: Type.Optional(NULLABLE_TIME),
    ends_at: Type.Optional(NULLABLE_TIME),
    steps: Type.Array(Step, { minItems: 1, maxItems: 50 }),
  },
  { additionalProperties: false },
);

const FunnelSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    entry: Type.String(),
    max_accepts: Type.Integer(),
    currency: Type.String({ description: "Every step's offer is in this currency" }),
    starts_at: NULLABLE_TIME,
    ends_at: NULLABLE_TIME,
    steps: Type.Array(Step),
  },
  { title: 'Funnel' },
);

export const StepTokenSchema = Type.Object(
  {
    token: Type.String({ description: 'Single-use; hand it to the thank-you page' }),
    jti: Type.String(),
    expires_at: Type.String({ format: 'date-time' }),
    offer_id: Type.String(),
    step_id: Type.String(),
    name: Type.String({ description: "The step's offer name" }),
    amount: Type.Object({ value: Type.Integer(), currency: Type.String() }, { description: 'The price the token carries' }),
  },
  { title: 'FunnelStepToken' },
);

function definitionOf(body: Static<typeof FunnelBody>): FunnelDefinition {
  return {
    name: body.name,
    entry: body.entry,
    max_accepts: body.max_accepts ?? DEFAULT_MAX_ACCEPTS,
    steps: body.steps.map((s) => ({ ...s })),
    starts_at: body.starts_at ? new Date(body.starts_at) : null,
    ends_at: body.ends_at ? new Date(body.ends_at) : null,
  };
}

export function serializeFunnel(row: Funnel) {
  const def = funnelDefinition(row);
  return {
    id: row.id,
    name: def.name,
    entry: def.entry,
    max_accepts: def.max_accepts,
    currency: row.currency,
    starts_at: def.starts_at ? def.starts_at.toISOString() : null,
    ends_at: def.ends_at ? def.ends_at.toISOString() : null,
    steps: def.steps,
  };
}

const shop = (operationId: string, summary: string) => ({ tags: ['shop'], operationId, summary, security: SHOP_SECURITY });
const PARAMS = Type.Object({ funnel_id: ID });
const WITH_BODY = [400, 401, 413, 415, 500];

const WindowSchema = Type.Object(
  {
    status: Type.Union([Type.Literal('open'), Type.Literal('closed')]),
    closes_at: Type.String({ format: 'date-time', description: 'When the timer closes it (an accept still charging holds it open longer)' }),
    accepted: Type.Array(
      Type.Object({
        accept_id: Type.String(),
        offer_id: Type.String(),
        amount: Type.Object({ value: Type.Integer(), currency: Type.String() }),
        order: Type.Object({ id: Type.String(), external_id: Type.String(), kind: Type.String({ description: 'child, or merged' }) }),
      }),
    ),
    declined: Type.Array(Type.Object({ decline_id: Type.String(), offer_id: Type.String(), step_id: Type.Union([Type.String(), Type.Null()]), declined_at: Type.String() })),
    reason: Type.Optional(Type.String({ description: 'Why it closed: funnel_ended or timer' })),
  },
  { title: 'PostPurchaseWindow' },
);

export const funnelRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { prisma, config, clock }) => {
  app.addHook('onRequest', requireApiKey(config.apiKey));

  async function validated(body: Static<typeof FunnelBody>) {
    const def = definitionOf(body);
    const offers = await funnelOffers(
      prisma,
      def.steps.map((s) => s.offer_id),
    );
    return { def, ...validateFunnel(def, offers) };
  }

  app.post(
    '/wp-json/ocart/v1/funnels',
    {
      schema: {
        ...shop('createFunnel', 'Create a funnel (or replace one, given its id)'),
        body: FunnelBody,
        response: { 201: FunnelSchema, ...errorResponses(...WITH_BODY, 422) },
      },
    },
    async (request, reply) => {
      const { def, currency } = await validated(request.body);
      return reply.status(201).send(serializeFunnel(await saveFunnel(prisma, request.body.id ?? newFunnelId(), def, currency, clock())));
    },
  );

  app.get(
    '/wp-json/ocart/v1/funnels/:funnel_id',
    { schema: { ...shop('getFunnel', 'A funnel'), params: PARAMS, response: { 200: FunnelSchema, ...errorResponses(400, 401, 404, 500) } } },
    async (request) => {
      const row = await findFunnel(prisma, request.params.funnel_id);
      if (!row) throw new DomainError('funnel_not_found', 'no such funnel');
      return serializeFunnel(row);
    },
  );

  app.put(
    '/wp-json/ocart/v1/funnels/:funnel_id',
    {
      schema: {
        ...shop('replaceFunnel', "Replace a funnel's definition (tokens already minted keep their step)"),
        params: PARAMS,
        body: FunnelBody,
        response: { 200: FunnelSchema, ...errorResponses(...WITH_BODY, 404, 422) },
      },
    },
    async (request) => {
      const id = request.params.funnel_id;
      if (request.body.id !== undefined && request.body.id !== id) throw new DomainError('invalid_request', 'the body names another funnel id');
      if (!(await findFunnel(prisma, id))) throw new DomainError('funnel_not_found', 'no such funnel');
      const { def, currency } = await validated(request.body);
      return serializeFunnel(await saveFunnel(prisma, id, def, currency, clock()));
    },
  );

  app.post(
    '/wp-json/ocart/v1/funnels/:funnel_id/tokens',
    {
      schema: {
        ...shop('mintFunnelToken', "Mint the token of a funnel's entry step (the first step open to this order) for a parent order and the buyer's cart"),
        params: PARAMS,
        body: Type.Object({ order_id: EXTERNAL_ID, cart_id: CART_ID }, { additionalProperties: false }),
        response: { 201: StepTokenSchema, ...errorResponses(...WITH_BODY, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const minted = await funnelService(app).mintEntry(request.params.funnel_id, request.body.order_id, request.body.cart_id);
      return reply.status(201).send(minted);
    },
  );

  app.get(
    '/wp-json/ocart/v1/orders/:external_id/window',
    {
      schema: {
        ...shop('getOrderWindow', "A parent order's post-purchase window: open or closed, what was accepted and declined in it"),
        params: Type.Object({ external_id: EXTERNAL_ID }),
        response: { 200: WindowSchema, ...errorResponses(400, 401, 404, 500) },
      },
    },
    async (request) => funnelService(app).windowState(request.params.external_id),
  );
};

const Declined = Type.Object(DeclinedBody.properties, {
  title: 'DeclinedByBuyer',
  headers: { 'Idempotent-Replayed': { type: 'string', enum: ['true'], description: 'Present on a replay' } },
});

/** The buyer's "no thanks": burns the token, records the decline, answers the downsell step. */
export const declineRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { prisma, config, clock }) => {
  // The accept's limits, counted apart: a buyer's "no" never uses up their "yes".
  const limitIp = perMinute(app, config.rateLimit.perIpPerMinute, (request) => `decline-ip:${request.ip}`);
  const limitCart = perMinute(app, config.rateLimit.perCartPerMinute, (request) => `decline-cart:${(request.body as { cart_id: string }).cart_id}`);
  app.post(
    '/wp-json/ocart/v1/upsells/:offer_id/decline',
    {
      schema: {
        tags: ['buyer'],
        operationId: 'declineOffer',
        summary: 'Say "no thanks" to an offer',
        description:
          "Burns the token, records the decline and answers the funnel's next step (`next`, null at the end or for a token outside a funnel). Idempotent like accept: a replay with the same key and request answers the same body with `Idempotent-Replayed: true`; the same key with another request is 422 `idempotency_key_reused`. A bad token gets the accept's token codes; a token already used by an accept or another decline is 409 `token_replayed`.",
        params: Type.Object({ offer_id: ID }),
        headers: Type.Object({ 'x-idempotency-key': Type.Optional(Type.String({ description: 'Required, as for accept' })) }),
        body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 4096 }), cart_id: CART_ID }, { additionalProperties: false }),
        response: { 200: Declined, ...errorResponses(400, 401, 403, 409, 410, 413, 415, 422, 500, 503) },
      },
      preValidation: async (request) => {
        assertIdempotencyKey(request.headers['x-idempotency-key']);
      },
      preHandler: [
        // Forged or mismatched tokens are refused in process first, as at the accept's door; an
        // expired one goes on (its replay may be recorded).
        async (request) => {
          checkBuyerToken(request.body.token, config.tokenKeys, clock(), { offerId: request.params.offer_id, cartId: request.body.cart_id });
        },
        async (request, reply) => enforce(request, reply, [limitIp, limitCart]),
      ],
    },
    async (request, reply) => {
      const key = assertIdempotencyKey(request.headers['x-idempotency-key']);
      const { token, cart_id: cartId } = request.body;
      const offerId = request.params.offer_id;
      const fingerprint = requestFingerprint(offerId, token, cartId);
      const replay = async () => {
        const existing = await findBuyerDecline(prisma, key);
        if (!existing) return null;
        if (existing.fingerprint !== fingerprint) throw new DomainError('idempotency_key_reused', 'this idempotency key was already used for a different request');
        return reply.header('Idempotent-Replayed', 'true').status(200).send(existing.response);
      };

      let claims;
      try {
        claims = verifyToken(token, config.tokenKeys, clock(), { offerId, cartId });
      } catch (err) {
        // An expired token still gets its recorded answer.
        if (err instanceof DomainError && err.code === 'token_expired') {
          const answered = await replay();
          if (answered) return answered;
        }
        throw err;
      }
      const answered = await replay();
      if (answered) return answered;

      await funnelService(app).assertWindowOpen(claims.ord);
      if ((await burnJti(prisma, claims.jti, key, clock())) !== key) throw new DomainError('token_replayed', 'this token has already been used');
      const next = await funnelService(app).afterDecline(key, claims, request.log);
      const body: DeclinedBody = { status: 'declined_by_buyer', accept_id: key, offer_id: offerId, next };
      try {
        await recordBuyerDecline(
          prisma,
          { idempotencyKey: key, fingerprint, jti: claims.jti, offerId, parentExternalId: claims.ord, cartId, funnelId: claims.fun ?? null, stepId: claims.stp ?? null },
          body,
          clock(),
        );
      } catch (err) {
        // The same key raced us here: its answer is the one recorded.
        if (!isUniqueViolation(err)) throw err;
        const raced = await replay();
        if (raced) return raced;
        throw err;
      }
      // Offer analytics: one buyer decline per token (its jti), whatever is replayed.
      if (claims.cur)
        await recordOfferEvent(prisma, { offerId, stepId: claims.stp ?? null, kind: 'buyer_decline', sourceKey: claims.jti, currency: claims.cur, occurredAt: clock() });
      return reply.status(200).send(body);
    },
  );
};
