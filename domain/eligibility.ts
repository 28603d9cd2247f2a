import { DomainError } from './errors.ts';

export interface EligibilityRules {
  min_parent_total?: number;
  requires_product_ids?: string[];
  excludes_product_ids?: string[];
}

export interface OfferWindow {
  active: boolean;
  startsAt: Date | null;
  endsAt: Date | null;
}

export interface ParentForEligibility {
  totalAmount: number;
  productIds: readonly string[];
}

export function parseEligibility(raw: unknown): EligibilityRules {
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new DomainError('invalid_request', 'eligibility must be an object');
  const r = raw as Record<string, unknown>;
  const known = new Set(['min_parent_total', 'requires_product_ids', 'excludes_product_ids']);
  for (const key of Object.keys(r)) {
    if (!known.has(key)) throw new DomainError('invalid_request', `unknown eligibility rule "${key}"`);
  }
  const ids = (v: unknown, name: string): string[] | undefined => {
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
      throw new DomainError('invalid_request', `${name} must be a list of product ids`);
    }
    return v;
  };
  const min = r.min_parent_total;
  if (min !== undefined && !(Number.isSafeInteger(min) && (min as number) >= 0)) {
    throw new DomainError('invalid_request', 'min_parent_total must be a whole amount in minor units');
  }
  const rules: EligibilityRules = {};
  if (min !== undefined) rules.min_parent_total = min as number;
  const requires = ids(r.requires_product_ids, 'requires_product_ids');
  if (requires) rules.requires_product_ids = requires;
  const excludes = ids(r.excludes_product_ids, 'excludes_product_ids');
  if (excludes) rules.excludes_product_ids = excludes;
  return rules;
}

/** The offer is switched on and `now` lies in its window (start inclusive, end exclusive). */
export function assertOfferActive(offer: OfferWindow, now: Date): void {
  if (!offer.active) throw new DomainError('offer_inactive', 'the offer is not active');
  if (offer.startsAt && now < offer.startsAt) throw new DomainError('offer_inactive', 'the offer has not started yet');
  if (offer.endsAt && now >= offer.endsAt) throw new DomainError('offer_inactive', 'the offer has ended');
}

export function assertOfferEligible(rules: EligibilityRules, parent: ParentForEligibility): void {
  if (rules.min_parent_total !== undefined && parent.totalAmount < rules.min_parent_total) {
    throw new DomainError('offer_ineligible', 'the parent order total is below the offer minimum');
  }
  const has = new Set(parent.productIds);
  if (rules.requires_product_ids?.length && !rules.requires_product_ids.some((id) => has.has(id))) {
    throw new DomainError('offer_ineligible', 'the parent order lacks a product the offer requires');
  }
  if (rules.excludes_product_ids?.some((id) => has.has(id))) {
    throw new DomainError('offer_ineligible', 'the parent order already has a product the offer excludes');
  }
}
