/**
 * The shop backend's server-to-server API (bearer key): parent orders, offers, one-click tokens,
 * settings and event subscribers. This is what has to exist before a buyer can click. HTTP only:
 * the bodies are contract/shop.ts, the work api/services/shop.ts.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import * as Shop from '../../contract/shop.ts';
import { findCardData } from '../../domain/card-data.ts';
import { DomainError } from '../../domain/errors.ts';
import { requireApiKey } from '../auth.ts';
import type { AppDeps } from '../app.ts';
import { SHOP_SECURITY, errorRef, errorResponses } from '../plugins/openapi.ts';
import { eligibilityCheckerFor, mintRefusal } from '../eligibility-check.ts';
import { funnelService } from '../plugins/funnel-service.ts';
import * as service from '../services/shop.ts';

const shop = (operationId: string, summary: string) => ({ tags: ['shop'], operationId, summary, security: SHOP_SECURITY });
/** 400/401/413/415 can answer any shop route that takes a body; 500 any route. */
const WITH_BODY = [400, 401, 413, 415, 500];

const schemas = {
  putOrder: {
    ...shop('putOrder', 'Register or update a paid parent order (idempotent; refuses card data)'),
    params: Shop.OrderParams,
    body: Shop.OrderBody,
    response: { 200: Shop.Order, ...errorResponses(...WITH_BODY, 422) },
  },
  getOrder: {
    ...shop('getOrder', 'An order with its line items, payments and child orders'),
    params: Shop.OrderParams,
    response: { 200: Shop.Order, ...errorResponses(400, 401, 404, 500) },
  },
  createOffer: {
    ...shop('createOffer', 'Create an offer (or replace one, given its id)'),
    body: Shop.OfferBody,
    response: { 201: Shop.Offer, ...errorResponses(...WITH_BODY, 422) },
  },
  getOffer: {
    ...shop('getOffer', 'An offer'),
    params: Shop.OfferParams,
    response: { 200: Shop.Offer, ...errorResponses(400, 401, 404, 500) },
  },
  updateOffer: {
    ...shop('updateOffer', 'Change an offer'),
    params: Shop.OfferParams,
    body: Shop.OfferPatch,
    response: { 200: Shop.Offer, ...errorResponses(...WITH_BODY, 404, 422) },
  },
  mintToken: {
    ...shop('mintToken', "Mint a one-click token for an offer, a parent order and the buyer's cart"),
    params: Shop.OfferParams,
    body: Shop.MintTokenBody,
    response: {
      201: Shop.OneClickToken,
      ...errorResponses(...WITH_BODY, 404, 409),
      422: errorRef(422, 'With `require_eligible`: any reason code of the eligibility check, the first one, and all of them in `reasons`'),
    },
  },
  getSettings: {
    ...shop('getSettings', 'All settings'),
    response: { 200: Shop.Settings, ...errorResponses(401, 500) },
  },
  patchSettings: {
    ...shop('patchSettings', 'Change some settings; answers with all of them'),
    body: Shop.SettingsPatch,
    response: { 200: Shop.Settings, ...errorResponses(...WITH_BODY, 422) },
  },
  createEventSubscriber: {
    ...shop('createEventSubscriber', 'Subscribe an endpoint to signed ocart/upsell/accepted events'),
    body: Shop.EventSubscriberBody,
    response: { 201: Shop.EventSubscriber, ...errorResponses(...WITH_BODY) },
  },
};

export const shopRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { prisma, config, clock, gateways }) => {
  app.addHook('onRequest', requireApiKey(config.apiKey));
  // Before the schemas, so card data is named for what it is whatever field it hides in.
  app.addHook('preValidation', async (request) => {
    const cardField = findCardData(request.body);
    if (cardField) throw new DomainError('card_data_refused', `${cardField} looks like card data; send gateway references only`);
  });

  app.put('/wp-json/ocart/v1/orders/:external_id', { schema: schemas.putOrder }, async (request, reply) =>
    reply.status(200).send(await service.putOrder(prisma, request.params.external_id, request.body, clock())),
  );

  app.get('/wp-json/ocart/v1/orders/:external_id', { schema: schemas.getOrder }, async (request) => service.getOrder(prisma, request.params.external_id));

  app.post('/wp-json/ocart/v1/offers', { schema: schemas.createOffer }, async (request, reply) => reply.status(201).send(await service.createOffer(prisma, request.body, clock())));

  app.get('/wp-json/ocart/v1/offers/:offer_id', { schema: schemas.getOffer }, async (request) => service.readOffer(prisma, request.params.offer_id));

  app.put('/wp-json/ocart/v1/offers/:offer_id', { schema: schemas.updateOffer }, async (request) => service.changeOffer(prisma, request.params.offer_id, request.body, clock()));

  const eligibility = eligibilityCheckerFor({ prisma, gateways, clock });
  app.post('/wp-json/ocart/v1/upsells/:offer_id/tokens', { schema: schemas.mintToken }, async (request, reply) => {
    if (request.body.require_eligible) {
      const refusal = await mintRefusal(eligibility, request.body.order_id, request.params.offer_id);
      if (refusal) return reply.status(422).send(refusal);
    }
    return reply.status(201).send(await service.mintToken(prisma, config.tokenKeys, request.params.offer_id, request.body, clock(), funnelService(app)));
  });

  app.get('/wp-json/ocart/v1/settings', { schema: schemas.getSettings }, async () => service.readSettings(prisma));

  app.patch('/wp-json/ocart/v1/settings', { schema: schemas.patchSettings }, async (request) => service.changeSettings(prisma, request.body, clock()));

  // The 201 schema sends the subscriber's id, url and active flag: never the secret.
  app.post('/wp-json/ocart/v1/event-subscribers', { schema: schemas.createEventSubscriber }, async (request, reply) =>
    reply.status(201).send(await service.addEventSubscriber(prisma, request.body, clock())),
  );
};
