/**
 * "Why didn't my offer show?": every reason an offer cannot be accepted for a parent order, from
 * facts gathered elsewhere (the database, the gateway's check of the saved method). Pure: no I/O, no
 * clock of its own. The accept's validation refuses on the first failing rule; this lists them all,
 * in the order the accept would meet them, so the first one is what an accept would be refused with.
 */
import type { EligibilityRules } from './eligibility.ts';

export type EligibilityReasonCode =
  | 'parent_not_paid'
  | 'offer_inactive'
  | 'offer_ineligible'
  | 'currency_mismatch'
  | 'offer_already_accepted'
  | 'gateway_unsupported'
  | 'gateway_not_configured'
  | 'payment_method_unusable'
  | 'currency_unsupported'
  /** reserved for funnel rules (see EligibilityFacts.more) */
  | 'window_closed'
  | 'funnel_cap_reached';

export interface EligibilityReason {
  code: EligibilityReasonCode;
  message: string;
  /** offer_ineligible: the eligibility rule that excludes the order */
  rule?: keyof EligibilityRules;
}

/** What the gateway side says about the parent's saved method for this offer's amount. */
export type MethodFact =
  /** the gateway accepted the saved method for this amount */
  | { state: 'usable' }
  /** the gateway refused it (its decline code) */
  | { state: 'unusable'; code: string }
  /** the gateway cannot charge this currency or amount */
  | { state: 'currency_unsupported' }
  /** the parent has no saved method */
  | { state: 'missing' }
  /** not asked (no gateway to ask) or no answer now: says nothing either way */
  | { state: 'unknown' };

export interface EligibilityFacts {
  now: Date;
  offer: {
    active: boolean;
    startsAt: Date | null;
    endsAt: Date | null;
    currency: string;
    rules: EligibilityRules;
    maxPerOrder: number;
  };
  parent: {
    status: string;
    paidAt: Date | null;
    currency: string;
    totalAmount: number;
    productIds: readonly string[];
  };
  /** how many of the offer's max_per_order slots accepts already hold for this parent */
  claimsHeld: number;
  /** the parent's gateway as the registry sees it */
  gateway: 'ok' | 'unsupported' | 'not_configured' | 'none';
  gatewayName: string | null;
  method: MethodFact;
  /**
   * The extension point for rules this module does not know (funnels: window_closed,
   * funnel_cap_reached, a step's own conditions): their reasons, already decided, come after ours.
   */
  more?: readonly EligibilityReason[];
}

/** Every eligibility rule the parent order fails, each named (assertOfferEligible stops at the first). */
export function failingRules(rules: EligibilityRules, parent: EligibilityFacts['parent']): EligibilityReason[] {
  const out: EligibilityReason[] = [];
  if (rules.min_parent_total !== undefined && parent.totalAmount < rules.min_parent_total) {
    out.push({ code: 'offer_ineligible', rule: 'min_parent_total', message: 'the parent order total is below the offer minimum' });
  }
  const has = new Set(parent.productIds);
  if (rules.requires_product_ids?.length && !rules.requires_product_ids.some((id) => has.has(id))) {
    out.push({ code: 'offer_ineligible', rule: 'requires_product_ids', message: 'the parent order lacks a product the offer requires' });
  }
  if (rules.excludes_product_ids?.some((id) => has.has(id))) {
    out.push({ code: 'offer_ineligible', rule: 'excludes_product_ids', message: 'the parent order already has a product the offer excludes' });
  }
  return out;
}

export function eligibilityReasons(f: EligibilityFacts): EligibilityReason[] {
  const reasons: EligibilityReason[] = [];
  const { offer, parent } = f;
  if (parent.status !== 'paid' || !parent.paidAt) reasons.push({ code: 'parent_not_paid', message: `the parent order is ${parent.status}, not paid` });
  if (!offer.active) reasons.push({ code: 'offer_inactive', message: 'the offer is not active' });
  else if (offer.startsAt && f.now < offer.startsAt) reasons.push({ code: 'offer_inactive', message: 'the offer has not started yet' });
  else if (offer.endsAt && f.now >= offer.endsAt) reasons.push({ code: 'offer_inactive', message: 'the offer has ended' });
  reasons.push(...failingRules(offer.rules, parent));
  if (offer.currency !== parent.currency) {
    reasons.push({ code: 'currency_mismatch', message: `the offer is priced in ${offer.currency}, the parent order in ${parent.currency}` });
  }
  if (f.claimsHeld >= offer.maxPerOrder) reasons.push({ code: 'offer_already_accepted', message: 'this offer has already been accepted for this order' });
  const via = f.gatewayName ?? 'an unknown gateway';
  if (f.gateway === 'unsupported') reasons.push({ code: 'gateway_unsupported', message: `orders paid through "${via}" cannot take one-click upsells` });
  if (f.gateway === 'not_configured') reasons.push({ code: 'gateway_not_configured', message: `the ${via} gateway is not configured on this service` });
  if (f.method.state === 'missing') reasons.push({ code: 'payment_method_unusable', message: 'the parent order has no saved payment method' });
  if (f.method.state === 'unusable') {
    reasons.push({ code: 'payment_method_unusable', message: `the gateway will not charge the saved payment method (${f.method.code})` });
  }
  if (f.method.state === 'currency_unsupported') {
    reasons.push({ code: 'currency_unsupported', message: `the ${via} gateway cannot charge this amount in ${offer.currency}` });
  }
  reasons.push(...(f.more ?? []));
  return reasons;
}
