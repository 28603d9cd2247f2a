import { describe, expect, it } from 'vitest';
import { findCardData, looksLikeCardNumber } from '../../domain/card-data.ts';
import { assertOfferActive, assertOfferEligible, parseEligibility } from '../../domain/eligibility.ts';
import { DomainError } from '../../domain/errors.ts';
import { assertIdempotencyKey, gatewayChargeKey, requestFingerprint } from '../../domain/idempotency.ts';
import { currencyExponent, formatMoney, isChargeableAmount } from '../../domain/money.ts';
import { chooseOrderStrategy, decideOrderAtWrite } from '../../domain/order-strategy.ts';
import { resolveReturnUrl } from '../../domain/return-url.ts';
import { DEFAULT_SETTINGS, parseSettingsPatch, resolveSettings } from '../../domain/settings.ts';

const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return err instanceof DomainError ? err.code : `unexpected: ${(err as Error).message}`;
  }
};

describe('order strategy', () => {
  const paidAt = new Date('2026-11-26T12:00:00Z');
  const at = (minutes: number) => new Date(paidAt.getTime() + minutes * 60_000);
  const settings = { 'upsells.order_strategy_default': 'child' as const, 'upsells.merge_cutoff_min': 5 };

  it('strategy A (child) is the default', () => {
    expect(chooseOrderStrategy(settings, null, paidAt, at(1))).toEqual({ strategy: 'child', orderKind: 'child', fellBackToChild: false });
  });
  it('strategy B merges within merge_cutoff_min of payment', () => {
    expect(chooseOrderStrategy({ ...settings, 'upsells.order_strategy_default': 'merge' }, null, paidAt, at(4.9))).toEqual({
      strategy: 'merge',
      orderKind: 'merged',
      fellBackToChild: false,
    });
  });
  it('strategy B falls back to a child order after the cutoff, and says so', () => {
    expect(chooseOrderStrategy(settings, 'merge', paidAt, at(5))).toEqual({ strategy: 'merge', orderKind: 'child', fellBackToChild: true });
  });
  it("the offer's override beats the default", () => {
    expect(chooseOrderStrategy({ ...settings, 'upsells.order_strategy_default': 'merge' }, 'child', paidAt, at(1)).orderKind).toBe('child');
  });
  it('at write time: merged only into a parent still paid and within the cutoff; otherwise a child order that says why', () => {
    const paid = { status: 'paid', paidAt };
    expect(decideOrderAtWrite('merge', paid, 5, at(4.9))).toEqual({ orderKind: 'merged', fellBackToChild: false, fellBackReason: null });
    expect(decideOrderAtWrite('merge', paid, 1, at(1.25))).toEqual({ orderKind: 'child', fellBackToChild: true, fellBackReason: 'merge_cutoff_passed' });
    for (const status of ['refunded', 'cancelled', 'pending']) {
      expect(decideOrderAtWrite('merge', { status, paidAt }, 5, at(1))).toEqual({ orderKind: 'child', fellBackToChild: true, fellBackReason: 'parent_not_paid' });
    }
    expect(decideOrderAtWrite('merge', { status: 'paid', paidAt: null }, 5, at(1)).fellBackReason).toBe('parent_not_paid');
    // A child strategy never falls back, whatever the parent became.
    expect(decideOrderAtWrite('child', { status: 'refunded', paidAt }, 5, at(1))).toEqual({ orderKind: 'child', fellBackToChild: false, fellBackReason: null });
  });
});

describe('offer eligibility and window', () => {
  const now = new Date('2026-11-26T12:00:00Z');
  it('an inactive offer, or one outside its window, is offer_inactive', () => {
    expect(codeOf(() => assertOfferActive({ active: false, startsAt: null, endsAt: null }, now))).toBe('offer_inactive');
    expect(codeOf(() => assertOfferActive({ active: true, startsAt: new Date('2026-11-27T00:00:00Z'), endsAt: null }, now))).toBe('offer_inactive');
    expect(codeOf(() => assertOfferActive({ active: true, startsAt: null, endsAt: now }, now))).toBe('offer_inactive');
    expect(codeOf(() => assertOfferActive({ active: true, startsAt: now, endsAt: new Date('2026-11-27T00:00:00Z') }, now))).toBe('ok');
  });
  it('rules exclude by parent total and products', () => {
    const parent = { totalAmount: 5000, productIds: ['shoes'] };
    expect(codeOf(() => assertOfferEligible({ min_parent_total: 5001 }, parent))).toBe('offer_ineligible');
    expect(codeOf(() => assertOfferEligible({ min_parent_total: 5000 }, parent))).toBe('ok');
    expect(codeOf(() => assertOfferEligible({ requires_product_ids: ['hat'] }, parent))).toBe('offer_ineligible');
    expect(codeOf(() => assertOfferEligible({ requires_product_ids: ['hat', 'shoes'] }, parent))).toBe('ok');
    expect(codeOf(() => assertOfferEligible({ excludes_product_ids: ['shoes'] }, parent))).toBe('offer_ineligible');
  });
  it('unknown or ill-typed rules are refused', () => {
    expect(codeOf(() => parseEligibility({ max_total: 1 }))).toBe('invalid_request');
    expect(codeOf(() => parseEligibility({ min_parent_total: -1 }))).toBe('invalid_request');
    expect(codeOf(() => parseEligibility({ requires_product_ids: 'x' }))).toBe('invalid_request');
  });
});

describe('settings', () => {
  it('defaults follow the doc: TTL 30, SCA modal on, child orders, merge cutoff 5', () => {
    expect(DEFAULT_SETTINGS).toMatchObject({
      'upsells.one_click_token_ttl_min': 30,
      'upsells.sca_modal_enabled': true,
      'upsells.order_strategy_default': 'child',
      'upsells.merge_cutoff_min': 5,
    });
  });
  it('unknown keys and invalid values are refused', () => {
    expect(codeOf(() => parseSettingsPatch({ 'upsells.nope': 1 }))).toBe('setting_invalid');
    expect(codeOf(() => parseSettingsPatch({ 'upsells.one_click_token_ttl_min': 0 }))).toBe('setting_invalid');
    expect(codeOf(() => parseSettingsPatch({ 'upsells.order_strategy_default': 'split' }))).toBe('setting_invalid');
    expect(codeOf(() => parseSettingsPatch({ 'upsells.sca_modal_enabled': 'yes' }))).toBe('setting_invalid');
    expect(parseSettingsPatch({ 'upsells.merge_cutoff_min': 10 })).toEqual({ 'upsells.merge_cutoff_min': 10 });
  });
  it('stored values override defaults, and a stored value that no longer validates is ignored', () => {
    const s = resolveSettings([
      { key: 'upsells.merge_cutoff_min', value: 10 },
      { key: 'upsells.one_click_token_ttl_min', value: 'bad' },
    ]);
    expect(s['upsells.merge_cutoff_min']).toBe(10);
    expect(s['upsells.one_click_token_ttl_min']).toBe(30);
  });
});

describe('money: integer minor units', () => {
  it('knows each currency exponent', () => {
    expect([currencyExponent('USD'), currencyExponent('NGN'), currencyExponent('JPY'), currencyExponent('KWD')]).toEqual([2, 2, 0, 3]);
  });
  it('formats without floating point', () => {
    expect(formatMoney({ value: 12345, currency: 'USD' })).toBe('123.45 USD');
    expect(formatMoney({ value: 5, currency: 'NGN' })).toBe('0.05 NGN');
    expect(formatMoney({ value: 500, currency: 'JPY' })).toBe('500 JPY');
    expect(formatMoney({ value: 1234, currency: 'KWD' })).toBe('1.234 KWD');
  });
  it('only positive safe integers can be charged', () => {
    expect([isChargeableAmount(1), isChargeableAmount(0), isChargeableAmount(1.5), isChargeableAmount(-3)]).toEqual([true, false, false, false]);
  });
});

describe('idempotency keys', () => {
  it('are required, 8-255 characters of a safe charset', () => {
    expect(codeOf(() => assertIdempotencyKey(undefined))).toBe('idempotency_key_missing');
    expect(codeOf(() => assertIdempotencyKey('short'))).toBe('idempotency_key_invalid');
    expect(codeOf(() => assertIdempotencyKey('k'.repeat(256)))).toBe('idempotency_key_invalid');
    expect(codeOf(() => assertIdempotencyKey("abc'; DROP TABLE"))).toBe('idempotency_key_invalid');
    expect(codeOf(() => assertIdempotencyKey('order-123:upsell.1_A'))).toBe('ok');
  });
  it("derive one gateway key per accept, stable and within Paystack's reference charset", () => {
    const a = gatewayChargeKey('key-1');
    expect(a).toBe(gatewayChargeKey('key-1'));
    expect(a).not.toBe(gatewayChargeKey('key-2'));
    expect(a).toMatch(/^[A-Za-z0-9\-.=]+$/);
  });
  it('fingerprint a request by offer, token and cart', () => {
    expect(requestFingerprint('o', 't', 'c')).toBe(requestFingerprint('o', 't', 'c'));
    expect(requestFingerprint('o', 't', 'c')).not.toBe(requestFingerprint('o', 't', 'c2'));
  });
});

describe('card data is never stored', () => {
  it('spots card numbers, grouped or not, by the Luhn check', () => {
    expect(looksLikeCardNumber('4242424242424242')).toBe(true);
    expect(looksLikeCardNumber('4242 4242 4242 4242')).toBe(true);
    expect(looksLikeCardNumber('pm_card_visa')).toBe(false);
    expect(looksLikeCardNumber('4242424242424241')).toBe(false);
    expect(findCardData({ payment: { method_ref: '5555-5555-5555-4444' } })).toBe('$.payment.method_ref');
    expect(findCardData({ line_items: [{ name: 'ok' }] })).toBeNull();
  });
});

describe('return URL after a redirect confirmation', () => {
  const allowed = ['https://shop.example', 'https://www.shop.example'];
  const base = 'https://pay.shop.example';
  it("takes the shop's own pages and paths on this service; nothing given is null", () => {
    expect(resolveReturnUrl(undefined, allowed, base)).toBeNull();
    expect(resolveReturnUrl('https://www.shop.example/thanks?o=1#top', allowed, base)).toBe('https://www.shop.example/thanks?o=1#top');
    expect(resolveReturnUrl('/demo?o=1', allowed, base)).toBe('https://pay.shop.example/demo?o=1');
    expect(resolveReturnUrl('https://pay.shop.example/x', [], base)).toBe('https://pay.shop.example/x');
    expect(resolveReturnUrl('/thanks', allowed, 'https://shop.example/ocart-api/')).toBe('https://shop.example/ocart-api/thanks');
  });
  it('refuses other origins, protocol-relative and backslash tricks, other schemes and credentials', () => {
    for (const bad of [
      'https://shop.example.evil.example/',
      'https://evil.example/?https://shop.example',
      '//evil.example',
      '/\\evil.example',
      'javascript:alert(1)',
      'data:text/html,x',
      'ftp://shop.example/',
      'https://a:b@shop.example/',
      'http://shop.example/',
      'relative/path',
      '',
    ]) {
      expect(
        codeOf(() => resolveReturnUrl(bad, allowed, base)),
        bad,
      ).toBe('return_url_not_allowed');
    }
  });
});
