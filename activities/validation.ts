/** Step 2-3 of the doc: every check before money moves, then the atomic jti burn. */
import type { Db } from '../db/client.ts';
import { isUniqueViolation } from '../db/client.ts';
import { assertOfferActive, assertOfferEligible, parseEligibility } from '../domain/eligibility.ts';
import { DomainError } from '../domain/errors.ts';
import { chooseOrderStrategy } from '../domain/order-strategy.ts';
import type { UpsellSettings } from '../domain/settings.ts';
import { type SigningKey, assertTokenSubject, verifyToken } from '../domain/token.ts';
import type { AcceptInput } from '../workflows/messages.ts';
import type { GatewayRegistry } from './gateways/registry.ts';
import type { AcceptPlan } from './types.ts';

export interface ValidationContext {
  prisma: Db;
  gateways: GatewayRegistry;
  tokenKeys: readonly SigningKey[];
  now: Date;
  settings: UpsellSettings;
}

const PAID = 'paid';

export async function validateAcceptRequest(ctx: ValidationContext, input: AcceptInput): Promise<AcceptPlan> {
  const { prisma, now, settings } = ctx;
  // The accept record exists from the first attempt on, so a replay can be answered from it later.
  await prisma.accept.createMany({
    data: [{ idempotencyKey: input.acceptKey, fingerprint: input.fingerprint, offerId: input.offerId, cartId: input.cartId, status: 'processing' }],
    skipDuplicates: true,
  });

  const claims = verifyToken(input.token, ctx.tokenKeys, now, {});
  const offer = await prisma.offer.findUnique({ where: { id: input.offerId } });
  if (!offer) throw new DomainError('offer_not_found', 'no such offer');
  assertTokenSubject(claims, { offerId: input.offerId, cartId: input.cartId });

  const parent = await prisma.order.findUnique({
    where: { externalId: claims.ord },
    include: { lineItems: { select: { productId: true } }, savedPaymentMethod: true },
  });
  if (!parent || parent.kind !== 'parent') throw new DomainError('order_not_found', 'the parent order does not exist');
  if (parent.cartId !== input.cartId) throw new DomainError('cart_mismatch', 'the cart does not own the parent order');
  if (parent.status !== PAID || !parent.paidAt) throw new DomainError('parent_not_paid', `the parent order is ${parent.status}, not paid`);

  assertOfferActive(offer, now);
  assertOfferEligible(parseEligibility(offer.eligibility), {
    totalAmount: parent.totalAmount,
    productIds: parent.lineItems.map((li) => li.productId),
  });
  if (offer.currency !== parent.currency) {
    throw new DomainError('currency_mismatch', `the offer is priced in ${offer.currency}, the parent order in ${parent.currency}`);
  }
  const gateway = ctx.gateways.forOrder(parent);
  const method = parent.savedPaymentMethod!;
  const choice = chooseOrderStrategy(settings, offer.orderStrategy, parent.paidAt, now);

  await burnTokenId(prisma, claims.jti, input.acceptKey);
  await prisma.accept.update({
    where: { idempotencyKey: input.acceptKey },
    data: { parentOrderId: parent.id, gateway: gateway.name, amount: offer.amount, currency: offer.currency },
  });

  return {
    acceptKey: input.acceptKey,
    offerId: offer.id,
    cartId: input.cartId,
    parentOrderId: parent.id,
    parentExternalId: parent.externalId,
    productId: offer.productId,
    productName: offer.name,
    amount: { value: offer.amount, currency: offer.currency },
    gateway: gateway.name,
    customerRef: method.customerRef,
    methodRef: method.methodRef,
    email: parent.customerEmail,
    strategy: choice.strategy,
    orderKind: choice.orderKind,
    fellBackToChild: choice.fellBackToChild,
    scaModal: settings['upsells.sca_modal_enabled'],
    scaTimeoutMs: Math.round(settings['upsells.sca_timeout_min'] * 60_000),
  };
}

/**
 * Burns the token's jti with one unique insert. A retry of the same accept (same key) finds its
 * own earlier burn and passes; any other accept is refused as a replay.
 */
export async function burnTokenId(prisma: Db, jti: string, acceptKey: string): Promise<void> {
  try {
    await prisma.burnedToken.create({ data: { jti, acceptKey } });
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    const burned = await prisma.burnedToken.findUnique({ where: { jti } });
    if (burned?.acceptKey !== acceptKey) throw new DomainError('token_replayed', 'this token has already been used');
  }
}
