/**
 * The drop-in script's handling of answers the real stack gives only under conditions a browser
 * test cannot cheaply create: a repriced offer (409 offer_changed), an offer already taken
 * (409 offer_already_accepted), an accept still processing after the API's wait (202), and a status
 * route that is briefly unavailable (503 temporarily_unavailable with Retry-After). The page and the
 * script are real (upsells.js as served, in Chromium); the API's answers are played back per request.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page, Route } from 'playwright-core';
import { launchChromium, newTab, screenshot, type Chromium } from './browser.ts';

const ORIGIN = 'https://shop.test';
const SCRIPT = readFileSync(new URL('../../api/public/upsells.js', import.meta.url), 'utf8');
const PAGE = `<!doctype html><html lang="en-US"><body>
<div id="offer" data-ocart-upsell data-offer-id="off_socks" data-token="tok.sig" data-cart-id="cart_1"></div>
<script src="/wp-json/ocart/v1/upsells.js"></script>
</body></html>`;

let browser: Chromium;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** Serves the thank-you page and the script, and plays back `answers` to accept and status calls in order. */
async function shopPage(
  answers: { accept: Answer[]; status?: Answer[]; eligibility?: Answer },
  ready = '#offer[data-ocart-state="idle"]',
): Promise<{ page: Page; errors: string[]; calls: { kind: string; at: number }[] }> {
  const { page, errors } = await newTab(browser);
  const calls: { kind: string; at: number }[] = [];
  const json = (route: Route, a: Answer) => route.fulfill({ status: a.status, contentType: 'application/json', headers: a.headers ?? {}, body: JSON.stringify(a.body) });
  await page.route(`${ORIGIN}/**`, async (route) => {
    const url = new URL(route.request().url());
    if (url.pathname === '/thank-you') return route.fulfill({ status: 200, contentType: 'text/html', body: PAGE });
    if (url.pathname === '/wp-json/ocart/v1/upsells.js') return route.fulfill({ status: 200, contentType: 'text/javascript', body: SCRIPT });
    if (url.pathname.endsWith('/accept')) {
      calls.push({ kind: 'accept', at: Date.now() });
      return json(route, answers.accept.shift() ?? { status: 500, body: { status: 'error', code: 'internal_error', message: 'no more answers' } });
    }
    if (url.pathname.endsWith('/eligibility')) {
      calls.push({ kind: 'eligibility', at: Date.now() });
      return json(route, answers.eligibility ?? { status: 200, body: { offer_id: 'off_socks', eligible: true, reasons: [] } });
    }
    if (url.pathname.endsWith('/impressions')) {
      calls.push({ kind: 'impression', at: Date.now() });
      return json(route, { status: 202, body: { offer_id: 'off_socks', counted: true } });
    }
    if (url.pathname.includes('/accepts/')) {
      calls.push({ kind: 'status', at: Date.now() });
      return json(route, answers.status?.shift() ?? { status: 500, body: { status: 'error', code: 'internal_error', message: 'no more answers' } });
    }
    return route.fulfill({ status: 404, body: '' });
  });
  await page.goto(`${ORIGIN}/thank-you`);
  await page.waitForSelector(ready, { state: 'attached' });
  return { page, errors, calls };
}

const rejected = (code: string) => ({ status: 409, body: { status: 'rejected', code, message: 'no', accept_id: 'k' } });

describe('storefront script: answers it must read right', () => {
  it('asks before it shows: an offer the order cannot take is never shown, and no impression is counted', async () => {
    const unavailable = { status: 200, body: { offer_id: 'off_socks', eligible: false, reasons: [{ code: 'currency_mismatch', message: 'no' }] } };
    const { page, calls, errors } = await shopPage({ accept: [], eligibility: unavailable }, '#offer[data-ocart-state="unavailable"]');
    expect(await page.locator('#offer').isVisible()).toBe(false);
    expect(await page.locator('#offer').getAttribute('data-ocart-reasons')).toBe('currency_mismatch');
    expect(await page.locator('#offer [data-ocart-accept]').count()).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(calls.map((c) => c.kind)).toEqual(['eligibility']);
    expect(errors).toEqual([]);
  });

  it('asks before it shows: an eligible offer is shown and its impression reported; no answer shows it too', async () => {
    const shown = await shopPage({ accept: [] });
    expect(await shown.page.locator('#offer').isVisible()).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(shown.calls.map((c) => c.kind)).toEqual(['eligibility', 'impression']);
    const outage = await shopPage({ accept: [], eligibility: { status: 503, body: { status: 'error', code: 'temporarily_unavailable', message: 'later' } } });
    expect(await outage.page.locator('#offer [data-ocart-accept]').isVisible()).toBe(true);
  });

  it('409 offer_changed: says the offer has changed and offers a reload, which starts over with a new key', async () => {
    const { page, errors } = await shopPage({ accept: [rejected('offer_changed')] });
    const firstKey = await page.locator('#offer').getAttribute('data-accept-id');
    await page.click('#offer [data-ocart-accept]');
    await page.waitForSelector('#offer[data-ocart-state="rejected"]');
    expect(await page.locator('#offer [data-ocart-status]').textContent()).toContain('This offer has changed');
    const reload = page.locator('#offer [data-ocart-reload]');
    expect(await reload.count()).toBe(1);
    await screenshot(page, 'offer-changed');
    await Promise.all([page.waitForEvent('load'), reload.click()]);
    await page.waitForSelector('#offer[data-ocart-state="idle"]');
    const secondKey = await page.locator('#offer').getAttribute('data-accept-id');
    expect(secondKey).not.toBe(firstKey);
    expect(await page.locator('#offer [data-ocart-accept]').isVisible()).toBe(true);
    expect(errors).toEqual([]);
  });

  it('409 offer_already_accepted: says the buyer already added it, without a reload', async () => {
    const { page } = await shopPage({ accept: [rejected('offer_already_accepted')] });
    await page.click('#offer [data-ocart-accept]');
    await page.waitForSelector('#offer[data-ocart-state="rejected"]');
    expect(await page.locator('#offer [data-ocart-status]').textContent()).toContain('You already added this to your order');
    expect(await page.locator('#offer [data-ocart-reload]').count()).toBe(0);
  });

  it('202 processing: polls the status URL, through a 503 temporarily_unavailable (waiting its Retry-After), to the outcome', async () => {
    const succeeded = {
      status: 'succeeded',
      accept_id: 'k',
      offer_id: 'off_socks',
      amount: { value: 1500, currency: 'USD' },
      parent_order: { id: 'ord_1', external_id: 'wc-1' },
      order: { id: 'ord_2', external_id: 'wc-1-u1', kind: 'child' },
      strategy: 'child',
      fell_back_to_child: false,
    };
    const { page, calls, errors } = await shopPage({
      accept: [{ status: 202, body: { status: 'processing', accept_id: 'k', status_url: '/wp-json/ocart/v1/upsells/accepts/k?cart_id=cart_1' } }],
      status: [
        { status: 200, body: { status: 'processing', accept_id: 'k' } },
        { status: 503, headers: { 'Retry-After': '2' }, body: { status: 'error', code: 'temporarily_unavailable', message: 'later', accept_id: 'k' } },
        { status: 200, body: succeeded },
      ],
    });
    await page.click('#offer [data-ocart-accept]');
    await page.waitForSelector('#offer[data-ocart-state="succeeded"]', { timeout: 20_000 });
    expect(await page.locator('#offer').getAttribute('data-order-ref')).toBe('wc-1-u1');
    const polls = calls.filter((c) => c.kind === 'status');
    expect(polls).toHaveLength(3);
    // After the 503 the script waited at least its Retry-After (2 s), not its usual ~1 s step.
    expect(polls[2]!.at - polls[1]!.at).toBeGreaterThanOrEqual(1900);
    expect(await page.locator('#offer [data-ocart-retry]').count()).toBe(0);
    expect(errors).toEqual([]);
  });
});
