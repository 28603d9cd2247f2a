import { describe, expect, it } from 'vitest';
import { DomainError } from '../../domain/errors.ts';
import { type FunnelDefinition, type FunnelOffer, type NextStepContext, entryStep, nextStep, validateFunnel } from '../../domain/funnel.ts';

const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return err instanceof DomainError ? err.code : `unexpected: ${(err as Error).message}`;
  }
};

const offer = (id: string, currency = 'USD', more: Partial<FunnelOffer> = {}): FunnelOffer => ({
  id,
  currency,
  active: true,
  startsAt: null,
  endsAt: null,
  eligibility: {},
  ...more,
});
const offers = new Map([offer('o1'), offer('o2'), offer('o3'), offer('eur', 'EUR')].map((o) => [o.id, o]));

/** upsell (s1) -> yes: second upsell (s3), no: downsell (s2) -> yes/no: end */
const funnel = (patch: Partial<FunnelDefinition> = {}): FunnelDefinition => ({
  name: 'f',
  entry: 's1',
  max_accepts: 3,
  starts_at: null,
  ends_at: null,
  steps: [
    { id: 's1', offer_id: 'o1', on_accept: 's3', on_decline: 's2' },
    { id: 's2', offer_id: 'o2', on_accept: 'end', on_decline: 'end' },
    { id: 's3', offer_id: 'o3', on_accept: 'end', on_decline: 'end', on_payment_declined: 's2' },
  ],
  ...patch,
});
const ctx = (more: Partial<NextStepContext> = {}): NextStepContext => ({
  now: new Date('2026-12-03T10:00:00Z'),
  parent: { totalAmount: 5000, productIds: ['shoes'] },
  offers,
  acceptsSoFar: 0,
  ...more,
});

describe('validateFunnel', () => {
  it('accepts a well-formed funnel and answers its currency', () => {
    expect(validateFunnel(funnel(), offers)).toEqual({ currency: 'USD' });
  });
  it('refuses a cycle', () => {
    const f = funnel();
    f.steps[1] = { ...f.steps[1]!, on_decline: 's1' };
    expect(codeOf(() => validateFunnel(f, offers))).toBe('funnel_cycle');
    expect(codeOf(() => validateFunnel(funnel({ steps: [{ id: 's1', offer_id: 'o1', on_accept: 's1', on_decline: 'end' }] }), offers))).toBe('funnel_cycle');
  });
  it('refuses an unknown offer', () => {
    const f = funnel();
    f.steps[2] = { ...f.steps[2]!, offer_id: 'nope' };
    expect(codeOf(() => validateFunnel(f, offers))).toBe('unknown_offer');
  });
  it('refuses a step no path reaches', () => {
    const f = funnel();
    f.steps[0] = { ...f.steps[0]!, on_accept: 'end' };
    expect(codeOf(() => validateFunnel(f, offers))).toBe('unreachable_step');
  });
  it('refuses mixed currencies', () => {
    const f = funnel();
    f.steps[1] = { ...f.steps[1]!, offer_id: 'eur' };
    expect(codeOf(() => validateFunnel(f, offers))).toBe('mixed_currencies');
  });
  it('refuses malformed funnels with invalid_funnel', () => {
    expect(codeOf(() => validateFunnel(funnel({ entry: 'zz' }), offers))).toBe('invalid_funnel');
    expect(codeOf(() => validateFunnel(funnel({ steps: [] }), offers))).toBe('invalid_funnel');
    const dup = funnel();
    dup.steps[1] = { ...dup.steps[1]!, id: 's1' };
    expect(codeOf(() => validateFunnel(dup, offers))).toBe('invalid_funnel');
    const dangling = funnel();
    dangling.steps[1] = { ...dangling.steps[1]!, on_accept: 'nowhere' };
    expect(codeOf(() => validateFunnel(dangling, offers))).toBe('invalid_funnel');
    expect(codeOf(() => validateFunnel(funnel({ starts_at: new Date('2026-12-04'), ends_at: new Date('2026-12-03') }), offers))).toBe('invalid_funnel');
  });
});

describe('nextStep', () => {
  it('follows on_accept, on_decline and on_payment_declined (defaulting to on_decline)', () => {
    expect(nextStep(funnel(), 's1', 'accepted', ctx({ acceptsSoFar: 1 }))?.id).toBe('s3');
    expect(nextStep(funnel(), 's1', 'declined', ctx())?.id).toBe('s2');
    expect(nextStep(funnel(), 's1', 'payment_declined', ctx())?.id).toBe('s2');
    expect(nextStep(funnel(), 's3', 'payment_declined', ctx({ acceptsSoFar: 1 }))?.id).toBe('s2');
    expect(nextStep(funnel(), 's2', 'accepted', ctx({ acceptsSoFar: 1 }))).toBeNull();
  });
  it('skips a step whose rules exclude the order, as if declined', () => {
    const f = funnel();
    f.steps[2] = { ...f.steps[2]!, on_decline: 's2', eligibility: { min_parent_total: 10_000 } };
    f.steps[0] = { ...f.steps[0]!, on_decline: 'end' };
    expect(nextStep(f, 's1', 'accepted', ctx({ acceptsSoFar: 1 }))?.id).toBe('s2');
    expect(nextStep(f, 's1', 'accepted', ctx({ acceptsSoFar: 1, parent: { totalAmount: 20_000, productIds: [] } }))?.id).toBe('s3');
  });
  it('skips a step whose offer is inactive, outside its dates, excludes the order, or is taken', () => {
    const inactive = new Map(offers);
    inactive.set('o3', offer('o3', 'USD', { active: false }));
    expect(nextStep(funnel(), 's1', 'accepted', ctx({ offers: inactive, acceptsSoFar: 1 }))).toBeNull();
    const excluding = new Map(offers);
    excluding.set('o2', offer('o2', 'USD', { eligibility: { excludes_product_ids: ['shoes'] } }));
    expect(nextStep(funnel(), 's1', 'declined', ctx({ offers: excluding }))).toBeNull();
    expect(nextStep(funnel(), 's1', 'declined', ctx({ taken: new Set(['o2']) }))).toBeNull();
  });
  it('ends past max_accepts', () => {
    expect(nextStep(funnel({ max_accepts: 1 }), 's1', 'accepted', ctx({ acceptsSoFar: 1 }))).toBeNull();
    expect(nextStep(funnel({ max_accepts: 2 }), 's1', 'accepted', ctx({ acceptsSoFar: 1 }))?.id).toBe('s3');
  });
  it('ends outside starts_at / ends_at', () => {
    expect(entryStep(funnel({ starts_at: new Date('2026-12-04T00:00:00Z') }), ctx())).toBeNull();
    expect(entryStep(funnel({ ends_at: new Date('2026-12-03T10:00:00Z') }), ctx())).toBeNull();
    expect(entryStep(funnel({ ends_at: new Date('2026-12-03T10:00:01Z') }), ctx())?.id).toBe('s1');
  });
});
