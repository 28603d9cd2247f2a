/**
 * The shop backend's server-to-server API (bearer key): parent orders, offers, one-click tokens,
 * settings and event subscribers. This is what has to exist before a buyer can click.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { loadSettings, saveSettings } from '../../db/settings-store.ts';
import { Prisma } from '../../db/client.ts';
import { offerFullyClaimed } from '../../db/offer-claims.ts';
import { newId } from '../../db/ids.ts';
import { findCardData } from '../../domain/card-data.ts';
import { parseEligibility } from '../../domain/eligibility.ts';
import { DomainError } from '../../domain/errors.ts';
import { CURRENCY_PATTERN } from '../../domain/money.ts';
import { parseSettingsPatch } from '../../domain/settings.ts';
import { signToken } from '../../domain/token.ts';
import { requireApiKey } from '../auth.ts';
import type { AppDeps } from '../app.ts';
import { SHOP_SECURITY, errorResponses } from '../plugins/openapi.ts';
import { funnelService } from '../plugins/funnel-service.ts';
import { OFFER_ID } from './accept.ts';
import { serializeOffer, serializeOrder } from '../serializers.ts';

const EXTERNAL_ID = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_\\-:.]+$' });
const REF = Type.String({ minLength: 3, maxLength: 255, pattern: '^[A-Za-z0-9_\\-.]+$' });
const MINOR_UNITS = Type.Integer({ minimum: 0, maximum: 99_999_999_999 });
const CURRENCY = Type.String({ pattern: CURRENCY_PATTERN });
const TEXT = Type.String({ minLength: 1, maxLength: 255 });

const OrderBody = Type.Object(
  {
    cart_id: Type.String({ minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9_\\-:.]+$' }),
    status: Type.Union([Type.Literal('pending'), Type.Literal('paid'), Type.Literal('refunded'), Type.Literal('cancelled')]),
    currency: CURRENCY,
    total: MINOR_UNITS,
    paid_at: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
    customer: Type.Optional(Type.Object({ email: Type.String({ format: 'email', maxLength: 254 }) }, { additionalProperties: false })),
    payment: Type.Object(
      { gateway: Type.String({ pattern: '^[a-z][a-z0-9_]{0,31}$' }), customer_ref: Type.Optional(Type.Union([REF, Type.Null()])), method_ref: REF },
      { additionalProperties: false },
    ),
    line_items: Type.Array(
      Type.Object(
        { product_id: Type.String({ minLength: 1, maxLength: 128 }), name: TEXT, quantity: Type.Integer({ minimum: 1, maximum: 10_000 }), unit_amount: MINOR_UNITS },
        { additionalProperties: false },
      ),
      { maxItems: 200 },
    ),
  },
  { additionalProperties: false },
);

const Eligibility = Type.Object(
  {
    min_parent_total: Type.Optional(MINOR_UNITS),
    requires_product_ids: Type.Optional(Type.Array(Type.String({ maxLength: 128 }), { maxItems: 100 })),
    excludes_product_ids: Type.Optional(Type.Array(Type.String({ maxLength: 128 }), { maxItems: 100 })),
  },
  { additionalProperties: false },
);

const OfferFields = {
  product_id: Type.String({ minLength: 1, maxLength: 128 }),
  name: TEXT,
  amount: Type.Integer({ minimum: 1, maximum: 99_999_999_999 }),
  currency: CURRENCY,
  active: Type.Optional(Type.Boolean()),
  starts_at: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
  ends_at: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
  eligibility: Type.Optional(Type.Union([Eligibility, Type.Null()])),
  order_strategy: Type.Optional(Type.Union([Type.Literal('child'), Type.Literal('merge'), Type.Null()])),
  max_per_order: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'How many times one parent order may take this offer; default 1' })),
};
const OfferBody = Type.Object({ id: Type.Optional(OFFER_ID), ...OfferFields }, { additionalProperties: false });
const OfferPatch = Type.Partial(Type.Object(OfferFields, { additionalProperties: false }));

function offerData(body: Partial<Static<typeof OfferBody>>) {
  const date = (v: string | null | undefined) => (v === undefined ? undefined : v === null ? null : new Date(v));
  return {
    ...(body.product_id !== undefined ? { productId: body.product_id } : {}),
    ...(body.name !== undefined ? { name: body.name } : {}),
    ...(body.amount !== undefined ? { amount: body.amount } : {}),
    ...(body.currency !== undefined ? { currency: body.currency } : {}),
    ...(body.active !== undefined ? { active: body.active } : {}),
    ...(body.starts_at !== undefined ? { startsAt: date(body.starts_at) } : {}),
    ...(body.ends_at !== undefined ? { endsAt: date(body.ends_at) } : {}),
    ...(body.eligibility !== undefined ? { eligibility: body.eligibility === null ? Prisma.DbNull : { ...parseEligibility(body.eligibility) } } : {}),
    ...(body.order_strategy !== undefined ? { orderStrategy: body.order_strategy } : {}),
    ...(body.max_per_order !== undefined ? { maxPerOrder: body.max_per_order } : {}),
  };
}

// Response bodies (serializers.ts), for the OpenAPI document.
const NULLABLE_TIME = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);
const NULLABLE_TEXT = Type.Union([Type.String(), Type.Null()]);
const MoneyBody = Type.Object({ value: Type.Integer(), currency: Type.String() });
const Order = Type.Object(
  {
    id: Type.String(),
    external_id: Type.String(),
    kind: Type.String({ description: 'parent, or child (an upsell order)' }),
    cart_id: Type.String(),
    status: Type.String({ description: 'pending, paid, refunded or cancelled' }),
    currency: Type.String(),
    total: Type.Integer({ description: 'Minor units, merged upsell lines included' }),
    paid_at: NULLABLE_TIME,
    parent_id: NULLABLE_TEXT,
    customer: Type.Union([Type.Object({ email: Type.String() }), Type.Null()]),
    payment: Type.Union([Type.Object({ gateway: Type.String(), customer_ref: NULLABLE_TEXT, method_ref: Type.String() }), Type.Null()], {
      description: 'Gateway references only, never card data',
    }),
    line_items: Type.Array(
      Type.Object({
        id: Type.String(),
        product_id: Type.String(),
        name: Type.String(),
        quantity: Type.Integer(),
        unit_amount: Type.Integer(),
        accept_id: Type.Union([Type.String(), Type.Null()], { description: 'The accept that merged this line in' }),
      }),
    ),
    payments: Type.Array(
      Type.Object({ id: Type.String(), gateway: Type.String(), gateway_ref: Type.String(), accept_id: Type.String(), status: Type.String(), amount: MoneyBody }),
    ),
    child_orders: Type.Array(Type.Object({ id: Type.String(), external_id: Type.String(), status: Type.String(), total: Type.Integer() })),
  },
  { title: 'Order', description: 'The order with its line items, payments and child orders' },
);
const Offer = Type.Object(
  {
    id: Type.String(),
    product_id: Type.String(),
    name: Type.String(),
    amount: Type.Integer({ description: 'Minor units' }),
    currency: Type.String(),
    active: Type.Boolean(),
    starts_at: NULLABLE_TIME,
    ends_at: NULLABLE_TIME,
    // Typed loosely: it comes back from a JSON column as stored.
    eligibility: Type.Unsafe<unknown>(Type.Union([Eligibility, Type.Null()])),
    order_strategy: Type.Union([Type.String({ description: 'child or merge' }), Type.Null()], { description: 'null: the upsells.order_strategy_default setting' }),
    max_per_order: Type.Integer({ description: 'How many times one parent order may take this offer' }),
  },
  { title: 'Offer' },
);
const MINUTES = (rule: string) => Type.Number({ description: `Minutes: ${rule}` });
const Settings = Type.Object(
  {
    'upsells.one_click_token_ttl_min': MINUTES('how long a one-click token lives; above 0, at most 1440'),
    'upsells.sca_modal_enabled': Type.Boolean({ description: 'Offer on-page (modal) authentication where the gateway allows it' }),
    'upsells.order_strategy_default': Type.Union([Type.Literal('child'), Type.Literal('merge')]),
    'upsells.merge_cutoff_min': MINUTES('how long after the parent was paid an upsell may still merge into it; 0 to 1440'),
    'upsells.sca_timeout_min': MINUTES('how long an accept waits for the buyer to authenticate; above 0, at most 1440'),
    'upsells.window_min': MINUTES("how long a parent order's post-purchase window stays open after its first token; above 0, at most 1440"),
    'upsells.default_funnel_id': Type.Union([Type.String(), Type.Null()], { description: 'The funnel a token runs when the shop names none; null: plain offer tokens' }),
  },
  { title: 'Settings', description: 'The ocart_settings keys as one object' },
);
const shop = (operationId: string, summary: string) => ({ tags: ['shop'], operationId, summary, security: SHOP_SECURITY });
/** 400/401/413/415 can answer any shop route that takes a body; 500 any route. */
const WITH_BODY = [400, 401, 413, 415, 500];
const ORDER_PARAMS = Type.Object({ external_id: EXTERNAL_ID });
const OFFER_PARAMS = Type.Object({ offer_id: OFFER_ID });

const schemas = {
  putOrder: {
    ...shop('putOrder', 'Register or update a paid parent order (idempotent; refuses card data)'),
    params: ORDER_PARAMS,
    body: OrderBody,
    response: { 200: Order, ...errorResponses(...WITH_BODY, 422) },
  },
  getOrder: {
    ...shop('getOrder', 'An order with its line items, payments and child orders'),
    params: ORDER_PARAMS,
    response: { 200: Order, ...errorResponses(400, 401, 404, 500) },
  },
  createOffer: {
    ...shop('createOffer', 'Create an offer (or replace one, given its id)'),
    body: OfferBody,
    response: { 201: Offer, ...errorResponses(...WITH_BODY, 422) },
  },
  getOffer: {
    ...shop('getOffer', 'An offer'),
    params: OFFER_PARAMS,
    response: { 200: Offer, ...errorResponses(400, 401, 404, 500) },
  },
  updateOffer: {
    ...shop('updateOffer', 'Change an offer'),
    params: OFFER_PARAMS,
    body: OfferPatch,
    response: { 200: Offer, ...errorResponses(...WITH_BODY, 404, 422) },
  },
  mintToken: {
    ...shop('mintToken', "Mint a one-click token for an offer, a parent order and the buyer's cart"),
    params: OFFER_PARAMS,
    body: Type.Object(
      {
        order_id: EXTERNAL_ID,
        cart_id: Type.String({ minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9_\\-:.]+$' }),
        funnel_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'With step_id: the funnel step this token is for (its answer carries the next step)' })),
        step_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
      },
      { additionalProperties: false },
    ),
    response: {
      201: Type.Object(
        {
          token: Type.String({ description: 'Hand this to the thank-you page; it is single-use' }),
          jti: Type.String(),
          expires_at: Type.String({ format: 'date-time' }),
          amount: Type.Object(
            { value: Type.Integer(), currency: Type.String() },
            { description: 'The price the token carries: show the buyer this one. An accept after the offer was repriced is refused (409 offer_changed)' },
          ),
          offer_id: Type.Optional(Type.String({ description: 'With a funnel step' })),
          step_id: Type.Optional(Type.String({ description: 'The funnel step the token is for (named, or the default funnel)' })),
        },
        { title: 'OneClickToken' },
      ),
      ...errorResponses(...WITH_BODY, 404, 409),
    },
  },
  getSettings: {
    ...shop('getSettings', 'All settings'),
    response: { 200: Settings, ...errorResponses(401, 500) },
  },
  patchSettings: {
    ...shop('patchSettings', 'Change some settings; answers with all of them'),
    body: Type.Record(Type.String(), Type.Unknown(), { description: 'Some of the Settings keys; unknown keys or invalid values: 422 setting_invalid' }),
    response: { 200: Settings, ...errorResponses(...WITH_BODY, 422) },
  },
  createEventSubscriber: {
    ...shop('createEventSubscriber', 'Subscribe an endpoint to signed ocart/upsell/accepted events'),
    body: Type.Object(
      { url: Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2048 }), secret: Type.String({ minLength: 16, maxLength: 255 }) },
      { additionalProperties: false },
    ),
    response: { 201: Type.Object({ id: Type.String(), url: Type.String(), active: Type.Boolean() }), ...errorResponses(...WITH_BODY) },
  },
};

const ORDER_INCLUDE = { lineItems: { orderBy: { createdAt: 'asc' } }, payments: true, children: true, savedPaymentMethod: true } as const;

export const shopRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { prisma, config, clock }) => {
  app.addHook('onRequest', requireApiKey(config.apiKey));
  // Before the schemas, so card data is named for what it is whatever field it hides in.
  app.addHook('preValidation', async (request) => {
    const cardField = findCardData(request.body);
    if (cardField) throw new DomainError('card_data_refused', `${cardField} looks like card data; send gateway references only`);
  });

  app.put('/wp-json/ocart/v1/orders/:external_id', { schema: schemas.putOrder }, async (request, reply) => {
    const body = request.body;
    if (body.status === 'paid' && !body.paid_at) throw new DomainError('invalid_request', 'a paid order needs paid_at');
    const externalId = request.params.external_id;

    const order = await prisma.$transaction(async (tx) => {
      // The parent row is locked before its lines are read: an upsell merging into it takes the
      // same lock, so its line and the total it adds are either all seen here or written after us,
      // never lost between our read and our write.
      await tx.$queryRaw`SELECT id FROM orders WHERE external_id = ${externalId} FOR UPDATE`;
      const existing = await tx.order.findUnique({ where: { externalId }, include: { lineItems: true } });
      if (existing && existing.kind !== 'parent') throw new DomainError('invalid_request', 'an upsell order cannot be replaced');
      // Lines merged in by upsells stay, and keep counting in the total.
      const mergedTotal = (existing?.lineItems ?? []).filter((li) => li.acceptKey).reduce((t, li) => t + li.quantity * li.unitAmount, 0);
      const fields = {
        cartId: body.cart_id,
        status: body.status,
        currency: body.currency,
        totalAmount: body.total + mergedTotal,
        paidAt: body.paid_at ? new Date(body.paid_at) : null,
        customerEmail: body.customer?.email ?? null,
      };
      const id = existing?.id ?? newId('ord');
      if (existing) {
        await tx.lineItem.deleteMany({ where: { orderId: id, acceptKey: null } });
        await tx.order.update({ where: { id }, data: fields });
      } else {
        await tx.order.create({ data: { id, externalId, kind: 'parent', ...fields } });
      }
      await tx.lineItem.createMany({
        data: body.line_items.map((li) => ({ id: newId('li'), orderId: id, productId: li.product_id, name: li.name, quantity: li.quantity, unitAmount: li.unit_amount })),
      });
      const method = { gateway: body.payment.gateway, customerRef: body.payment.customer_ref ?? null, methodRef: body.payment.method_ref };
      await tx.savedPaymentMethod.upsert({ where: { orderId: id }, create: { orderId: id, ...method }, update: method });
      return tx.order.findUniqueOrThrow({ where: { id }, include: ORDER_INCLUDE });
    });
    return reply.status(200).send(serializeOrder(order));
  });

  app.get('/wp-json/ocart/v1/orders/:external_id', { schema: schemas.getOrder }, async (request) => {
    const order = await prisma.order.findUnique({ where: { externalId: request.params.external_id }, include: ORDER_INCLUDE });
    if (!order) throw new DomainError('order_not_found', 'no such order');
    return serializeOrder(order);
  });

  app.post('/wp-json/ocart/v1/offers', { schema: schemas.createOffer }, async (request, reply) => {
    const id = request.body.id ?? newId('off');
    const data = offerData(request.body);
    const offer = await prisma.offer.upsert({
      where: { id },
      create: { id, productId: request.body.product_id, name: request.body.name, amount: request.body.amount, currency: request.body.currency, ...data },
      update: data,
    });
    return reply.status(201).send(serializeOffer(offer));
  });

  app.get('/wp-json/ocart/v1/offers/:offer_id', { schema: schemas.getOffer }, async (request) => {
    const offer = await prisma.offer.findUnique({ where: { id: request.params.offer_id } });
    if (!offer) throw new DomainError('offer_not_found', 'no such offer');
    return serializeOffer(offer);
  });

  app.put('/wp-json/ocart/v1/offers/:offer_id', { schema: schemas.updateOffer }, async (request) => {
    const existing = await prisma.offer.findUnique({ where: { id: request.params.offer_id } });
    if (!existing) throw new DomainError('offer_not_found', 'no such offer');
    return serializeOffer(await prisma.offer.update({ where: { id: existing.id }, data: offerData(request.body) }));
  });

  app.post('/wp-json/ocart/v1/upsells/:offer_id/tokens', { schema: schemas.mintToken }, async (request, reply) => {
    const [offer, order, settings] = await Promise.all([
      prisma.offer.findUnique({ where: { id: request.params.offer_id } }),
      prisma.order.findUnique({ where: { externalId: request.body.order_id } }),
      loadSettings(prisma),
    ]);
    if (!offer) throw new DomainError('offer_not_found', 'no such offer');
    if (!order) throw new DomainError('order_not_found', 'no such order');
    // A hint for the page, not the guard: the accept's own claim is what holds the limit.
    if (await offerFullyClaimed(prisma, order.id, offer.id, offer.maxPerOrder)) {
      throw new DomainError('offer_already_accepted', 'this offer has already been accepted for this order');
    }
    const price = { value: offer.amount, currency: offer.currency };
    // A funnel step (named, or the default funnel's) rides in the token; the window opens with the first token.
    const funnel = await funnelService(app).tokenFunnel(offer.id, request.body, settings);
    await funnelService(app).openWindow(order.externalId, settings);
    const { token, claims } = signToken(
      { offerId: offer.id, orderId: order.externalId, cartId: request.body.cart_id, price, ...(funnel ? { funnel } : {}) },
      config.tokenKeys,
      clock(),
      settings['upsells.one_click_token_ttl_min'],
    );
    return reply
      .status(201)
      .send({ token, jti: claims.jti, expires_at: new Date(claims.exp * 1000).toISOString(), amount: price, ...(funnel ? { offer_id: offer.id, step_id: funnel.stepId } : {}) });
  });

  app.get('/wp-json/ocart/v1/settings', { schema: schemas.getSettings }, async () => loadSettings(prisma));

  app.patch('/wp-json/ocart/v1/settings', { schema: schemas.patchSettings }, async (request) => {
    await saveSettings(prisma, parseSettingsPatch(request.body));
    return loadSettings(prisma);
  });

  app.post('/wp-json/ocart/v1/event-subscribers', { schema: schemas.createEventSubscriber }, async (request, reply) => {
    // The row goes out through the 201 schema, which sends its id, url and active flag: never the secret.
    return reply.status(201).send(await prisma.eventSubscriber.create({ data: { id: newId('sub'), url: request.body.url, secret: request.body.secret } }));
  });
};
