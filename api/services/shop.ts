/**
 * The shop API's work, apart from HTTP: each function takes the database and the request's `now`,
 * calls the db/ modules (and their transactions), and returns the contract's response body or throws
 * a DomainError with a stable code.
 */
import type { Db } from '../../db/client.ts';
import { createSubscriber } from '../../db/event-subscribers.ts';
import { newId } from '../../db/ids.ts';
import { offerFullyClaimed } from '../../db/offer-claims.ts';
import { type OfferFields, getOffer, updateOffer, upsertOffer } from '../../db/offers.ts';
import { NotAParentOrderError, findOrder, findOrderRef, lockOrder, writeParentOrder } from '../../db/orders.ts';
import { loadSettings, saveSettings } from '../../db/settings-store.ts';
import { parseEligibility } from '../../domain/eligibility.ts';
import { DomainError } from '../../domain/errors.ts';
import { parseSettingsPatch, type UpsellSettings } from '../../domain/settings.ts';
import { type SigningKey, type TokenFunnelStep, signToken } from '../../domain/token.ts';
import type * as Shop from '../../contract/shop.ts';
import { serializeOffer, serializeOrder } from '../serializers.ts';

const date = (v: string | null | undefined) => (v === undefined ? undefined : v === null ? null : new Date(v));

/** The offer fields a body sets (a patch sets only those it names). */
function offerFields(body: Shop.OfferPatch): Partial<OfferFields> {
  return {
    ...(body.product_id !== undefined ? { productId: body.product_id } : {}),
    ...(body.name !== undefined ? { name: body.name } : {}),
    ...(body.amount !== undefined ? { amount: body.amount } : {}),
    ...(body.currency !== undefined ? { currency: body.currency } : {}),
    ...(body.active !== undefined ? { active: body.active } : {}),
    ...(body.starts_at !== undefined ? { startsAt: date(body.starts_at) } : {}),
    ...(body.ends_at !== undefined ? { endsAt: date(body.ends_at) } : {}),
    ...(body.eligibility !== undefined ? { eligibility: body.eligibility === null ? null : { ...parseEligibility(body.eligibility) } } : {}),
    ...(body.order_strategy !== undefined ? { orderStrategy: body.order_strategy } : {}),
    ...(body.max_per_order !== undefined ? { maxPerOrder: body.max_per_order } : {}),
  };
}

/** Registers or replaces a parent order, idempotently. */
export async function putOrder(db: Db, externalId: string, body: Shop.OrderBody, now: Date): Promise<Shop.Order> {
  if (body.status === 'paid' && !body.paid_at) throw new DomainError('invalid_request', 'a paid order needs paid_at');
  const order = await db
    .$transaction(async (tx) => {
      // The parent row is locked before its lines are read: an upsell merging into it takes the
      // same lock, so its line and the total it adds are either all seen here or written after us,
      // never lost between our read and our write.
      await lockOrder(tx, externalId);
      return writeParentOrder(
        tx,
        externalId,
        {
          cartId: body.cart_id,
          status: body.status,
          currency: body.currency,
          shopTotal: body.total,
          paidAt: body.paid_at ? new Date(body.paid_at) : null,
          customerEmail: body.customer?.email ?? null,
        },
        body.line_items.map((li) => ({ productId: li.product_id, name: li.name, quantity: li.quantity, unitAmount: li.unit_amount })),
        { gateway: body.payment.gateway, customerRef: body.payment.customer_ref ?? null, methodRef: body.payment.method_ref },
        now,
      );
    })
    .catch((err: unknown) => {
      if (err instanceof NotAParentOrderError) throw new DomainError('invalid_request', err.message);
      throw err;
    });
  return serializeOrder(order);
}

export async function getOrder(db: Db, externalId: string): Promise<Shop.Order> {
  const order = await findOrder(db, externalId);
  if (!order) throw new DomainError('order_not_found', 'no such order');
  return serializeOrder(order);
}

/** Creates an offer, or replaces the fields the body names of the one with its id. */
export async function createOffer(db: Db, body: Shop.OfferBody, now: Date): Promise<Shop.Offer> {
  const fields = offerFields(body);
  const create = { productId: body.product_id, name: body.name, amount: body.amount, currency: body.currency, ...fields };
  return serializeOffer(await upsertOffer(db, body.id ?? newId('off'), create, fields, now));
}

export async function readOffer(db: Db, offerId: string): Promise<Shop.Offer> {
  const offer = await getOffer(db, offerId);
  if (!offer) throw new DomainError('offer_not_found', 'no such offer');
  return serializeOffer(offer);
}

export async function changeOffer(db: Db, offerId: string, patch: Shop.OfferPatch, now: Date): Promise<Shop.Offer> {
  const offer = await updateOffer(db, offerId, offerFields(patch), now);
  if (!offer) throw new DomainError('offer_not_found', 'no such offer');
  return serializeOffer(offer);
}

/** A one-click token for the offer, the parent order and the buyer's cart, at the offer's price now. */
/** The funnel side of minting (api/plugins/funnel-service.ts): the step a token is for, and the parent's window. */
export interface MintFunnelHooks {
  tokenFunnel(offerId: string, named: { funnel_id?: string | undefined; step_id?: string | undefined }, settings: UpsellSettings): Promise<TokenFunnelStep | null>;
  openWindow(parentExternalId: string, settings: UpsellSettings): Promise<void>;
}

export async function mintToken(
  db: Db,
  tokenKeys: readonly SigningKey[],
  offerId: string,
  body: Shop.MintTokenBody,
  now: Date,
  funnels?: MintFunnelHooks,
): Promise<Shop.OneClickToken> {
  const [offer, order, settings] = await Promise.all([getOffer(db, offerId), findOrderRef(db, body.order_id), loadSettings(db)]);
  if (!offer) throw new DomainError('offer_not_found', 'no such offer');
  if (!order) throw new DomainError('order_not_found', 'no such order');
  // A hint for the page, not the guard: the accept's own claim is what holds the limit.
  if (await offerFullyClaimed(db, order.id, offer.id, offer.maxPerOrder)) {
    throw new DomainError('offer_already_accepted', 'this offer has already been accepted for this order');
  }
  const price = { value: offer.amount, currency: offer.currency };
  // A funnel step (named, or the default funnel's) rides in the token; the window opens with the first token.
  const funnel = funnels ? await funnels.tokenFunnel(offer.id, body, settings) : null;
  await funnels?.openWindow(order.externalId, settings);
  const { token, claims } = signToken(
    { offerId: offer.id, orderId: order.externalId, cartId: body.cart_id, price, ...(funnel ? { funnel } : {}) },
    tokenKeys,
    now,
    settings['upsells.one_click_token_ttl_min'],
  );
  return {
    token,
    jti: claims.jti,
    expires_at: new Date(claims.exp * 1000).toISOString(),
    amount: price,
    ...(funnel ? { offer_id: offer.id, step_id: funnel.stepId } : {}),
  };
}

export async function readSettings(db: Db): Promise<Shop.Settings> {
  return loadSettings(db);
}

/** Changes the settings the patch names (422 setting_invalid for unknown keys or bad values); answers with all of them. */
export async function changeSettings(db: Db, patch: Shop.SettingsPatch, now: Date): Promise<Shop.Settings> {
  await saveSettings(db, parseSettingsPatch(patch), now);
  return loadSettings(db);
}

/** The subscriber as it may be shown: never its secret. */
export async function addEventSubscriber(db: Db, body: Shop.EventSubscriberBody, now: Date): Promise<Shop.EventSubscriber> {
  return createSubscriber(db, body.url, body.secret, now);
}
