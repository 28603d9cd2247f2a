/**
 * POST /wp-json/ocart/v1/upsells/:offer_id/eligibility: the storefront script asks, before it shows
 * an offer, whether this buyer's parent order can take it, with the same reasons the shop's
 * "why not shown" check gives (api/eligibility-check.ts). The token is checked at the door like the
 * accept's; nothing is written, charged or reserved, and the token stays good.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { EligibilityReasonSchema } from '../../contract/eligibility.ts';
import { CartId, OfferId } from '../../contract/ids.ts';
import { DomainError } from '../../domain/errors.ts';
import type { AppDeps } from '../app.ts';
import { checkBuyerToken } from '../buyer-token.ts';
import { eligibilityCheckerFor } from '../eligibility-check.ts';
import { errorResponses } from '../plugins/openapi.ts';

export const buyerEligibilityRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, deps) => {
  const { config, clock } = deps;
  const checker = eligibilityCheckerFor({ ...deps, log: (msg, err) => app.log.warn({ err }, msg) });
  app.post(
    '/wp-json/ocart/v1/upsells/:offer_id/eligibility',
    {
      schema: {
        tags: ['buyer'],
        operationId: 'offerEligibilityForBuyer',
        summary: 'Can this buyer take this offer now? Asked by the storefront script before it shows the offer',
        description:
          "The reasons are those of `GET /orders/{external_id}/offers` for this offer and the token's parent order (the saved method checked at the gateway, cached for a minute). The token is checked as the accept checks it (`token_malformed`, `token_signature_invalid`, `token_mismatch`, `token_expired`). Nothing is written or charged.",
        params: Type.Object({ offer_id: OfferId }),
        body: Type.Object(
          { token: Type.String({ minLength: 1, maxLength: 4096, description: 'The one-click token the page was given for this offer' }), cart_id: CartId },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ offer_id: Type.String(), eligible: Type.Boolean(), reasons: Type.Array(EligibilityReasonSchema) }, { title: 'BuyerOfferEligibility' }),
          ...errorResponses(400, 401, 403, 404, 410, 413, 415, 500, 503),
        },
      },
    },
    async (request, reply) => {
      const offerId = request.params.offer_id;
      const claims = checkBuyerToken(request.body.token, config.tokenKeys, clock(), { offerId, cartId: request.body.cart_id });
      if (claims === 'expired') throw new DomainError('token_expired', 'the token has expired');
      const result = await checker.forOffer(claims.ord, offerId);
      if (!result) throw new DomainError('order_not_found', "the token's parent order does not exist");
      return reply.status(200).send({ offer_id: offerId, eligible: result.eligible, reasons: result.reasons });
    },
  );
};
