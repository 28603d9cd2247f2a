/**
 * GET /wp-json/ocart/v1/orders/:external_id/offers (shop API): "why didn't my offer show?". Every
 * active offer with whether this parent order can take it and every reason it cannot, the saved
 * method checked live at the gateway (api/eligibility-check.ts).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { EligibilityReasonSchema } from '../../contract/eligibility.ts';
import { requireApiKey } from '../auth.ts';
import type { AppDeps } from '../app.ts';
import { eligibilityCheckerFor } from '../eligibility-check.ts';
import { SHOP_SECURITY, errorResponses } from '../plugins/openapi.ts';
import { EXTERNAL_ID } from '../../contract/shop.ts';

export const eligibilityRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, deps) => {
  app.addHook('onRequest', requireApiKey(deps.config.apiKey));
  const checker = eligibilityCheckerFor({ ...deps, log: (msg, err) => app.log.warn({ err }, msg) });

  app.get(
    '/wp-json/ocart/v1/orders/:external_id/offers',
    {
      schema: {
        tags: ['shop'],
        operationId: 'orderOfferEligibility',
        summary: 'Which offers this parent order can take, and every reason it cannot',
        description:
          "Each active offer, with `eligible` and every reason it is not, in the order an accept would be refused (the first is the accept's refusal). The saved payment method is checked at the gateway (cached for a minute); when the gateway cannot answer, no reason is given for it.",
        security: SHOP_SECURITY,
        params: Type.Object({ external_id: EXTERNAL_ID }),
        response: {
          200: Type.Object(
            {
              order_id: Type.String({ description: "The shop's order id" }),
              offers: Type.Array(
                Type.Object({
                  offer_id: Type.String(),
                  funnel_id: Type.Optional(Type.String()),
                  step_id: Type.Optional(Type.String()),
                  eligible: Type.Boolean(),
                  reasons: Type.Array(EligibilityReasonSchema),
                }),
              ),
            },
            { title: 'OrderOfferEligibility' },
          ),
          ...errorResponses(400, 401, 404, 500),
        },
      },
    },
    async (request) => ({ order_id: request.params.external_id, offers: await checker.forOrder(request.params.external_id) }),
  );
};
