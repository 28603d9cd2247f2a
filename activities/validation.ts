/** Steps 2-3 of the doc: every check before money moves, then the atomic jti burn. */
import type { Db } from '../db/client.ts';
import { assertOfferActive, assertOfferEligible, parseEligibility } from '../domain/eligibility.ts';
import { DomainError } from '../domain/errors.ts';
import { chooseOrderStrategy } from '../domain/order-strategy.ts';
import { type SigningKey, assertTokenPrice, assertTokenSubject, verifyToken } from '../domain/token.ts';
import type { AcceptInput, AcceptPlan } from '../contract/accept.ts';
import { loadSettings } from '../db/settings-store.ts';
import { upsertValidatedAccept } from '../db/accepts.ts';
import { claimOfferSlot } from '../db/offer-claims.ts';
import { findOffer } from '../db/offers.ts';
import { findParentOrder } from '../db/orders.ts';
import { burnJti } from '../db/tokens.ts';
import { holdWindowOpen } from '../db/windows.ts';
import type { GatewayRegistry } from '../gateways/registry.ts';

export interface ValidationContext {
  prisma: Db;
  gateways: GatewayRegistry;
  tokenKeys: readonly SigningKey[];
  now: Date;
}

const PAID = 'paid';

export async function validateAcceptRequest(ctx: ValidationContext, input: AcceptInput): Promise<AcceptPlan> {
  const { now } = ctx;
  const db = ctx.prisma.sql;
  // The signature is checked before any database read.
  const claims = verifyToken(input.token, ctx.tokenKeys, now, {});
  const [settings, offer, parent] = await Promise.all([loadSettings(db), findOffer(db, input.offerId), findParentOrder(db, claims.ord)]);
  if (!offer) throw new DomainError('offer_not_found', 'no such offer');
  assertTokenSubject(claims, { offerId: input.offerId, cartId: input.cartId });

  if (!parent || parent.kind !== 'parent') throw new DomainError('order_not_found', 'the parent order does not exist');
  if (parent.cart_id !== input.cartId) throw new DomainError('cart_mismatch', 'the cart does not own the parent order');
  if (parent.status !== PAID || !parent.paid_at) throw new DomainError('parent_not_paid', `the parent order is ${parent.status}, not paid`);

  assertOfferActive({ active: offer.active, startsAt: offer.starts_at, endsAt: offer.ends_at }, now);
  assertOfferEligible(parseEligibility(offer.eligibility), { totalAmount: parent.total_amount, productIds: parent.product_ids });
  // Before the currency check: a token minted at another price or currency is a changed offer.
  assertTokenPrice(claims, { value: offer.amount, currency: offer.currency });
  if (offer.currency !== parent.currency) {
    throw new DomainError('currency_mismatch', `the offer is priced in ${offer.currency}, the parent order in ${parent.currency}`);
  }
  const gateway = ctx.gateways.forOrder({ savedPaymentMethod: parent.gateway ? { gateway: parent.gateway } : null });
  const choice = chooseOrderStrategy(settings, offer.order_strategy, parent.paid_at, now);

  const plan: AcceptPlan = {
    acceptKey: input.acceptKey,
    offerId: offer.id,
    cartId: input.cartId,
    parentOrderId: parent.id,
    parentExternalId: parent.external_id,
    productId: offer.product_id,
    productName: offer.name,
    amount: { value: offer.amount, currency: offer.currency },
    gateway: gateway.name,
    customerRef: parent.customer_ref,
    methodRef: parent.method_ref!,
    email: parent.customer_email,
    strategy: choice.strategy,
    orderKind: choice.orderKind,
    fellBackToChild: choice.fellBackToChild,
    scaModal: settings['upsells.sca_modal_enabled'],
    scaTimeoutMs: Math.round(settings['upsells.sca_timeout_min'] * 60_000),
    returnUrl: input.returnUrl ?? null,
  };
  // Once every check has passed, in one transaction: hold the parent's post-purchase window open (a
  // closed one refuses), burn the jti, take one of the offer's slots for this parent and record the
  // validated plan. Any refusal rolls all of it back. A retry of this same accept finds its own burn
  // and its own claim; the claim is given back when the accept ends with no charge (recordOutcome).
  await db.$transaction(async (tx) => {
    if ((await holdWindowOpen(tx, parent.external_id)) === 'closed') {
      throw new DomainError('window_closed', "this order's upsell window has closed: nothing was charged");
    }
    const burnedBy = await burnJti(tx, claims.jti, input.acceptKey, now);
    if (burnedBy !== input.acceptKey) throw new DomainError('token_replayed', 'this token has already been used');
    if (!(await claimOfferSlot(tx, parent.id, offer.id, offer.max_per_order, input.acceptKey, now))) {
      throw new DomainError('offer_already_accepted', 'this offer has already been accepted for this order');
    }
    await upsertValidatedAccept(tx, input, plan, now);
  });
  return plan;
}
