/**
 * POST /wp-json/ocart/v1/upsells/:offer_id/impressions: the storefront script says it showed an
 * offer. Counted once per token (its jti), only with a valid token for this offer and cart: the
 * token is checked at the door like the accept's, so a forged one costs a hash and writes nothing.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DomainError } from '../../domain/errors.ts';
import { recordOfferEvent } from '../../db/offer-events.ts';
import { findOffer } from '../../db/offers.ts';
import type { AppDeps } from '../app.ts';
import { checkBuyerToken } from '../buyer-token.ts';
import { errorResponses } from '../plugins/openapi.ts';
import { CartId, OfferId } from '../../contract/ids.ts';

const OFFER_ID = OfferId;
const CART_ID = CartId;

export const impressionRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { prisma, config, clock }) => {
  app.post(
    '/wp-json/ocart/v1/upsells/:offer_id/impressions',
    {
      schema: {
        tags: ['buyer'],
        operationId: 'recordImpression',
        summary: 'Report that an offer was shown to the buyer (analytics)',
        description:
          'Counted once per token: a second report with the same token answers 202 with `counted: false`. The token is checked as the accept checks it (`token_malformed`, `token_signature_invalid`, `token_mismatch`, `token_expired`), and nothing is written when it fails. Nothing is charged or reserved; the token stays good for the accept.',
        params: Type.Object({ offer_id: OFFER_ID }),
        body: Type.Object(
          {
            token: Type.String({ minLength: 1, maxLength: 4096, description: 'The one-click token the page was given for this offer' }),
            cart_id: CART_ID,
          },
          { additionalProperties: false },
        ),
        response: {
          202: Type.Object(
            {
              offer_id: Type.String(),
              counted: Type.Boolean({ description: 'false when this token had already been counted' }),
            },
            { title: 'ImpressionRecorded' },
          ),
          ...errorResponses(400, 401, 403, 404, 410, 413, 415, 500, 503),
        },
      },
    },
    async (request, reply) => {
      const offerId = request.params.offer_id;
      const claims = checkBuyerToken(request.body.token, config.tokenKeys, clock(), { offerId, cartId: request.body.cart_id });
      if (claims === 'expired') throw new DomainError('token_expired', 'the token has expired');
      // The currency the buyer was shown: the token's, or (an older token without a price) the offer's.
      let currency = claims.cur;
      if (!currency) {
        const offer = await findOffer(prisma, offerId);
        if (!offer) throw new DomainError('offer_not_found', 'no such offer');
        currency = offer.currency;
      }
      const counted = await recordOfferEvent(prisma, { offerId, kind: 'impression', sourceKey: claims.jti, currency, occurredAt: clock() });
      return reply.status(202).send({ offer_id: offerId, counted });
    },
  );
};
