/**
 * The shop API's bodies (server-to-server, bearer key): what the shop sends and what it gets back.
 * TypeBox schemas with their Static<> types; api/routes/shop.ts serves them, api/services/shop.ts
 * produces them, and the OpenAPI document is built from them.
 */
import { Type, type Static } from '@sinclair/typebox';
import { CURRENCY_PATTERN } from '../domain/money.ts';
import { OfferId } from './ids.ts';

export const OFFER_ID = OfferId;
export const EXTERNAL_ID = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_\\-:.]+$' });
const CART_ID = Type.String({ minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9_\\-:.]+$' });
const REF = Type.String({ minLength: 3, maxLength: 255, pattern: '^[A-Za-z0-9_\\-.]+$' });
const MINOR_UNITS = Type.Integer({ minimum: 0, maximum: 99_999_999_999 });
const CURRENCY = Type.String({ pattern: CURRENCY_PATTERN });
const TEXT = Type.String({ minLength: 1, maxLength: 255 });
const NULLABLE_TIME = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);
const NULLABLE_TEXT = Type.Union([Type.String(), Type.Null()]);

export const OrderParams = Type.Object({ external_id: EXTERNAL_ID });
export const OfferParams = Type.Object({ offer_id: OFFER_ID });

// ---- Requests ----

export const OrderBody = Type.Object(
  {
    cart_id: CART_ID,
    status: Type.Union([Type.Literal('pending'), Type.Literal('paid'), Type.Literal('refunded'), Type.Literal('cancelled')]),
    currency: CURRENCY,
    total: MINOR_UNITS,
    paid_at: Type.Optional(NULLABLE_TIME),
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
export type OrderBody = Static<typeof OrderBody>;

export const Eligibility = Type.Object(
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
  starts_at: Type.Optional(NULLABLE_TIME),
  ends_at: Type.Optional(NULLABLE_TIME),
  eligibility: Type.Optional(Type.Union([Eligibility, Type.Null()])),
  order_strategy: Type.Optional(Type.Union([Type.Literal('child'), Type.Literal('merge'), Type.Null()])),
  max_per_order: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'How many times one parent order may take this offer; default 1' })),
};
export const OfferBody = Type.Object({ id: Type.Optional(OFFER_ID), ...OfferFields }, { additionalProperties: false });
export type OfferBody = Static<typeof OfferBody>;
export const OfferPatch = Type.Partial(Type.Object(OfferFields, { additionalProperties: false }));
export type OfferPatch = Static<typeof OfferPatch>;

export const MintTokenBody = Type.Object(
  {
    order_id: EXTERNAL_ID,
    cart_id: CART_ID,
    funnel_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'With step_id: the funnel step this token is for (its answer carries the next step)' })),
    step_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    require_eligible: Type.Optional(
      Type.Boolean({ description: 'Refuse (422, the first reason code) to mint a token this order could not use: the reasons of GET /orders/{external_id}/offers' }),
    ),
  },
  { additionalProperties: false },
);
export type MintTokenBody = Static<typeof MintTokenBody>;

export const SettingsPatch = Type.Record(Type.String(), Type.Unknown(), { description: 'Some of the Settings keys; unknown keys or invalid values: 422 setting_invalid' });
export type SettingsPatch = Static<typeof SettingsPatch>;

export const EventSubscriberBody = Type.Object(
  { url: Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2048 }), secret: Type.String({ minLength: 16, maxLength: 255 }) },
  { additionalProperties: false },
);
export type EventSubscriberBody = Static<typeof EventSubscriberBody>;

// ---- Responses ----

const MoneyBody = Type.Object({ value: Type.Integer(), currency: Type.String() });

export const Order = Type.Object(
  {
    id: Type.String(),
    external_id: Type.String(),
    kind: Type.String({ description: 'parent, or child (an upsell order)' }),
    cart_id: Type.String(),
    status: Type.String({ description: 'pending, paid, partially_refunded, refunded or cancelled' }),
    currency: Type.String(),
    total: Type.Integer({ description: 'Minor units, merged upsell lines included' }),
    refunded_amount: Type.Integer({
      description: "Minor units refunded through the upsell refund route on this order: a child order's charge, or the upsell lines merged into a parent",
    }),
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
        refunded_amount: Type.Integer({ description: 'Minor units refunded on this line (an upsell line, through the refund route)' }),
        status: Type.Union([Type.Literal('partially_refunded'), Type.Literal('refunded'), Type.Null()], { description: 'null until a refund touches the line' }),
      }),
    ),
    payments: Type.Array(
      Type.Object({
        id: Type.String(),
        gateway: Type.String(),
        gateway_ref: Type.String(),
        accept_id: Type.String(),
        status: Type.String({ description: 'succeeded, partially_refunded or refunded' }),
        amount: MoneyBody,
        refunded_amount: Type.Integer({ description: 'Minor units of the payment refunded through the refund route' }),
      }),
    ),
    child_orders: Type.Array(
      Type.Object({
        id: Type.String(),
        external_id: Type.String(),
        status: Type.String(),
        total: Type.Integer(),
        refunded_amount: Type.Integer({ description: 'Minor units refunded' }),
      }),
    ),
  },
  { title: 'Order', description: 'The order with its line items, payments and child orders' },
);
export type Order = Static<typeof Order>;

export const Offer = Type.Object(
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
export type Offer = Static<typeof Offer>;

export const OneClickToken = Type.Object(
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
);
export type OneClickToken = Static<typeof OneClickToken>;

const MINUTES = (rule: string) => Type.Number({ description: `Minutes: ${rule}` });
export const Settings = Type.Object(
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
export type Settings = Static<typeof Settings>;

export const EventSubscriber = Type.Object({ id: Type.String(), url: Type.String(), active: Type.Boolean() });
export type EventSubscriber = Static<typeof EventSubscriber>;
