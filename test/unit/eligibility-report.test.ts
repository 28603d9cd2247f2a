import { describe, expect, it } from 'vitest';
import { BoundedTtlCache } from '../../api/eligibility-check.ts';
import { type EligibilityFacts, eligibilityReasons, failingRules } from '../../domain/eligibility-report.ts';

const NOW = new Date('2026-12-03T12:00:00Z');

function facts(over: Partial<EligibilityFacts> = {}): EligibilityFacts {
  return {
    now: NOW,
    offer: { active: true, startsAt: null, endsAt: null, currency: 'USD', rules: {}, maxPerOrder: 1 },
    parent: { status: 'paid', paidAt: new Date('2026-12-03T11:59:00Z'), currency: 'USD', totalAmount: 5000, productIds: ['p_shoes'] },
    claimsHeld: 0,
    gateway: 'ok',
    gatewayName: 'stripe',
    method: { state: 'usable' },
    ...over,
  };
}
const codes = (f: EligibilityFacts) => eligibilityReasons(f).map((r) => r.code);

describe('eligibility report', () => {
  it('an order that can take the offer has no reasons', () => {
    expect(eligibilityReasons(facts())).toEqual([]);
    // An unknown method check (the gateway did not answer) says nothing either way.
    expect(eligibilityReasons(facts({ method: { state: 'unknown' } }))).toEqual([]);
  });

  it('each fact on its own gives its own code', () => {
    const offer = facts().offer;
    const parent = facts().parent;
    const cases: Array<[Partial<EligibilityFacts>, string[]]> = [
      [{ parent: { ...parent, status: 'pending' } }, ['parent_not_paid']],
      [{ parent: { ...parent, paidAt: null } }, ['parent_not_paid']],
      [{ offer: { ...offer, active: false } }, ['offer_inactive']],
      [{ offer: { ...offer, startsAt: new Date('2026-12-04T00:00:00Z') } }, ['offer_inactive']],
      [{ offer: { ...offer, endsAt: NOW } }, ['offer_inactive']],
      [{ offer: { ...offer, rules: { min_parent_total: 5001 } } }, ['offer_ineligible']],
      [{ offer: { ...offer, currency: 'EUR' } }, ['currency_mismatch']],
      [{ claimsHeld: 1 }, ['offer_already_accepted']],
      [{ gateway: 'unsupported', gatewayName: 'square', method: { state: 'unknown' } }, ['gateway_unsupported']],
      [{ gateway: 'not_configured', method: { state: 'unknown' } }, ['gateway_not_configured']],
      [{ gateway: 'none', gatewayName: null, method: { state: 'missing' } }, ['payment_method_unusable']],
      [{ method: { state: 'unusable', code: 'payment_method_unusable' } }, ['payment_method_unusable']],
      [{ method: { state: 'currency_unsupported' } }, ['currency_unsupported']],
    ];
    for (const [over, want] of cases) expect(codes(facts(over)), JSON.stringify(over)).toEqual(want);
    // Boundaries: the window's start is inclusive, a minimum met exactly passes, slots below the cap pass.
    expect(codes(facts({ offer: { ...offer, startsAt: NOW } }))).toEqual([]);
    expect(codes(facts({ offer: { ...offer, rules: { min_parent_total: 5000 } } }))).toEqual([]);
    expect(codes(facts({ offer: { ...offer, maxPerOrder: 2 }, claimsHeld: 1 }))).toEqual([]);
  });

  it('lists every reason, in the order the accept meets them, naming each failing rule', () => {
    const reasons = eligibilityReasons(
      facts({
        parent: { status: 'cancelled', paidAt: null, currency: 'EUR', totalAmount: 100, productIds: ['p_hat', 'p_socks'] },
        offer: {
          active: true,
          startsAt: null,
          endsAt: new Date('2026-12-01T00:00:00Z'),
          currency: 'USD',
          rules: { min_parent_total: 1000, requires_product_ids: ['p_shoes'], excludes_product_ids: ['p_socks'] },
          maxPerOrder: 1,
        },
        claimsHeld: 1,
        method: { state: 'unusable', code: 'payment_method_unusable' },
        more: [{ code: 'funnel_cap_reached', message: 'the funnel already took its offers for this order' }],
      }),
    );
    expect(reasons.map((r) => [r.code, r.rule])).toEqual([
      ['parent_not_paid', undefined],
      ['offer_inactive', undefined],
      ['offer_ineligible', 'min_parent_total'],
      ['offer_ineligible', 'requires_product_ids'],
      ['offer_ineligible', 'excludes_product_ids'],
      ['currency_mismatch', undefined],
      ['offer_already_accepted', undefined],
      ['payment_method_unusable', undefined],
      ['funnel_cap_reached', undefined],
    ]);
    for (const r of reasons) expect(r.message.length).toBeGreaterThan(0);
    expect(reasons[0]!.message).toContain('cancelled');
    expect(reasons[1]!.message).toContain('ended');
  });

  it('failingRules: an empty requirement list requires nothing', () => {
    expect(failingRules({ requires_product_ids: [], excludes_product_ids: [] }, facts().parent)).toEqual([]);
  });
});

describe('the method-check cache', () => {
  it('keeps an answer for its time to live, and drops the oldest entry when full', () => {
    const cache = new BoundedTtlCache<string>(2, 60_000);
    cache.set('a', 'A', 0);
    expect(cache.get('a', 59_999)).toBe('A');
    expect(cache.get('a', 60_000)).toBeUndefined();
    cache.set('a', 'A', 0);
    cache.set('b', 'B', 1);
    cache.set('c', 'C', 2);
    expect(cache.size).toBe(2);
    expect([cache.get('a', 3), cache.get('b', 3), cache.get('c', 3)]).toEqual([undefined, 'B', 'C']);
  });
});
